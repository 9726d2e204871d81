"""Page forms made from a trigger's input fields: no trigger has a hand-written form.

`form_class(definition, trigger, english)` builds (once, then cached) a Flask-WTF form with
one input per field, named after the field (`note`, `summary`, `hours`, …): the widget its
type and `widget` hint ask for, its label and help in the page's language, `required`, and
its limits as HTML attributes (maxlength, min, max). The form checks only what a browser
form can (present, a number, a time); the service validates again with the definition's
own schema, and its field errors are put back on the inputs (`show_errors`).

Photos: a photo field's input carries upload ids (hidden inputs named after the field, for
photos already uploaded — the page's script uploads each photo as soon as it is chosen, so
a form sent back with an error keeps them) and, without the script, the files themselves
(the file input of the same name), which are stored only when the transition succeeds.
A location field (a float with `widget: location` and its `together_with` partner) is two
hidden inputs and a button that asks the phone for its position only when tapped.
"""
import math
import threading

from flask_babel import to_utc
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, Field, FloatField, HiddenField, IntegerField,
                     RadioField, SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from workflow.engine.schemas import DEFAULT_PHOTOS, DEFAULT_TEXT_LENGTH

from . import messages
from .forms import InUTC

_cache: dict = {}
_lock = threading.Lock()
LONG_TEXT = 200  # a text field allowing more than this is a textarea unless it says otherwise


