"""The page forms (Flask-WTF: each carries a CSRF token). Labels are translated lazily.

These check only what a browser form needs (required, lengths, numbers); the services
validate again with the definition's own schema, and their errors are put on the fields.
"""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import to_utc
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (BooleanField, DateField, DateTimeLocalField, DecimalField, HiddenField, IntegerField,
                     PasswordField, SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from workflow.models import CATEGORIES


class FiniteDecimalField(DecimalField):
    """A decimal that is a number: "NaN", "sNaN" and "Infinity" parse as Decimals but are none
    (a signalling NaN even raises when the range check compares it: a 500 before this)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if isinstance(self.data, Decimal) and not self.data.is_finite():
            self.data = None
            raise ValueError(_l("Enter a number, such as 1.5."))


class InUTC:
    """A time entered in the district's zone must exist in UTC: 0001-01-01 00:00 in Beijing is in
    the year 0 there (a 500 before this). How far ahead it may be is the service's rule."""

    def __call__(self, form, field):
        if field.data is None:
            return
        try:
            to_utc(field.data)
        except (OverflowError, ValueError):
            raise ValidationError(_l("Not a valid time: it falls outside the calendar in UTC.")) from None


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class ActionForm(FlaskForm):
    """A button: nothing but the CSRF token."""


class CheckInForm(FlaskForm):
    note = TextAreaField(_l("What did you do or find?"), validators=[DataRequired(), Length(max=1000)])
    photos = MultipleFileField(_l("Photos (optional)"))
    lat = HiddenField()
    lon = HiddenField()


class ReportForm(FlaskForm):
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=2000)])
    hours = FiniteDecimalField(_l("Hours spent"), places=None,
                         validators=[InputRequired(), NumberRange(min=0.1, max=24)])
    households = IntegerField(_l("Households served"), default=0,
                              validators=[Optional(), NumberRange(min=0, max=10000)])
    photos = MultipleFileField(_l("Photos (optional)"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])


class CommentForm(FlaskForm):
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=1000)])


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"), validators=[Optional(), Length(max=1000)])
    confirm = BooleanField(_l("Yes, withdraw this claim"), validators=[DataRequired()])


class TaskForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    category = SelectField(_l("Category"), choices=[(c, c) for c in CATEGORIES])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    address = StringField(_l("Meeting point or area (never the household's door)"),
                          validators=[Optional(), Length(max=200)])
    household_note = TextAreaField(_l("Household note (private: claimant and staff only)"),
                                   validators=[Optional(), Length(max=2000)])
    capacity = IntegerField(_l("Places"), default=1, validators=[InputRequired(), NumberRange(min=1, max=500)])
    points = IntegerField(_l("Points"), default=10, validators=[InputRequired(), NumberRange(min=0, max=1000)])
    deadline = DateTimeLocalField(_l("Deadline"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(), InUTC()])


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("Role"), choices=[("member", _l("Party member")), ("staff", _l("Community staff")),
                                           ("supervisor", _l("Supervisor")), ("admin", _l("Administrator"))])
    unit = StringField(_l("Unit (code or name)"), validators=[Optional(), Length(max=128)])
    community = StringField(_l("Community (12-digit code)"), validators=[Optional(), Length(max=12)])
    scope = StringField(_l("Supervisor scope: district, town:<code> or unit:<code>"),
                        validators=[Optional(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=8, max=256)])


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[DataRequired()])
    update = BooleanField(_l("Update users that exist"))


class SubjectForm(FlaskForm):
    subject = HiddenField(validators=[DataRequired(), Length(max=40)])


class ExportForm(FlaskForm):
    """GET form (no state change): what and which dates."""

    class Meta:
        csrf = False

    kind = SelectField(_l("What"), choices=[("claims", _l("Claims")), ("events", _l("Audit events"))])
    fmt = SelectField(_l("Format"), choices=[("csv", "CSV"), ("xlsx", "XLSX")])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
