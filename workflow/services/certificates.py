"""Certificates of service (志愿服务记录证明) that anyone can verify.

Issuing one states a member's verified service over a span of months — name, unit, period,
hours, number of services, the district — as a statement that is:

1. signed with the district's Ed25519 key (the key that signs exported audit checkpoints,
   BAODAO_CHECKPOINT_KEY: workflow/checkpoint_signing.py), and
2. recorded as an event on the member's own audit chain (subject type "member", trigger
   `issue_certificate`), whose payload carries the statement's sha256 — so `verify-chain`
   covers every certificate, and one changed in the database afterwards shows there too.

The certificate's code (the QR code and the printed address carry it) is random, with a
check character: a mistyped or altered code is told apart from one that was never issued.
`verify(code)` answers what the public verification page shows: genuine (with what the
certificate states: name, period, hours, issue date — nothing more about the person),
altered, unknown, or not a valid code.
"""
import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from sqlalchemy import select

from .. import audit
from ..checkpoint_signing import key_id, load_or_create_key
from ..clock import utcnow
from ..errors import Forbidden, InvalidInput
from ..models import AuditEvent, Certificate, User
from . import service_record
from .tx import write_transaction

FORMAT = "baodao-certificate/1"
SUBJECT = "member"  # the audit chain a certificate's issue is recorded on: the member's own
TRIGGER = "issue_certificate"
# Crockford's base32: no I, L, O or U, so a code read aloud or typed from paper survives.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH = 12  # 60 random bits
BEIJING = timedelta(hours=8)


def _check_char(body: str) -> str:
    """A weighted sum: any one changed character, and any swap of two neighbours, changes it."""
    return ALPHABET[sum((i + 1) * ALPHABET.index(c) for i, c in enumerate(body)) % 31]


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + _check_char(body)


def normalise_code(text: str) -> str | None:
    """A code as typed or scanned ("abcd-efgh-…", o for 0, l for 1) in its canonical form, or
    None when it cannot be one (wrong length, a foreign character, a failed check)."""
    code = (text or "").strip().upper().replace("-", "").replace(" ", "")
    code = code.replace("O", "0").replace("I", "1").replace("L", "1")
    if len(code) != BODY_LENGTH + 1 or any(c not in ALPHABET for c in code):
        return None
    return code if _check_char(code[:-1]) == code[-1] else None


