"""Words in a person's language where no request says which: notifications rendered for an
inbox or an e-mail, in the reader's own language, from the command line as from a page.

The same catalogue as the pages (translations/<lang>/LC_MESSAGES/messages.mo; English is the
msgid itself), read with Babel directly, so the domain needs neither Flask nor a request. Times
are shown in the district's time zone, as the pages show them.
"""
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from babel.dates import format_datetime as babel_format_datetime
from babel.support import NullTranslations, Translations

from .clock import DISTRICT_TZ

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LOCALE = "zh_CN"


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    """The catalogue for `locale` ("zh_CN" reads translations/zh, "en" none: the msgids)."""
    return Translations.load(str(TRANSLATIONS_DIR), [locale or DEFAULT_LOCALE], domain="messages")


def gettext(message: str, *, locale: str = DEFAULT_LOCALE, **params) -> str:
    text = translations(locale).gettext(message)
    return text % params if params else text


def format_datetime(value: datetime, pattern: str = "yyyy-MM-dd HH:mm", *, locale: str = DEFAULT_LOCALE) -> str:
    """A stored (naive UTC) time in the district's time zone."""
    aware = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    return babel_format_datetime(aware, pattern, tzinfo=DISTRICT_TZ, locale=locale or DEFAULT_LOCALE)
