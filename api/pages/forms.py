"""The page forms that are not a trigger's (Flask-WTF: each carries a CSRF token): login,
tasks, users, imports, exports. Labels are translated lazily. Trigger forms are made from
the definitions (api/pages/trigger_forms.py).

These check only what a browser form needs (required, lengths, numbers); the services
validate again, and their errors are put on the fields.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, DateTimeLocalField, HiddenField, IntegerField,
                     PasswordField, SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from workflow.models import CATEGORIES


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class ActionForm(FlaskForm):
    """A button: nothing but the CSRF token."""


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
    deadline = DateTimeLocalField(_l("Deadline"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()])


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
    email = StringField(_l("E-mail (optional: for notifications)"), validators=[Optional(), Length(max=254)])


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
