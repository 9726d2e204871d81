"""Marshmallow schemas for the inputs the services take besides trigger input
(trigger input schemas are built from the definitions: see engine/schemas.py).

The JSON API reuses these for its request bodies, so a rule is written once.
"""
from marshmallow import RAISE, Schema, fields, missing, validate

from .engine.schemas import StrippedText
from .models import CATEGORIES
from .time_bounds import UTCDateTimeField


class TaskInputSchema(Schema):
    class Meta:
        unknown = RAISE

    title = StrippedText(required=True, validate=validate.Length(min=1, max=120))
    description = StrippedText(load_default="", validate=validate.Length(max=4000))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    address = StrippedText(load_default="", validate=validate.Length(max=200),
                           metadata={"description": "public meeting point or area; never the household's door"})
    household_note = StrippedText(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                                  metadata={"description": "personal data: shown only to the claimant and staff"})
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=500))
    points = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=1000))
    # In UTC (no offset: UTC); one that cannot be converted is a field error. How far ahead it
    # may be is the service's check, against its own `now` (time_bounds.check_deadline).
    deadline = UTCDateTimeField(required=True)
    # When the activity takes place, if it has a set time; within two years of now either way
    # (the service's check, services/tasks.py).
    activity_at = UTCDateTimeField(load_default=None, allow_none=True,
                                   metadata={"description": "when the activity takes place, if at a set time "
                                                            "(within two years of now)"})
    grid = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))
    # The project (of the same community) this task is a concrete job of: its unit's members claim it.
    project_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                                validate=validate.Range(min=1, max=2**31 - 1),
                                metadata={"description": "a project of the same community that this task belongs to"})


class TaskEditSchema(TaskInputSchema):
    """An edit names only the fields it changes."""

    def on_bind_field(self, field_name, field_obj):
        field_obj.required = False
        field_obj.load_default = missing


class ReasonSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = StrippedText(required=True, validate=validate.Length(min=1, max=1000))
