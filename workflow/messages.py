"""What a person reads when input is refused, in their language — without Flask.

The services and marshmallow speak English in stable phrases ("Missing data for required field.",
"At most 10 MB.", "the deadline has passed", a guard's "no free slot: the task is full"), and every
domain error carries a stable `code`. The page and API layers render a message for a reader with
`field_message(text, locale)` / `error_message(code, text, locale, reason=…)`: the phrase is
matched against the tables below and rendered from its msgid (English plain words; the Chinese in
translations/zh/LC_MESSAGES/messages.po, found by pybabel through the `_l` marker). A field phrase
no table knows is shown as it is in English and as "请检查此项。" in Chinese; an error message no
table knows falls back to the plain words of its code. So a Chinese reader never sees developer
English, and an English reader sees plain English. Codes never change: programs read those.
"""
import re
from collections.abc import Callable

from .i18n import DEFAULT_LOCALE, gettext


def _l(msgid: str) -> str:
    """Marks a msgid for pybabel (`-k _l`); translated when rendered."""
    return msgid


def is_english(locale: str | None) -> bool:
    return str(locale or DEFAULT_LOCALE).startswith("en")


# (regex on the English phrase, msgid, the msgid's parameters from the match)
Rule = tuple[str, str, Callable[[re.Match], dict]]
_NONE: Callable[[re.Match], dict] = lambda m: {}  # noqa: E731

