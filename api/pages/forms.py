"""The page forms that are not a trigger's (Flask-WTF: each carries a CSRF token): login,
tasks, users, imports, exports. Labels are translated lazily. Trigger forms are made from
the definitions (api/pages/trigger_forms.py).

These check only what a browser form needs (required, lengths, numbers); the services
validate again, and their errors are put on the fields.
"""
from flask_babel import lazy_gettext as _l
from flask_babel import to_utc
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, DateTimeLocalField, HiddenField, IntegerField,
                     PasswordField, SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from workflow.models import CATEGORIES


class InUTC:
    """A time entered in the district's zone must exist in UTC: 0001-01-01 00:00 in Beijing is in
    the year 0 there (a 500 before this). How far ahead it may be is the service's rule."""

    def __call__(self, form, field):
        if field.data is None:
            return
        try:
            to_utc(field.data)
        except (OverflowError, ValueError):
            raise ValidationError(_l("Enter a valid date and time.")) from None


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class PasswordChangeForm(FlaskForm):
    """A person sets their own password (forced after an administrator set one)."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=256)])

    def validate_confirm(self, field):
        if field.data != self.new_password.data:
            raise ValidationError(_l("The two new passwords differ."))


class PasswordResetForm(FlaskForm):
    """An administrator resets a user's password: a temporary one typed, or one generated."""

    how = SelectField(_l("New password"), choices=[("generate", _l("Generate a one-time password (shown once)")),
                                                   ("set", _l("Set a temporary password"))], default="generate")
    password = PasswordField(_l("Temporary password"), validators=[Optional(), Length(max=256)])


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
    deadline = DateTimeLocalField(_l("Deadline"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(), InUTC()])
    activity_at = DateTimeLocalField(_l("Activity time (if the activity is at a set time)"), format="%Y-%m-%dT%H:%M",
                                     validators=[Optional(), InUTC()])
    # A project of the community this task is a job of (choices: the view's, from the community's projects).
    project_id = SelectField(_l("Project (optional)"), choices=[("", "—")], default="", validate_choice=True)


class CommunityForm(FlaskForm):
    """The contact and location a community's staff keep for members (services/places.py)."""

    contact_name = StringField(_l("Contact (who members call)"), validators=[Optional(), Length(max=64)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=32)])
    lat = HiddenField()
    lon = HiddenField()
    clear_location = BooleanField(_l("Remove the recorded location"))


class CertificateForm(FlaskForm):
    """The months a certificate covers (YYYY-MM, as a month input sends them)."""

    first = StringField(_l("From (month)"), validators=[InputRequired(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$",
                                                                             message=_l("Enter a month."))])
    last = StringField(_l("To (month)"), validators=[InputRequired(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$",
                                                                           message=_l("Enter a month."))])


class UserForm(FlaskForm):
    """A user. Unit, town, community and scope are pickers of names (api/pages/admin.py fills their
    options; the values are the codes the service takes); which of them a role uses is said in the
    labels, and the page's script shows only those (without it, all are shown)."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("Role"), choices=[("member", _l("Party member")), ("staff", _l("Community staff")),
                                           ("supervisor", _l("Supervisor")), ("liaison", _l("Unit liaison")),
                                           ("admin", _l("Administrator"))])
    unit = StringField(_l("Unit (Party members and liaisons)"), validators=[Optional(), Length(max=128)])
    town = StringField(_l("Town or street"), validators=[Optional(), Length(max=9)])
    community = StringField(_l("Community or village (staff: where they work; Party members: where they are "
                               "registered, optional)"), validators=[Optional(), Length(max=12)])
    scope = StringField(_l("What the supervisor oversees"), validators=[Optional(), Length(max=64)])
    # The identity rules (at least 10 characters, not weak, common or the username) are the
    # service's: workflow/identity.py puts each broken rule on this field.
    password = PasswordField(_l("Password (empty: one is generated)"), validators=[Optional(), Length(max=256)])
    email = StringField(_l("E-mail (optional: for notifications)"), validators=[Optional(), Length(max=254)])


class ImportForm(FlaskForm):
    file = FileField(_l("File (CSV or Excel .xlsx)"), validators=[DataRequired()])
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


class FlagFilterForm(FlaskForm):
    """GET form over the anomaly flags: the days they were raised, the town."""

    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    town = SelectField(_l("Town or street"), choices=[], validate_choice=False)


class FlagReviewForm(FlaskForm):
    kind = HiddenField(validators=[DataRequired()])
    key = HiddenField(validators=[DataRequired()])
    note = TextAreaField(_l("Note (what you found)"), validators=[Optional(), Length(max=1000)])


def _plausible_date(form, field):
    """Dates of the log's life only: a year like 0001 or 9999 would overflow the time zone arithmetic."""
    from wtforms.validators import ValidationError
    if field.data is not None and not 2000 <= field.data.year <= 2100:
        raise ValidationError(_l("Choose a date between 2000 and 2100."))


class AuditSearchForm(FlaskForm):
    """The security log's search (GET; no CSRF token: it changes nothing)."""

    actor = StringField(_l("Administrator (username, or system)"), validators=[Optional(), Length(max=64)])
    action = SelectField(_l("Action"), choices=[], validate_choice=True, validators=[Optional()])
    start = DateField(_l("From (date)"), validators=[Optional(), _plausible_date])
    end = DateField(_l("To (date)"), validators=[Optional(), _plausible_date])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100000)])
