"""Field messages in the page's language.

The services validate with marshmallow and speak English in stable phrases ("Missing data
for required field.", "Longer than maximum length 1000."). A page shows each next to its
field in the reader's language: the phrase is matched here and translated with
Flask-Babel; a phrase this table does not know is shown as it is.
"""
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

# One wording for "required", whether the page form or the service noticed it.
REQUIRED = _l("This field is required.")


def at_most_photos(limit: int) -> str:
    return _("At most %(n)s photos.", n=limit)


def bad_location() -> str:
    return _("The location is not valid; try again or leave it out.")


def photo_required() -> str:
    return _("Add at least one photo.")


def _patterns():
    # (regex on the English phrase, the translation given its groups)
    return (
        (r"^Missing data for required field\.$", lambda m: _("This field is required.")),
        (r"^Field may not be null\.$", lambda m: _("This field is required.")),
        (r"^Must not be blank\.$", lambda m: _("This field is required.")),
        (r"^Longer than maximum length (\d+)\.$", lambda m: _("At most %(n)s characters.", n=m[1])),
        (r"^Shorter than minimum length (\d+)\.$", lambda m: _("At least %(n)s characters.", n=m[1])),
        (r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$",
         lambda m: _("Enter a number from %(lo)s to %(hi)s.", lo=m[1], hi=m[2])),
        (r"^Must be greater than (\S+) and less than or equal to (\S+)\.$",
         lambda m: _("Enter a number above %(lo)s, at most %(hi)s.", lo=m[1], hi=m[2])),
        (r"^Must be greater than or equal to (\S+)\.$", lambda m: _("Enter %(lo)s or more.", lo=m[1])),
        (r"^Must be less than or equal to (\S+)\.$", lambda m: _("Enter %(hi)s or less.", hi=m[1])),
        (r"^Not a valid (number|integer|float value)\.$", lambda m: _("Enter a number.")),
        (r"^Special numeric values \(nan or infinity\) are not permitted\.$", lambda m: _("Enter a number.")),
        (r"^Not a valid (datetime|date)\.$", lambda m: _("Enter a valid date and time.")),
        (r"^Not a time Baodao can store\.$", lambda m: _("Enter a valid date and time.")),
        (r"^Must lie between the start of this record and now\.$",
         lambda m: _("The time must lie between the start of this claim and now.")),
        (r"^Must be in the future, within two years\.$",
         lambda m: _("The time must be in the future, within two years.")),
        (r"^The deadline must be in the future\.$", lambda m: _("The deadline must be in the future.")),
        (r"^The deadline may be at most two years ahead\.$",
         lambda m: _("The deadline may be at most two years ahead.")),
        (r"^Use the form 2026-11-30\.$", lambda m: _("Use the form 2026-11-30.")),
        (r"^Must be between (\d{4}-\d\d-\d\d) and (\d{4}-\d\d-\d\d)( \(UTC\))?\.$",
         lambda m: _("The date must lie between %(start)s and %(end)s.", start=m[1], end=m[2])),
        (r"^Must be one of: .*$", lambda m: _("Choose one of the options.")),
        (r"^Not a valid string\.$", lambda m: _("Enter text.")),
        (r"^Unknown field\.$", lambda m: _("This form does not take this field.")),
        (r"^Required for (.+) tasks\.$", lambda m: _("Required for %(category)s tasks.", category=m[1])),
        (r"^Unknown upload id\(s\): .*$", lambda m: _("A photo could not be found; please add it again.")),
        (r"^Each photo once\.$", lambda m: _("Each photo once.")),
        (r"^(\w+) and (\w+) come together$", lambda m: _("Give both values or neither.")),
        (r"^Must lie within two years of now\.$", lambda m: _("The time must lie within two years of now.")),
        (r"^Not a phone number\.$", lambda m: _("Enter a phone number: digits, spaces or dashes.")),
        (r"^Not a readable image \(\w+\)\.$", lambda m: _("This file could not be read as a photo; choose another.")),
        (r"^Only JPEG, PNG or WebP photos\.$", lambda m: _("Only JPEG, PNG or WebP photos.")),
        (r"^Only JPEG, PNG, WebP or HEIC photos\.$", lambda m: _("Only JPEG, PNG, WebP or HEIC photos.")),
        (r"^At most (\d+) MB\.$", lambda m: _("A photo may be at most %(n)s MB.", n=m[1])),
        (r"^The image has too many pixels\.$", lambda m: _("The photo is too large; choose a smaller one.")),
    )


def field_message(text: str) -> str:
    for pattern, translate in _patterns():
        match = re.match(pattern, text)
        if match:
            return translate(match)
    return text