class FiniteFloatField(FloatField):
    """A float that refuses NaN and infinities ("sNaN", "inf" typed into a number input)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not math.isfinite(self.data):
            self.data = None
            raise ValueError(self.gettext("Not a valid float value."))


class PhotosField(Field):
    """Upload ids and files posted under one name (the template draws its inputs)."""

    def __init__(self, label=None, validators=None, max_items=DEFAULT_PHOTOS, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.max_items = max_items
        self.ids: list[int] = []
        self.files: list = []

    def process_data(self, value):
        """Upload ids a form starts from (a subject kind's prefill: the last report's photos)."""
        self.ids = [int(v) for v in (value or []) if isinstance(v, int) or (isinstance(v, str) and v.isdigit())]
        self.data = self.ids

    def process_formdata(self, valuelist):
        self.ids = list(dict.fromkeys(int(v) for v in valuelist if isinstance(v, str) and v.isdigit()
                                      and len(v) <= 10))
        self.files = [v for v in valuelist if getattr(v, "filename", "")]
        self.data = self.ids

    def pre_validate(self, form):
        if len(self.ids) + len(self.files) > self.max_items:
            raise ValidationError(messages.at_most_photos(self.max_items))


def _words(spec, english: bool) -> tuple[str, str]:
    if english:
        return spec.label_en, spec.help_en or spec.help
    return spec.label, spec.help or spec.help_en


def location_partner(trigger) -> dict[str, str]:
    """field name → its location partner, for fields shown by a location widget (lat → lon)."""
    return {f.name: f.options["together_with"] for f in trigger.fields if f.widget == "location"}


def _required(kind=DataRequired):
    return kind(message=messages.REQUIRED)


def _field(spec, english: bool):
    label, help_text = _words(spec, english)
    opts = spec.options
    required = spec.required
    presence = [_required()] if required else [Optional()]
    kw = {"label": label, "description": help_text}
    if spec.type == "text":
        limit = opts.get("max_length", DEFAULT_TEXT_LENGTH)
        textarea = spec.widget == "textarea" or (spec.widget is None and limit > LONG_TEXT)
        cls = TextAreaField if textarea else StringField
        return cls(validators=presence + [Length(max=limit)], **kw)
    if spec.type in ("integer", "float"):
        numbers = [NumberRange(min=opts.get("min"), max=opts.get("max"))] if ("min" in opts or "max" in opts) else []
        presence = [_required(InputRequired)] if required else [Optional()]
        if spec.widget == "location":
            return HiddenField(validators=[_coordinate(spec)], **kw)
        if spec.type == "integer":
            return IntegerField(validators=presence + numbers, default=opts.get("default"),
                                render_kw={"inputmode": "numeric"}, **kw)
        return FiniteFloatField(validators=presence + numbers, render_kw={"inputmode": "decimal", "step": "any"},
                                **kw)
    if spec.type == "datetime":  # InUTC: a district time the UTC calendar cannot hold is a field error
        return DateTimeLocalField(format="%Y-%m-%dT%H:%M",
                                  validators=([_required(InputRequired)] if required else [Optional()]) + [InUTC()],
                                  **kw)
    if spec.type == "date":
        return DateField(validators=[_required(InputRequired)] if required else [Optional()], **kw)
    if spec.type == "boolean":
        return BooleanField(validators=[_required()] if required else [], default=opts.get("default"), **kw)
    if spec.type == "choice":
        choices = [(c.value, c.label_en if english else c.label) for c in spec.choices]
        if spec.widget == "radio":
            return RadioField(choices=choices, validators=presence, default=opts.get("default"), **kw)
        if not required:
            choices = [("", "—")] + choices
        return SelectField(choices=choices, validators=presence, default=opts.get("default") or "", **kw)
    if spec.type == "photos":
        return PhotosField(max_items=opts.get("max_items", DEFAULT_PHOTOS),
                           validators=[] if not required else [_some_photo], **kw)
    raise ValueError(f"no page widget for field type {spec.type}")


def form_class(definition, trigger, english: bool) -> type[FlaskForm]:
    key = (definition.key, definition.path, trigger.name, english)
    with _lock:
        cls = _cache.get(key)
    if cls is not None:
        return cls
    partners = set(location_partner(trigger).values())
    attrs = {}
    for spec in trigger.fields:
        if spec.name in partners:
            attrs[spec.name] = HiddenField(validators=[_coordinate(spec)])
            continue
        attrs[spec.name] = _field(spec, english)
    cls = type(f"{trigger.name.title().replace('_', '')}Form", (FlaskForm,), attrs)
    cls.trigger_spec = trigger
    with _lock:
        _cache[key] = cls
    return cls


def _coordinate(spec):
    """A location's half: empty, or a finite number within the field's range."""
    low, high = spec.options.get("min", -180), spec.options.get("max", 180)

    def check(form, field):
        if field.data in (None, ""):
            return
        value = _number(field.data)
        if value is None or not low <= value <= high:
            raise ValidationError(messages.bad_location())
    return check


def _some_photo(form, field):
    if not field.ids and not field.files:
        raise ValidationError(messages.photo_required())


def _number(text):
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is None or math.isfinite(value) else None


def input_data(form, trigger) -> tuple[dict, dict]:
    """The service's input from a valid form, and {photo field: [file storages]} still to store."""
    data, files = {}, {}
    partners = location_partner(trigger)
    for spec in trigger.fields:
        field = form[spec.name]
        if spec.name in partners:
            first, second = _number(field.data), _number(form[partners[spec.name]].data)
            if first is not None and second is not None:
                data[spec.name], data[partners[spec.name]] = first, second
            continue
        if spec.name in partners.values():
            continue
        if spec.type == "photos":
            if field.ids:
                data[spec.name] = list(field.ids)
            if field.files:
                files[spec.name] = list(field.files)
            continue
        value = field.data
        if value is None or value == "":
            continue
        if spec.type == "text":
            value = value.strip()
            if not value:
                continue
        elif spec.type == "datetime":
            value = to_utc(value).isoformat() + "Z"  # typed in the district's time
        elif spec.type == "date":
            value = value.isoformat()
        data[spec.name] = value
    return data, files


def show_errors(form, errors: dict) -> list[str]:
    """A service's field errors onto the form's inputs, in the page's language; what no input
    shows comes back to be flashed."""
    rest = []
    for name, texts in (errors or {}).items():
        texts = texts if isinstance(texts, list) else [texts]
        words = [messages.field_message(t if isinstance(t, str) else str(t)) for t in texts]
        if name in form:
            form[name].errors = list(form[name].errors or []) + words
        else:
            rest.append("; ".join(words))
    return rest


def kept_photos(form, trigger) -> list[int]:
    """Upload ids the form's photo fields carry (shown again as attachments)."""
    return [i for spec in trigger.fields if spec.type == "photos" for i in form[spec.name].ids]
