"""Ids in URLs: the app's `int` converter, bounded to the ids the database can hold.

Every id column is a 32-bit integer. Werkzeug's own `int` converter takes any number of
digits, so `/tasks/9223372036854775808` reached a view, and the database refused the query
(SQLite: "Python int too large", PostgreSQL: out of range): a 500. This converter matches
only 0 … 2147483647 (or a smaller `max`), by its regular expression — so a larger number is
not a match at all, as if the path did not exist: 404 on pages and API alike. (Checking the
bound in `to_python` only would let werkzeug pick the rule first and then give up on the
path: with another method on the same path it answers 405 instead of 404.)

`create_app` installs it as `int` before any route is added, so every `<int:…>` in a route
file is bounded without a change there. OpenAPI documents the bound (`maximum`).
"""
import builtins

from werkzeug.routing import IntegerConverter

INT32_MAX = 2**31 - 1


def up_to(limit: int) -> str:
    """A regular expression matching the decimal numbers 0 … `limit`, without leading zeros."""
    digits = str(limit)
    if len(digits) == 1:
        return f"[0-{digits}]"
    choices = ["0", rf"[1-9]\d{{0,{len(digits) - 2}}}"]  # every number with fewer digits
    for i, digit in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(digit) > low:  # the prefix so far, then a smaller digit here, then anything
            rest = len(digits) - i - 1
            tail = rf"\d{{{rest}}}" if rest else ""
            choices.append(f"{digits[:i]}[{low}-{int(digit) - 1}]{tail}")
    choices.append(digits)
    return "(?:" + "|".join(choices) + ")"


class IdConverter(IntegerConverter):
    """`int` for ids: 0 … 2**31 − 1, or a tighter `max` given in the rule."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 (werkzeug's names)
        bound = INT32_MAX if max is None else builtins.min(max, INT32_MAX)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=bound, signed=signed)
        if not signed and not fixed_digits:
            self.regex = up_to(bound)


def install(app) -> None:
    """Make the bounded converter the app's `int` (before any route is registered)."""
    app.url_map.converters["int"] = IdConverter
