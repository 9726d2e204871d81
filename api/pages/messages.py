"""Field messages in the page's language.

The services validate with marshmallow and speak English in stable phrases ("Missing data
for required field.", "Longer than maximum length 1000."). A page shows each next to its
field in the reader's language: the phrase is rendered by `workflow.messages` (the same tables
the JSON API uses for `Accept-Language`) in the page's locale.
"""
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workflow import messages

# One wording for "required", whether the page form or the service noticed it.
REQUIRED = _l("This field is required.")


def page_locale() -> str:
    return str(get_locale() or "zh_CN")


def at_most_photos(limit: int) -> str:
    return _("At most %(n)s photos.", n=limit)


def bad_location() -> str:
    return _("The location is not valid; try again or leave it out.")


def photo_required() -> str:
    return _("Add at least one photo.")


def field_message(text: str) -> str:
    return messages.field_message(text, page_locale())


def error_message(code: str, text: str | None, reason: str | None = None) -> str:
    return messages.error_message(code, text, page_locale(), reason=reason)
