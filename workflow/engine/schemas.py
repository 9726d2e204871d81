"""Marshmallow schemas built from a trigger's `input` block.

Field types a definition may use:
  text      a string (stripped; `max_length`, default 1000)
  integer   `min`, `max`, `default`
  float     `min`, `max`, `min_exclusive`; NaN and infinities refused
  datetime  ISO 8601; stored as naive UTC. `when: past` (the default: a time in the subject's
            life, not ahead of now beyond a few minutes of clock skew) or `when: future`
            (from now up to two years ahead); the service checks it, knowing now and the subject
  date      YYYY-MM-DD
  boolean   `default`
  choice    one of `choices` (each with value, label, label_en); `default`
  photos    a list of upload ids (`max_items`, default 9)
  ref       the id of a row picked from the database: `ref: grid | community | unit`. Which ids a
            subject allows (the grids of a registration's community, say) is its subject
            kind's `choices`; the schema checks only that it is an id. `required_if_any:
            true`: required whenever the subject offers any choice
Any field may be `required: true`, or `required_for_categories: [...]` (checked by the
engine against the subject's category, since the schema alone does not know it).
`personal: true` marks personal data: the audit chain hashes a digest of it and keeps the
value apart, so it can be erased when its retention ends (workflow/audit.py).
`together_with: other` makes two fields come as a pair (a location's lat and lon).
Unknown fields are refused.

Each field's words (label, help) go into the schema's metadata as `title` and
`description`, so the OpenAPI description a client reads says what a page says.
"""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..clock import as_utc_naive
from .definition import FieldSpec

FIELD_TYPES = ("text", "integer", "float", "datetime", "date", "boolean", "choice", "photos", "ref")
FIELD_OPTIONS = {
    "text": {"max_length"},
    "integer": {"min", "max", "default"},
    "float": {"min", "max", "min_exclusive"},
    "datetime": {"when"},
    "date": set(),
    "boolean": {"default"},
    "choice": {"default"},
    "photos": {"max_items"},
    "ref": {"ref", "required_if_any"},
}
# What a `ref` field may point at.
REFS = ("grid", "community", "unit")
MAX_ID = 2**31 - 1
# Page widgets a field may ask for where its type alone does not decide.
WIDGETS = {
    "text": ("line", "textarea"),
    "integer": (),
    "float": ("location",),
    "datetime": (),
    "date": (),
    "boolean": (),
    "choice": ("select", "radio"),
    "photos": (),
    "ref": ("select",),
}
COMMON_OPTIONS = {"type", "required", "required_for_categories", "together_with", "personal"}
DEFAULT_TEXT_LENGTH = 1000
DEFAULT_PHOTOS = 9
NOT_BLANK = r"\S"  # what the OpenAPI description says of a required text: some non-space character


class UTCDateTime(fields.DateTime):
    """An ISO 8601 time, with or without an offset, loaded as naive UTC. A time whose
    conversion overflows (year 9999 with a negative offset) is a field error, not a crash;
    how far from now a time may be is the service's rule (it knows `now` and the subject)."""

    default_error_messages = {"out_of_range": "Not a time Baodao can store."}

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return as_utc_naive(parsed)
        except (OverflowError, ValueError):
            raise self.make_error("out_of_range") from None


class StrippedText(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return text.strip()


def _range(opts: dict):
    if "min" not in opts and "max" not in opts:
        return []
    return [validate.Range(min=opts.get("min"), max=opts.get("max"),
                           min_inclusive=not opts.get("min_exclusive", False))]


def _metadata(spec: FieldSpec) -> dict:
    """Label and help as JSON Schema title/description (Chinese first, then English)."""
    description = spec.label_en
    helps = " / ".join(h for h in (spec.help, spec.help_en) if h)
    if helps:
        description = f"{description}. {helps}"
    return {"title": spec.label, "description": description}


def _field(spec: FieldSpec) -> fields.Field:
    opts = spec.options
    common = {"required": spec.required, "metadata": _metadata(spec)}
    default = {} if spec.required or "default" not in opts else {"load_default": opts["default"]}
    if spec.type == "text":
        validators = [validate.Length(max=opts.get("max_length", DEFAULT_TEXT_LENGTH))]
        if spec.required:
            validators.append(validate.Length(min=1, error="Must not be blank."))
            common["metadata"]["pattern"] = NOT_BLANK
        return StrippedText(validate=validators, **common)
    if spec.type == "integer":
        return fields.Integer(strict=True, validate=_range(opts), **common, **default)
    if spec.type == "float":
        return fields.Float(allow_nan=False, validate=_range(opts), **common)
    if spec.type == "datetime":
        return UTCDateTime(**common)
    if spec.type == "date":
        return fields.Date(**common)
    if spec.type == "boolean":
        return fields.Boolean(**common, **default)
    if spec.type == "choice":
        return fields.String(validate=validate.OneOf([c.value for c in spec.choices]), **common, **default)
    if spec.type == "photos":
        return fields.List(
            fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
            validate=validate.Length(max=opts.get("max_items", DEFAULT_PHOTOS)),
            **common,
        )
    if spec.type == "ref":
        common["metadata"]["description"] += f" (the id of a {opts['ref']})"
        return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **common)
    raise ValueError(f"unknown field type {spec.type}")  # the loader refuses these first


def build_schema(name: str, specs: tuple[FieldSpec, ...]) -> type[Schema]:
    """A Schema class for one trigger's input; instances are cheap and thread-safe to reuse."""
    attrs: dict = {spec.name: _field(spec) for spec in specs}
    pairs = [(s.name, s.options["together_with"]) for s in specs if "together_with" in s.options]

    class Meta:
        unknown = RAISE

    @validates_schema
    def check_pairs(self, data, **kwargs):
        for first, other in pairs:
            if (data.get(first) is None) != (data.get(other) is None):
                raise ValidationError(f"{first} and {other} come together", field_name=first)

    attrs.update(Meta=Meta, check_pairs=check_pairs)
    class_name = "".join(part.title() for part in name.split("_")) + "Input"
    return type(class_name, (Schema,), attrs)