FIELD_RULES: list[Rule] = [
    (r"^Missing data for required field\.$", _l("This field is required."), _NONE),
    (r"^Field may not be null\.$", _l("This field is required."), _NONE),
    (r"^Must not be blank\.$", _l("This field is required."), _NONE),
    (r"^Required\.?$", _l("This field is required."), _NONE),
    (r"^Longer than maximum length (\d+)\.$", _l("At most %(n)s characters."), lambda m: {"n": m[1]}),
    (r"^Shorter than minimum length (\d+)\.$", _l("At least %(n)s characters."), lambda m: {"n": m[1]}),
    (r"^Length must be between (\d+) and (\d+)\.$", _l("Between %(lo)s and %(hi)s characters."),
     lambda m: {"lo": m[1], "hi": m[2]}),
    (r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$",
     _l("Enter a number from %(lo)s to %(hi)s."), lambda m: {"lo": m[1], "hi": m[2]}),
    (r"^Must be greater than (\S+) and less than or equal to (\S+)\.$",
     _l("Enter a number above %(lo)s, at most %(hi)s."), lambda m: {"lo": m[1], "hi": m[2]}),
    (r"^Must be greater than or equal to (\S+)\.$", _l("Enter %(lo)s or more."), lambda m: {"lo": m[1]}),
    (r"^Must be less than or equal to (\S+)\.$", _l("Enter %(hi)s or less."), lambda m: {"hi": m[1]}),
    (r"^Not a valid (number|integer|float value)\.$", _l("Enter a number."), _NONE),
    (r"^Special numeric values \(nan or infinity\) are not permitted\.$", _l("Enter a number."), _NONE),
    (r"^Not a valid (datetime|date)\.$", _l("Enter a valid date and time."), _NONE),
    (r"^Not a time Baodao can store\.$", _l("Enter a valid date and time."), _NONE),
    (r"^Not a valid boolean\.$", _l("Choose yes or no."), _NONE),
    (r"^Not a valid list\.$", _l("Give a list of values."), _NONE),
    (r"^Invalid input type\.$", _l("This value has the wrong type."), _NONE),
    (r"^Not a valid mapping type\.$", _l("This value has the wrong type."), _NONE),
    (r"^Invalid value\.$", _l("This value is not valid."), _NONE),
    (r"^Must lie between the start of this record and now\.$",
     _l("The time must lie between the start of this claim and now."), _NONE),
    (r"^Must be in the future, within two years\.$", _l("The time must be in the future, within two years."),
     _NONE),
    (r"^The deadline must be in the future\.$", _l("The deadline must be in the future."), _NONE),
    (r"^The deadline may be at most two years ahead\.$", _l("The deadline may be at most two years ahead."),
     _NONE),
    (r"^Use the form 2026-11-30\.$", _l("Use the form 2026-11-30."), _NONE),
    (r"^Use the form 2026-11\.$", _l("Enter a month as year and month, e.g. 2026-11."), _NONE),
    (r"^Must be between (\d{4}-\d\d-\d\d) and (\d{4}-\d\d-\d\d)( \(UTC\))?\.$",
     _l("The date must lie between %(start)s and %(end)s."), lambda m: {"start": m[1], "end": m[2]}),
    (r"^The start must not be after the end\.$", _l("The start must not be after the end."), _NONE),
    (r"^Must be one of: .*$", _l("Choose one of the options."), _NONE),
    (r"^Not a valid string\.$", _l("Enter text."), _NONE),
    (r"^Unknown field\.$", _l("This form does not take this field."), _NONE),
    (r"^Required for (.+) tasks\.$", _l("Required for %(category)s tasks."), lambda m: {"category": m[1]}),
    (r"^Unknown upload id\(s\): .*$", _l("A photo could not be found; please add it again."), _NONE),
    (r"^Each photo once\.$", _l("Each photo once."), _NONE),
    (r"^(\w+) and (\w+) come together$", _l("Give both values or neither."), _NONE),
    (r"^Must lie within two years of now\.$", _l("The time must lie within two years of now."), _NONE),
    (r"^Not a phone number\.$", _l("Enter a phone number: digits, spaces or dashes."), _NONE),
    (r"^Not a readable image \(\w+\)\.$", _l("This file could not be read as a photo; choose another."), _NONE),
    (r"^Only JPEG, PNG or WebP photos\.$", _l("Only JPEG, PNG or WebP photos."), _NONE),
    (r"^Only JPEG, PNG, WebP or HEIC photos\.$", _l("Only JPEG, PNG, WebP or HEIC photos."), _NONE),
    (r"^At most (\d+) MB\.$", _l("A photo may be at most %(n)s MB."), lambda m: {"n": m[1]}),
    (r"^The image has too many pixels\.$", _l("The photo is too large; choose a smaller one."), _NONE),
    # a `ref` field (a grid, a community) and the grids
    (r"^Not one of the options here\.$", _l("Choose one of the options."), _NONE),
    (r"^Not a valid choice\.?$", _l("Choose one of the options."), _NONE),
    (r"^Required: choose one of the options\.$", _l("This field is required."), _NONE),
    (r"^Required: the unit it is for\.$", _l("Choose the unit it is for."), _NONE),
    (r"^Already in this grid\.$", _l("The member is in this grid already: choose another."), _NONE),
    (r"^This community has a grid of that name\.$", _l("This community has a grid of that name."), _NONE),
    (r"^No such grid in this community\.$", _l("Choose one of the options."), _NONE),
    (r"^No such project in this community\.$", _l("Choose one of the options."), _NONE),
    (r"^No community with this code\.$", _l("No community has this code."), _NONE),
    (r"^That project was cancelled\.$", _l("That project was cancelled."), _NONE),
    (r"^The period must not end before it starts\.$", _l("The period must not end before it starts."), _NONE),
    (r"^The period cannot end in the future\.$", _l("The period cannot end in the future."), _NONE),
    (r"^No verified service in this period\.$", _l("No verified service in this period."), _NONE),
    (r"^(\d+) to (\d+) printable ASCII characters\.$", _l("Use %(lo)s to %(hi)s printable ASCII characters."),
     lambda m: {"lo": m[1], "hi": m[2]}),
    (r"^Already used with another method, path or body\.$", _l("This key was used for a different request."), _NONE),
    (r"^You propose for your own unit only: leave it out\.$",
     _l("You propose for your own unit only: leave this empty."), _NONE),
    (r"^Already reversed, or itself a reversal\.$", _l("Already reversed, or itself a reversal."), _NONE),
    (r"^Registered with (.+) \((\w+)\): end or withdraw it first\.$",
     _l("Registered with %(place)s already: end or withdraw that registration first."), lambda m: {"place": m[1]}),
    (r"^(\d+) members have claimed it already\.$",
     _l("%(n)s members have claimed it already: the capacity cannot be less."), lambda m: {"n": m[1]}),
    # the user import (services/users.py): "line 3: role must be one of …"
    (r"^line (\d+): (.+)$", _l("Line %(n)s: %(problem)s"), lambda m: {"n": m[1], "problem": ("field", m[2])}),
    (r"^role must be one of (.+), not (.*)$",
     _l("The role must be one of member, staff, supervisor, liaison or admin; %(given)s is not."),
     lambda m: {"given": m[2]}),
    (r"^unknown community code (.+)$", _l("No community has the code %(code)s."), lambda m: {"code": m[1]}),
    (r"^unknown unit (.+)$", _l("No unit is called %(unit)s."), lambda m: {"unit": m[1]}),
    (r"^unknown town in scope (.+)$", _l("No town has the scope %(scope)s."), lambda m: {"scope": m[1]}),
    (r"^unknown unit in scope (.+)$", _l("No unit has the scope %(scope)s."), lambda m: {"scope": m[1]}),
    (r"^a member needs a unit$", _l("A Party member needs a unit."), _NONE),
    (r"^staff need a community$", _l("Community staff need a community."), _NONE),
    (r"^a liaison needs a unit$", _l("A unit liaison needs a unit."), _NONE),
    (r"^a liaison acts for a unit and has no community$", _l("A unit liaison acts for a unit and has no community."),
     _NONE),
    (r"^a supervisor's scope is district, town:<code> or unit:<code>$",
     _l("A supervisor's scope is the district, a town or a unit."), _NONE),
    (r"^only supervisors have a scope$", _l("Only supervisors have a scope."), _NONE),
    (r"^not a valid e-mail address: .*$", _l("This is not a valid e-mail address."), _NONE),
]