def spaced_code(code: str) -> str:
    """ABCD-EFGH-JKMN-P: easier to read out and type (normalise_code takes it back)."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def statement_digest(statement: dict) -> str:
    return hashlib.sha256(audit.canonical_json(statement).encode("utf-8")).hexdigest()


def _months(first: date, last: date) -> tuple[str, str]:
    return first.strftime("%Y-%m"), last.strftime("%Y-%m")


def issue(actor, *, first_month: date, last_month: date, district: str, key_path, now: datetime | None = None,
          request_id: str | None = None) -> Certificate:
    """A member's certificate over the months from `first_month` to `last_month` (both
    included; the days are ignored). Refused when no verified service falls in them."""
    if actor.role != "member":
        raise Forbidden("certificates are issued to members, for their own service")
    now = now or utcnow()
    today = (now + BEIJING).date()
    first, last = first_month.replace(day=1), last_month.replace(day=1)
    if first > last:
        raise InvalidInput("the period runs backwards", errors={"period": ["The period must not end before it starts."]})
    if last > today.replace(day=1):
        raise InvalidInput("the period is in the future", errors={"period": ["The period cannot end in the future."]})
    key = load_or_create_key(key_path)
    with write_transaction() as session:
        # The member's row, locked: their chain gets one event at a time (as a claim's does under its lock).
        member = session.scalar(select(User).where(User.id == actor.id).with_for_update(key_share=True)
                                .execution_options(populate_existing=True))
        first_key, last_key = _months(first, last)
        found = service_record.entries(session, member.id, first_month=first_key, last_month=last_key)
        if not found:
            raise InvalidInput("no verified service in the period",
                               errors={"period": ["No verified service in this period."]})
        period_end = min(_month_end(last), today)
        code = new_code()
        statement = {
            "format": FORMAT, "code": code, "name": member.name, "unit": member.unit.name if member.unit else None,
            "district": district, "period_start": first.isoformat(), "period_end": period_end.isoformat(),
            "hours": round(sum(e.hours for e in found), 2), "services": len(found), "issued_on": today.isoformat(),
            "key_id": key_id(key.public_key()),
        }
        signature = base64.b64encode(key.sign(audit.canonical_json(statement).encode("utf-8"))).decode("ascii")
        certificate = Certificate(code=code, member_id=member.id, period_start=first, period_end=period_end,
                                  hours=statement["hours"], services=statement["services"], statement=statement,
                                  signature=signature, key_id=statement["key_id"], issued_at=now)
        session.add(certificate)
        session.flush()
        audit.append(session, subject_type=SUBJECT, subject_id=member.id, trigger=TRIGGER, from_state=None,
                     to_state=None, actor=actor, now=now, request_id=request_id,
                     payload={"certificate": code, "statement_sha256": statement_digest(statement),
                              "period_start": statement["period_start"], "period_end": statement["period_end"],
                              "hours": statement["hours"], "services": statement["services"]})
    return certificate


def _month_end(first_day: date) -> date:
    following = (first_day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def own_certificates(session, member_id: int) -> list[Certificate]:
    return session.scalars(select(Certificate).where(Certificate.member_id == member_id)
                           .order_by(Certificate.issued_at.desc(), Certificate.id.desc())).all()


def own_certificate(session, actor, code: str) -> Certificate | None:
    """The caller's own certificate with this code (a member downloads only their own)."""
    return session.scalar(select(Certificate).where(Certificate.code == code, Certificate.member_id == actor.id))


@dataclass
class Verdict:
    status: str  # genuine | altered | unknown | malformed
    code: str | None = None
    name: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    hours: float | None = None
    issued_on: str | None = None
    district: str | None = None


def verify(session, text: str, public_key) -> Verdict:
    """What the public verification page says about a code."""
    code = normalise_code(text)
    if code is None:
        return Verdict("malformed")
    certificate = session.scalar(select(Certificate).where(Certificate.code == code))
    if certificate is None:
        return Verdict("unknown", code=code)
    if not _intact(session, certificate, public_key):
        return Verdict("altered", code=code)
    s = certificate.statement
    return Verdict("genuine", code=code, name=s["name"], period_start=s["period_start"], period_end=s["period_end"],
                   hours=s["hours"], issued_on=s["issued_on"], district=s["district"])


def _intact(session, certificate, public_key) -> bool:
    """The stored statement is what was signed, by the configured key; the row agrees with it;
    and the member's chain holds the issuing event with the statement's digest, its hashes intact."""
    statement = certificate.statement or {}
    try:
        public_key.verify(base64.b64decode(certificate.signature, validate=True),
                          audit.canonical_json(statement).encode("utf-8"))
    except (InvalidSignature, ValueError, TypeError):
        return False
    agrees = (statement.get("code") == certificate.code and statement.get("key_id") == key_id(public_key)
              and statement.get("hours") == certificate.hours and statement.get("services") == certificate.services
              and statement.get("period_start") == certificate.period_start.isoformat()
              and statement.get("period_end") == certificate.period_end.isoformat())
    if not agrees:
        return False
    if issuing_digest(session, certificate) != statement_digest(statement):
        return False
    return audit.verify(session, subject=f"{SUBJECT}:{certificate.member_id}").ok


def issuing_digest(session, certificate) -> str | None:
    """The statement digest the member's chain recorded when this certificate was issued."""
    for payload in session.scalars(select(AuditEvent.payload).where(
            AuditEvent.subject_type == SUBJECT, AuditEvent.subject_id == certificate.member_id,
            AuditEvent.trigger == TRIGGER)):
        if (payload or {}).get("certificate") == certificate.code:
            return payload.get("statement_sha256")
    return None
