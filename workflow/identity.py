"""Identity rules (等保 2.0: unique accounts, strong passwords): what a username and a password may be.

Usernames
- Typed text is NFKC-normalised first (a Chinese input method's full-width `ａｄｍｉｎ` becomes `admin`)
  and stripped; then only ASCII letters, digits and `. _ - @` are allowed, 1–64 characters.
  **Decision:** ASCII letters only, not every Unicode letter: Cyrillic `а` and Latin `a` look the same
  and NFKC does not fold one into the other, so a Unicode-letter rule would let `аdmin` stand next
  to `admin`. People's names (张三) go in the name field, which has no such rule.
- Unique without regard to case: `username_key` (NFKC + case folding) has a unique index
  (migration 0007), so `Admin` cannot be created next to `admin`. Login looks the typed name up
  by that key too, so a phone keyboard's capital first letter still logs in.

Passwords (on every path that sets one: admin pages, `create-user`, `import-users`)
- at least 10 characters (at most 256);
- not a common password (the whole password is in zxcvbn's list of common passwords);
- does not contain the username (case-insensitive);
- zxcvbn's score (0–4) at least 3, with the username and name as words a guesser would try.
The demo loader's documented shared password is the one exception: it is set by the demo loader
only, never through these paths.

Problems are reported with stable codes (`IdentityProblem.code`) so the pages can say them in
the reader's language; the English message is for the command line and logs.
"""
import re
import unicodedata
from dataclasses import dataclass

from .errors import InvalidInput

USERNAME_MAX = 64
USERNAME_KEY_MAX = 255
USERNAME_CHARS = re.compile(r"[A-Za-z0-9._@-]+")
PASSWORD_MIN = 10
PASSWORD_MAX = 256
MIN_SCORE = 3
ZXCVBN_MAX = 72  # zxcvbn refuses longer input; the first 72 characters decide the score


@dataclass(frozen=True)
class IdentityProblem:
    code: str  # stable: the pages translate by it
    message: str  # English, for the command line and logs
    field: str  # "username" or "password"


class IdentityError(InvalidInput):
    """A username or password that breaks the rules; `problems` lists every rule broken."""

    def __init__(self, problems: list[IdentityProblem], prefix: str = ""):
        errors: dict[str, list[str]] = {}
        for p in problems:
            errors.setdefault(p.field, []).append(p.message)
        super().__init__(prefix + "; ".join(p.message for p in problems), errors=errors)
        self.problems = problems


def normalise_username(raw: str | None) -> str:
    """The username as it is stored: NFKC, surrounding whitespace removed."""
    return unicodedata.normalize("NFKC", raw or "").strip()


def username_key(name: str | None) -> str:
    """What makes two usernames the same account name: NFKC with case folding (NFKC_Casefold)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name or "").casefold())
    return folded.strip()


def username_problems(name: str) -> list[IdentityProblem]:
    """What is wrong with a (normalised) username; [] when it is fine."""
    if not name:
        return [IdentityProblem("username_required", "a username is required", "username")]
    problems = []
    if len(name) > USERNAME_MAX:
        problems.append(IdentityProblem("username_too_long", f"a username has at most {USERNAME_MAX} characters",
                                        "username"))
    if not USERNAME_CHARS.fullmatch(name):
        problems.append(IdentityProblem(
            "username_characters", "a username may hold only letters a–z and A–Z, digits and . _ - @", "username"))
    return problems


def check_username(raw: str | None) -> str:
    """The normalised username, or IdentityError."""
    name = normalise_username(raw)
    problems = username_problems(name)
    if problems:
        raise IdentityError(problems)
    return name


def password_problems(password: str | None, *, username: str = "", name: str = "") -> list[IdentityProblem]:
    """Every rule a new password breaks; [] when it may be used."""
    password = password or ""

    def problem(code, message):
        return IdentityProblem(code, message, "password")

    if len(password) < PASSWORD_MIN:
        return [problem("password_too_short", f"a password needs at least {PASSWORD_MIN} characters")]
    if len(password) > PASSWORD_MAX:
        return [problem("password_too_long", f"a password has at most {PASSWORD_MAX} characters")]
    problems = []
    key = username_key(username)
    if key and key in username_key(password):
        problems.append(problem("password_contains_username", "a password must not contain the username"))
    words = [w for w in (username, name, key) if w]
    # (imported here: its word lists take 12 MB, which only a worker that sets a password needs)
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:ZXCVBN_MAX], user_inputs=words)
    whole = password[:ZXCVBN_MAX].lower()
    if any(m["pattern"] == "dictionary" and m.get("dictionary_name") == "passwords" and m["token"].lower() == whole
           for m in result["sequence"]):
        problems.append(problem("password_common", "this password is one of the most common passwords"))
    elif result["score"] < MIN_SCORE:
        hint = result["feedback"].get("warning") or "it is easy to guess"
        problems.append(problem("password_weak", f"this password is too easy to guess ({hint.rstrip('.')})"))
    return problems


def check_password(password: str | None, *, username: str = "", name: str = "") -> None:
    """IdentityError listing every rule the password breaks."""
    problems = password_problems(password, username=username, name=name)
    if problems:
        raise IdentityError(problems)