# The messages of domain errors (and of the API layer's own) that say more than their code.
ERROR_RULES: list[Rule] = [
    (r"^invalid\b.*$|^unknown fields$|^bad subject$", _l("Some of the input is not valid: see the message by each field."), _NONE),
    (r"^file too large$", _l("The photo is too large."), _NONE),
    (r"^not a supported image$", _l("This file is not a photo we accept."), _NONE),
    (r"^image too large$", _l("The photo is too large; choose a smaller one."), _NONE),
    (r"^not a readable image$", _l("This file could not be read as a photo; choose another."), _NONE),
    (r"^the deadline has passed$", _l("The deadline must be in the future."), _NONE),
    (r"^the deadline is too far ahead$", _l("The deadline may be at most two years ahead."), _NONE),
    (r"^month must be YYYY-MM$", _l("Enter a month as year and month, e.g. 2026-11."), _NONE),
    (r"^dates must be YYYY-MM-DD$", _l("Use the form 2026-11-30."), _NONE),
    (r"^the start is after the end$", _l("The start must not be after the end."), _NONE),
    (r"^upload \d+ was erased under the retention rules$", _l("This photo was erased under the retention rules."),
     _NONE),
    (r"^(?:user|unit|task|claim|registration|pairing|project|resource|upload|points entry|notification) "
     r"\S+ not found$", _l("Not found, or not yours to see."), _NONE),
    (r"^user '(.+)' exists \(usernames are compared without regard to case\)$",
     _l("The username %(username)s is taken (whatever its case)."), lambda m: {"username": m[1]}),
    (r"^request body too large \(at most (\d+) bytes here\)$", _l("The request is too large."), _NONE),
    (r"^a bearer token is required.*$", _l("Log in first: this needs a bearer token."), _NONE),
    (r"^the token is unknown, expired or revoked$", _l("Your login has ended; log in again."), _NONE),
    (r"^send the body as application/json$", _l("Send the request body as JSON."), _NONE),
    (r"^the body is not valid JSON$", _l("The request body is not valid JSON."), _NONE),
    (r"^the body must be a JSON object$", _l("The request body must be a JSON object."), _NONE),
    (r"^page must be at most (\d+)$", _l("The page number may be at most %(n)s."), lambda m: {"n": m[1]}),
    (r"^send the photo as multipart/form-data.*$", _l("Send the photo as a file upload (field “file”)."), _NONE),
    (r"^(.+) is at version \d+, not \d+$", _l("Someone changed this in the meantime; reload it and try again."),
     _NONE),
    # guards (workflow/engine/*rules.py, guards.py): keep the place they name
    (r"^you are already registered with (.+) \(registration \d+, \w+\)$",
     _l("You are already registered with %(place)s (or your application is waiting). To move, end that "
        "registration first."), lambda m: {"place": m[1]}),
    (r"^the unit already has a pairing with (.+) \(pairing \d+, \w+\)$",
     _l("Your unit already has a pairing with %(place)s (proposed or active)."), lambda m: {"place": m[1]}),
    (r"^your unit has no active pairing with (.+?): propose one.*$",
     _l("Your unit has no active pairing with %(place)s: propose one first, and take its projects once the "
        "community has accepted it."), lambda m: {"place": m[1]}),
    (r"^you already have (\d+) open claims \(the limit is (\d+)\)$",
     _l("You have reached the limit of open claims. Finish or withdraw one first."), _NONE),
    (r"^a report needs at least (\d+) visit\(s\); (\d+) recorded$",
     _l("Check in at a visit before you submit the report."), _NONE),
]

