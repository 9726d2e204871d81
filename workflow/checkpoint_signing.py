"""Signed checkpoint files: the chain heads, signed with an Ed25519 key kept off the database.

A checkpoint row in the database records every chain head, but whoever can rewrite the
events can rewrite that row too. An *exported* checkpoint is kept elsewhere, and signed,
so that a file edited to match a rewritten database is refused as well:

    {"format": "baodao-checkpoint/1", "id": 7, "created_at": "...Z", "digest": "<sha256>",
     "heads": {"claim:1": [3, "<hash>"], ...},
     "key_id": "<sha256 of the raw public key, hex, first 16>", "public_key": "<raw, base64>",
     "signature": "<Ed25519 over the canonical JSON of every field above but signature, base64>"}

The private key is a PEM (PKCS#8) file, by default `instance/checkpoint_ed25519.pem`,
written with mode 0600 on first use (BAODAO_CHECKPOINT_KEY names another path). The
public key that verifies a file is the configured key's — never the one the file carries,
which only helps to say *which* key signed it when they differ.
"""
import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .audit import canonical_json, checkpoint_digest

FORMAT = "baodao-checkpoint/1"
SIGNED_FIELDS = ("format", "id", "created_at", "digest", "heads", "key_id", "public_key")


class CheckpointFileError(Exception):
    """A checkpoint file that cannot be trusted: unreadable, altered, or signed by another key."""


def load_or_create_key(path) -> Ed25519PrivateKey:
    path = Path(path)
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise CheckpointFileError(f"{path}: the signing key must not be readable by others (mode {mode:o}; "
                                      "chmod 600 it)")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointFileError(f"{path}: not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # Created 0600 from the start (O_EXCL: never over a key another process just wrote).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw_public(public)).hexdigest()[:16]


def _message(document: dict) -> bytes:
    return canonical_json({name: document.get(name) for name in SIGNED_FIELDS}).encode("utf-8")


def sign(key: Ed25519PrivateKey, *, id: int, created_at: str, heads: dict) -> dict:
    public = key.public_key()
    document = {"format": FORMAT, "id": id, "created_at": created_at, "digest": checkpoint_digest(heads),
                "heads": heads, "key_id": key_id(public),
                "public_key": base64.b64encode(_raw_public(public)).decode("ascii")}
    document["signature"] = base64.b64encode(key.sign(_message(document))).decode("ascii")
    return document


def verify_document(document, public: Ed25519PublicKey) -> dict:
    """The heads of a signed checkpoint document, or CheckpointFileError saying what is wrong."""
    if not isinstance(document, dict) or not isinstance(document.get("heads"), dict):
        raise CheckpointFileError("not a checkpoint file (no heads)")
    if "signature" not in document:
        raise CheckpointFileError("the checkpoint file is not signed (exported before signing existed, "
                                  "or the signature was removed)")
    if document.get("format") != FORMAT:
        raise CheckpointFileError(f"unknown checkpoint format {document.get('format')!r}")
    expected = key_id(public)
    if document.get("key_id") != expected:
        raise CheckpointFileError(f"signed by another key (key id {document.get('key_id')}, "
                                  f"the configured key is {expected})")
    try:
        signature = base64.b64decode(document["signature"], validate=True)
        public.verify(signature, _message(document))
    except (InvalidSignature, ValueError, TypeError):
        raise CheckpointFileError("signature does not verify: the checkpoint file was altered or forged") from None
    if checkpoint_digest(document["heads"]) != document.get("digest"):
        raise CheckpointFileError("digest does not match the heads")  # only a signing bug could cause this
    return document["heads"]
