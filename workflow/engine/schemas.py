"""Marshmallow schemas built from a trigger's `input` block.

Field types a definition may use:
  text      a string (stripped; `max_length`, default 1000)
  integer   `min`, `max`, `default`
  float     `min`, `max`, `min_exclusive`; NaN and infinities refused
  datetime  ISO 8601; stored as naive UTC
  boolean
  photos    a list of upload ids (`max_items`, default 9)
Any field may be `required: true`, or `required_for_categories: [...]` (checked by the
engine against the task's category, since the schema alone does not know the task).
`together_with: other` makes two fields come as a pair (a location's lat and lon).
Unknown fields are refused.
"""
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from ..clock import as_utc_naive
from .definition import FieldSpec

FIELD_TYPES = ("text", "integer", "float", "datetime", "boolean", "photos")
FIELD_OPTIONS = {
    "text": {"max_length"},
    "integer": {"min", "max", "default"},
    "float": {"min", "max", "min_exclusive"},
    "datetime": set(),
    "boolean": {"default"},
    "photos": {"max_items"},
}
COMMON_OPTIONS = {"type", "required", "required_for_categories", "together_with"}


class StrippedText(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return text.strip()


def _range(opts: dict):
    if "min" not in opts and "max" not in opts:
        return []
    return [validate.Range(min=opts.get("min"), max=opts.get("max"),
                           min_inclusive=not opts.get("min_exclusive", False))]


def _field(spec: FieldSpec) -> fields.Field:
    opts = spec.options
    common = {"required": spec.required}
    if spec.type == "text":
        validators = [validate.Length(max=opts.get("max_length", 1000))]
        if spec.required:
            validators.append(validate.Length(min=1, error="Must not be blank."))
        return StrippedText(validate=validators, **common)
    if spec.type == "integer":
        extra = {} if spec.required or "default" not in opts else {"load_default": opts["default"]}
        return fields.Integer(strict=True, validate=_range(opts), **common, **extra)
    if spec.type == "float":
        return fields.Float(allow_nan=False, validate=_range(opts), **common)
    if spec.type == "datetime":
        return fields.DateTime(**common)
    if spec.type == "boolean":
        extra = {} if spec.required or "default" not in opts else {"load_default": opts["default"]}
        return fields.Boolean(**common, **extra)
    if spec.type == "photos":
        return fields.List(
            fields.Integer(strict=True, validate=validate.Range(min=1)),
            validate=validate.Length(max=opts.get("max_items", 9)),
            **common,
        )
    raise ValueError(f"unknown field type {spec.type}")  # the loader refuses these first


def build_schema(trigger_name: str, specs: tuple[FieldSpec, ...]) -> type[Schema]:
    """A Schema class for one trigger's input; instances are cheap and thread-safe to reuse."""
    attrs: dict = {spec.name: _field(spec) for spec in specs}
    pairs = [(s.name, s.options["together_with"]) for s in specs if "together_with" in s.options]
    datetimes = [s.name for s in specs if s.type == "datetime"]

    class Meta:
        unknown = RAISE

    @validates_schema
    def check_pairs(self, data, **kwargs):
        for name, other in pairs:
            if (data.get(name) is None) != (data.get(other) is None):
                raise ValidationError(f"{name} and {other} come together", field_name=name)

    @post_load
    def normalise_times(self, data, **kwargs):
        for name in datetimes:
            if data.get(name) is not None:
                data[name] = as_utc_naive(data[name])
        return data

    attrs.update(Meta=Meta, check_pairs=check_pairs, normalise_times=normalise_times)
    class_name = "".join(part.title() for part in trigger_name.split("_")) + "Input"
    return type(class_name, (Schema,), attrs)