# A guard's refusal by the guard's name (TransitionNotAllowed.reason).
REFUSALS = {
    "role": _l("Only Party members claim tasks."),
    "task_open": _l("This task is not open for claims."),
    "free_slot": _l("No free place: the task is full."),
    "before_deadline": _l("The deadline has passed."),
    "one_live_claim_per_task": _l("You already have a claim on this task."),
    "open_claim_limit": _l("You have reached the limit of open claims. Finish or withdraw one first."),
    "not_claimant": _l("Nobody may verify their own claim."),
    "min_visits": _l("Check in at a visit before you submit the report."),
    "one_live_registration": _l("You are already registered with a community (or your application is waiting). "
                                "To move, end that registration first."),
    "renewal_open": _l("Renewal for next year opens on 1 December."),
    "term_over": _l("The term has not ended yet."),
    "one_live_pairing": _l("Your unit already has a pairing with this community (proposed or active)."),
    "paired_with_community": _l("Your unit has no active pairing with this community: propose one first, and take "
                                "its projects once the community has accepted it."),
}

# The plain words of each code, when the message itself says nothing a table knows.
# The same code for wrong current passwords (changing one's own, api/security.py): its own words,
# which error_message finds in the catalogue.
WRONG_PASSWORDS = _l("Too many wrong passwords; wait a while and try again.")

CODE_TEXTS = {
    "invalid_input": _l("Some of the input is not valid: see the message by each field."),
    "upload_too_large": _l("The photo is too large."),
    "too_large": _l("The request is too large."),
    "not_found": _l("Not found, or not yours to see."),
    "forbidden": _l("Your role may not do this."),
    "unauthorized": _l("Log in first: this needs a bearer token."),
    "invalid_token": _l("Your login has ended; log in again."),
    "invalid_credentials": _l("Wrong username or password."),
    "password_change_required": _l("An administrator set your password: set your own first "
                                   "(POST /api/v1/me/password)."),
    "too_many_attempts": _l("Too many failed logins; wait a while and try again."),
    "transition_not_allowed": _l("This action is not possible in its current state."),
    "conflict": _l("This conflicts with what is stored already."),
    "stale_version": _l("Someone changed this in the meantime; reload it and try again."),
    "bad_request": _l("The request could not be read."),
    "malformed_json": _l("The request body is not valid JSON."),
    "bad_idempotency_key": _l("The Idempotency-Key header is not valid."),
    "idempotency_key_reused": _l("This Idempotency-Key was used for a different request."),
    "method_not_allowed": _l("This address does not take this method."),
    "unsupported_media_type": _l("The request body has a type this address does not take."),
    "too_many_requests": _l("Too many requests; wait a while and try again."),
    "household_read_limit": _l("You have opened as many household notes as allowed today; try again tomorrow."),
    "precondition_required": _l("Send If-Match with the version you read."),
    "database_unavailable": _l("The service is briefly unavailable; try again in a moment."),
    "internal_error": _l("Something went wrong on our side; quote the request id when reporting it."),
    "domain_error": _l("The request could not be carried out."),
}
FIELD_FALLBACK = _l("Check this value.")


def _compiled(rules: list[Rule]):
    return [(re.compile(pattern), msgid, params) for pattern, msgid, params in rules]


_FIELD = _compiled(FIELD_RULES)
_ERROR = _compiled(ERROR_RULES)


def _render(rules, text: str, locale: str) -> str | None:
    for pattern, msgid, params in rules:
        match = pattern.match(text)
        if match:
            values = {}
            for key, value in params(match).items():
                # ("field", text): a phrase inside a phrase ("line 3: <problem>"), rendered in turn
                values[key] = field_message(value[1], locale) if isinstance(value, tuple) else value
            return gettext(msgid, locale=locale, **values)
    return None


def _catalogued(text: str, locale: str) -> str | None:
    """The text itself when it is a msgid of the catalogue (a phrase already in plain words)."""
    translated = gettext(text, locale=locale)
    return translated if translated != text or is_english(locale) else None


def field_message(text, locale: str = DEFAULT_LOCALE) -> str:
    """One field message in the reader's language."""
    if not isinstance(text, str):
        return str(text)
    rendered = _render(_FIELD, text, locale) or _render(_ERROR, text, locale)
    if rendered is not None:
        return rendered
    if is_english(locale):
        return text
    return _catalogued(text, locale) or gettext(FIELD_FALLBACK, locale=locale)


def field_messages(errors, locale: str = DEFAULT_LOCALE):
    """A (nested) marshmallow error structure with each message rendered; keys stay as they are."""
    if isinstance(errors, dict):
        return {key: field_messages(value, locale) for key, value in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [field_messages(value, locale) for value in errors]
    return field_message(errors, locale)


def refusal(reason: str | None, text: str | None, locale: str = DEFAULT_LOCALE) -> str:
    """A guard's refusal: its own message when a table knows it (it may name a place), else by guard name."""
    if text:
        rendered = _render(_ERROR, text, locale)
        if rendered is not None:
            return rendered
    if reason in REFUSALS:
        return gettext(REFUSALS[reason], locale=locale)
    if text and is_english(locale):
        return text
    return gettext(CODE_TEXTS["transition_not_allowed"], locale=locale)


def error_message(code: str, text: str | None, locale: str = DEFAULT_LOCALE, *, reason: str | None = None) -> str:
    """The message of an error with this code, in the reader's language."""
    if code == "transition_not_allowed":
        if reason:
            return refusal(reason, text, locale)
        rendered = _render(_ERROR, text or "", locale)
        if rendered is not None:
            return rendered
        return text if text and is_english(locale) else gettext(CODE_TEXTS[code], locale=locale)
    if text:
        rendered = _render(_ERROR, text, locale) or _render(_FIELD, text, locale)
        if rendered is not None:
            return rendered
        if is_english(locale):
            return text
        catalogued = _catalogued(text, locale)
        if catalogued is not None:
            return catalogued
    return gettext(CODE_TEXTS.get(code, CODE_TEXTS["domain_error"]), locale=locale)
