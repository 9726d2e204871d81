"""Marshmallow schemas of the API: what responses look like and what query strings take.

Request bodies that a service validates (tasks, reasons, trigger input) are documented
with the services' own schemas (workflow/schemas.py and each definition's trigger
schemas) and validated there, once; the schemas here describe outputs and the API's
own inputs (login, list filters).
"""
from marshmallow import RAISE, Schema, fields, validate

from workflow.clock import iso
from workflow.models import CATEGORIES, TASK_STATUSES
from workflow.services.registration_views import summary
from workflow.time_bounds import QUERY_EARLIEST, QUERY_LATEST, UTCDateTimeField


class UTCDateTime(UTCDateTimeField):
    """Times go out as ISO 8601 UTC with a Z (stored naive UTC; any year, 1 to 9999, four digits);
    come in with or without an offset, and a time that cannot be converted is a 422 naming it."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, str):  # a stored answer's view (an idempotent replay) holds its times as text
            return value
        return iso(value) if value is not None else None


class Day(fields.Date):
    """A calendar day (YYYY-MM-DD): a pairing's end date, a project's first and last day. A stored
    answer's view (an idempotent replay) holds it as text already."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


# -- inputs the API itself owns -----------------------------------------------------------------

class LoginSchema(Schema):
    class Meta:
        unknown = RAISE

    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class PasswordChangeSchema(Schema):
    class Meta:
        unknown = RAISE

    current_password = fields.String(required=True, validate=validate.Length(min=1, max=256))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=256), metadata={
        "description": "at least 10 characters, not weak (zxcvbn score 3 or more), not a common password, not "
                       "containing the username, not the current password"})


class TaskFilterSchema(Schema):
    """The filters the task and claim lists share (a claim is filtered by its task: api/v1/listing.py)."""

    category = fields.String(validate=validate.OneOf(CATEGORIES))
    community = fields.String(validate=validate.Regexp(r"^\d{12}$"),
                              metadata={"description": "12-digit community/village code"})
    town = fields.String(validate=validate.Regexp(r"^\d{9}$"), metadata={"description": "9-digit town/street code"})
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "text in title or description"})


class TaskQuerySchema(TaskFilterSchema):
    status = fields.String(validate=validate.OneOf(TASK_STATUSES))


class ClaimQuerySchema(TaskFilterSchema):
    state = fields.String(validate=validate.Length(min=1, max=32))
    task = fields.Integer(strict=False, validate=validate.Range(min=1, max=2**31 - 1))
    member = fields.Integer(strict=False, validate=validate.Range(min=1, max=2**31 - 1))
    since = UTCDateTime(earliest=QUERY_EARLIEST, latest=QUERY_LATEST, metadata={
        "description": "claims changed at or after this time (updated_at); between 2000-01-01 and 2100-01-01"})


class VerifyQuerySchema(Schema):
    subject = fields.String(validate=validate.Regexp(
        r"^(task|claim|registration|pairing|project|resource):\d{1,10}$"),
                            metadata={"description": "claim:<id>, task:<id>, registration:<id>, pairing:<id>, "
                                                     "project:<id> or resource:<id>; without it, every chain"})


class RegistrationQuerySchema(Schema):
    state = fields.String(validate=validate.Length(min=1, max=32))
    community = fields.String(validate=validate.Regexp(r"^\d{12}$"),
                              metadata={"description": "12-digit community/village code"})
    grid = fields.Integer(strict=False, validate=validate.Range(min=1, max=2**31 - 1),
                          metadata={"description": "grid id"})


class PairingQuerySchema(Schema):
    state = fields.String(validate=validate.Length(min=1, max=32))
    community = fields.String(validate=validate.Regexp(r"^\d{12}$"),
                              metadata={"description": "12-digit community/village code"})
    unit = fields.Integer(strict=False, validate=validate.Range(min=1, max=2**31 - 1),
                          metadata={"description": "unit id"})


class ProjectQuerySchema(PairingQuerySchema):
    pass


class CommunityQuerySchema(Schema):
    town = fields.String(validate=validate.Regexp(r"^\d{9}$"), metadata={"description": "9-digit town/street code"})
    q = fields.String(validate=validate.Length(min=1, max=50), metadata={"description": "text in the name"})


class YearQuerySchema(Schema):
    year = fields.Integer(strict=False, validate=validate.Range(min=2000, max=2100),
                          metadata={"description": "calendar year of the verified work counted; default: this year "
                                                   "(Beijing time)"})


class MonthQuerySchema(Schema):
    month = fields.String(validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"),
                          metadata={"description": "YYYY-MM; default: the current month (UTC)"})


# -- outputs -------------------------------------------------------------------------------------

class PlaceRef(Schema):
    code = fields.String()
    name = fields.String()


class GridRef(Schema):
    id = fields.Integer()
    name = fields.String()


class PersonRef(Schema):
    id = fields.Integer()
    name = fields.String()


class ScopeOut(Schema):
    kind = fields.String(metadata={"description": "all | district | town | unit | community | own"})
    code = fields.String(allow_none=True)
    name = fields.String(allow_none=True)


class CommunityRef(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class TermSchema(Schema):
    year = fields.Integer(metadata={"description": "the calendar year the registration runs for"})
    ends_at = UTCDateTime(metadata={"description": "00:00 on 1 January of the next year, Beijing time"})


class RegistrationSummarySchema(Schema):
    id = fields.Integer()
    state = fields.String(metadata={"description": "applied | active"})
    community = fields.Nested(CommunityRef)
    grid = fields.Nested(GridRef, allow_none=True)
    households = fields.Integer(allow_none=True, metadata={"description": "households to keep in touch with"})
    since = UTCDateTime(allow_none=True, metadata={"description": "when it was accepted"})
    term = fields.Nested(TermSchema, allow_none=True)


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    name = fields.String(metadata={"description": "display name"})
    role = fields.String()
    scope = fields.Nested(ScopeOut)
    unit = fields.Nested(PlaceRef, allow_none=True)
    community = fields.Nested(PlaceRef, allow_none=True, metadata={
        "description": "staff: their community; members: where they are registered (their active registration's)"})
    registration = fields.Nested(RegistrationSummarySchema, allow_none=True, metadata={
        "description": "members: their live (applied or active) registration; null when unregistered or not a member"})
    email = fields.String(allow_none=True, metadata={"description": "where e-mail notifications go (set by an "
                                                                    "administrator); null: none"})


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String(metadata={"description": "always Bearer"})
    expires_in = fields.Integer(metadata={"description": "seconds"})


class DefinitionRef(Schema):
    name = fields.String()
    version = fields.Integer()


class TaskSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    category = fields.String()
    community = fields.Nested(PlaceRef)
    town = fields.Nested(PlaceRef)
    grid = fields.Nested(GridRef, allow_none=True)
    address = fields.String(metadata={"description": "public meeting point or area"})
    capacity = fields.Integer()
    slots_taken = fields.Integer(metadata={"description": "live claims"})
    free_slots = fields.Integer()
    points = fields.Integer()
    deadline = UTCDateTime()
    activity_at = UTCDateTime(allow_none=True, metadata={"description": "when the activity takes place, if set"})
    status = fields.String()
    project_id = fields.Integer(allow_none=True, metadata={"description": "the project (of the same community) it "
                                                                          "belongs to, if any"})
    version = fields.Integer()
    etag = fields.String()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    definition = fields.Nested(DefinitionRef, metadata={"description": "the task process it runs under"})
    allowed_triggers = fields.List(fields.String(), metadata={
        "description": "the task triggers the caller may fire now (POST /tasks/{id}/<trigger>)"})
    actions = fields.List(fields.String(), metadata={"description": "the same as allowed_triggers (older name)"})


class ErasedSchema(Schema):
    fields_ = fields.List(fields.String(), attribute="fields", data_key="fields", metadata={
        "description": "the fields whose text was erased (they are null now)"})
    at = UTCDateTime(allow_none=True, metadata={"description": "when the retention run erased them"})
    notice = fields.String(metadata={"description": "always \"erased under the retention rules\" (已按保存期限删除)"})


ERASED_DESCRIPTION = ("null, or which personal texts the retention run erased and when (docs/privacy.md); "
                      "erased fields are null")


class TaskDetailSchema(TaskSchema):
    household_note = fields.String(allow_none=True, metadata={
        "description": "personal data: only for the claimant while the claim is live, the community's staff and "
                       "admins (every read logged); null for everyone else"})
    household_note_erased = fields.Nested(ErasedSchema, allow_none=True, metadata={
        "description": "for those who may read the note: when the retention run erased it (90 days after the "
                       "task ended, by default); else null"})


class TaskRef(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String()
    community = fields.Nested(PlaceRef)
    deadline = UTCDateTime()


class VisitSchema(Schema):
    id = fields.Integer()
    visited_at = UTCDateTime()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    note = fields.String(allow_none=True, metadata={"description": "null once erased"})
    photos = fields.List(fields.Integer(), metadata={"description": "upload ids"})
    created_at = UTCDateTime()
    erased = fields.Nested(ErasedSchema, allow_none=True, metadata={"description": ERASED_DESCRIPTION})


class ReportSchema(Schema):
    id = fields.Integer()
    summary = fields.String(allow_none=True, metadata={"description": "null once erased"})
    hours = fields.Float()
    households = fields.Integer()
    photos = fields.List(fields.Integer(), metadata={"description": "upload ids"})
    created_at = UTCDateTime()
    erased = fields.Nested(ErasedSchema, allow_none=True, metadata={"description": ERASED_DESCRIPTION})


class ClaimSchema(Schema):
    id = fields.Integer()
    task_id = fields.Integer()
    task = fields.Nested(TaskRef)
    member = fields.Nested(PersonRef)
    unit = fields.Nested(PlaceRef, allow_none=True)
    state = fields.String()
    state_label = fields.String()
    final = fields.Boolean()
    version = fields.Integer()
    etag = fields.String()
    definition = fields.Nested(DefinitionRef)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    last_reason = fields.String(allow_none=True, metadata={"description": "staff's latest return/reject reason"})
    erased = fields.Nested(ErasedSchema, allow_none=True, metadata={"description": ERASED_DESCRIPTION})
    allowed_triggers = fields.List(fields.String(), metadata={"description": "what the caller may fire now"})


class ClaimDetailSchema(ClaimSchema):
    visits = fields.List(fields.Nested(VisitSchema))
    reports = fields.List(fields.Nested(ReportSchema))


class ClaimReadSchema(ClaimDetailSchema):
    household_note = fields.String(allow_none=True, metadata={
        "description": "the task's household note, for the claimant while live, the task's staff and admins"})


class UnitIdRef(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class RegistrationSchema(Schema):
    id = fields.Integer()
    member = fields.Nested(PersonRef)
    unit = fields.Nested(UnitIdRef, allow_none=True, metadata={"description": "the member's unit"})
    community = fields.Nested(CommunityRef)
    town = fields.Nested(PlaceRef)
    grid = fields.Nested(GridRef, allow_none=True)
    state = fields.String()
    state_label = fields.String()
    final = fields.Boolean()
    skills = fields.String(metadata={"description": "服务特长, as the member wrote it"})
    availability = fields.String(metadata={"description": "when the member can serve"})
    households = fields.Integer(allow_none=True)
    accepted_by = fields.Nested(PersonRef, allow_none=True, metadata={"description": "null: the system"})
    accepted_at = UTCDateTime(allow_none=True)
    term = fields.Nested(TermSchema, allow_none=True)
    last_reason = fields.String(allow_none=True, metadata={"description": "a decline's reason, an end's reason"})
    version = fields.Integer()
    etag = fields.String()
    definition = fields.Nested(DefinitionRef)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    allowed_triggers = fields.List(fields.String(), metadata={"description": "what the caller may fire now"})


class PairingSchema(Schema):
    id = fields.Integer()
    unit = fields.Nested(UnitIdRef)
    community = fields.Nested(CommunityRef)
    town = fields.Nested(PlaceRef)
    state = fields.String()
    state_label = fields.String()
    final = fields.Boolean()
    agreement = fields.String(metadata={"description": "共建内容: what the two sides agree to do"})
    ends_on = Day(metadata={"description": "the last day of the term (Beijing calendar)"})
    term_ends_at = UTCDateTime(metadata={"description": "when the term is over: 00:00 Beijing time the next day"})
    proposed_by = fields.Nested(PersonRef, allow_none=True)
    accepted_by = fields.Nested(PersonRef, allow_none=True)
    accepted_at = UTCDateTime(allow_none=True)
    last_reason = fields.String(allow_none=True, metadata={"description": "a decline's or an end's reason"})
    version = fields.Integer()
    etag = fields.String()
    definition = fields.Nested(DefinitionRef)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    allowed_triggers = fields.List(fields.String(), metadata={"description": "what the caller may fire now"})


class ProjectSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    category = fields.String()
    expected_outcome = fields.String()
    community = fields.Nested(CommunityRef)
    town = fields.Nested(PlaceRef)
    starts_on = Day()
    ends_on = Day()
    deadline = UTCDateTime(metadata={"description": "when the last day is over: 00:00 Beijing time the next day"})
    state = fields.String()
    state_label = fields.String()
    final = fields.Boolean()
    unit = fields.Nested(UnitIdRef, allow_none=True, metadata={"description": "the unit that took it on"})
    pairing_id = fields.Integer(allow_none=True, metadata={"description": "the pairing it was taken under"})
    taken_at = UTCDateTime(allow_none=True)
    member_count = fields.Integer(allow_none=True, metadata={"description": "members who took part (reported)"})
    hours = fields.Float(allow_none=True, metadata={"description": "hours in total (reported)"})
    reported_at = UTCDateTime(allow_none=True)
    done_at = UTCDateTime(allow_none=True)
    last_reason = fields.String(allow_none=True, metadata={"description": "a return's or a cancel's reason"})
    version = fields.Integer()
    etag = fields.String()
    definition = fields.Nested(DefinitionRef)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    allowed_triggers = fields.List(fields.String(), metadata={"description": "what the caller may fire now"})


class ProjectReportSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "progress | completion"})
    text = fields.String(metadata={"description": "what was done (progress) or the summary (completion)"})
    members = fields.String(allow_none=True, metadata={"description": "completion: the members who took part"})
    member_count = fields.Integer(allow_none=True)
    hours = fields.Float(allow_none=True)
    photos = fields.List(fields.Integer(), metadata={"description": "upload ids (GET /uploads/{id})"})
    author = fields.Nested(PersonRef, allow_none=True)
    created_at = UTCDateTime()
    erased = fields.Nested(ErasedSchema, allow_none=True, metadata={
        "description": "text and members erased under the retention rules (null: nothing erased)"})


class LinkedTaskSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String()
    capacity = fields.Integer()
    slots_taken = fields.Integer()
    verified_claims = fields.Integer()
    deadline = UTCDateTime()


class ProjectDetailSchema(ProjectSchema):
    reports = fields.List(fields.Nested(ProjectReportSchema), metadata={"description": "progress and completion "
                                                                                        "reports, oldest first"})
    tasks = fields.List(fields.Nested(LinkedTaskSchema), metadata={"description": "the community's tasks that "
                                                                                  "belong to it, with progress"})


class ResourceSchema(Schema):
    id = fields.Integer()
    unit_id = fields.Integer()
    title = fields.String()
    category = fields.String()
    description = fields.String()
    frequency = fields.String(metadata={"description": "how often it can be offered"})
    contact = fields.String(allow_none=True, metadata={
        "description": "whom to call: null unless the caller is the unit, staff of a paired community or an admin"})
    retired = fields.Boolean()
    retired_at = UTCDateTime(allow_none=True)
    version = fields.Integer()
    etag = fields.String()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class GridSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    members = fields.Integer(metadata={"description": "members registered in it (active)"})


class GridInputSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={"title": "网格名称",
                         "description": "Grid name, e.g. 第一网格"})


class CommunitySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    short_name = fields.String()
    town = fields.Nested(PlaceRef)


class ReceiptMemberSchema(Schema):
    user_id = fields.Integer()
    name = fields.String()
    registration = fields.Nested(RegistrationSummarySchema, allow_none=True, metadata={
        "description": "the live registration; null: not registered (未报到)"})
    verified_claims = fields.Integer(metadata={"description": "verified claims this year credited to the unit"})
    hours = fields.Float(metadata={"description": "their hours"})


class Prepared(fields.List):
    """A list the view has already made into JSON values, exactly as its items' schema dumps them
    (`receipt_member` below: the receipt's thousands of members, where marshmallow's field-by-field dump
    was most of the answer's time). Described in OpenAPI by the items' schema; tested equal to its dump."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value


def receipt_member(line) -> dict:
    """One line of the receipt report as ReceiptMemberSchema dumps it: the registration's summary
    (registration_views.summary) with its times as text."""
    registration = summary(line.registration)
    if registration is not None:
        registration["since"] = iso(registration["since"])
        if registration["term"] is not None:
            registration["term"] = {**registration["term"], "ends_at": iso(registration["term"]["ends_at"])}
    return {"user_id": line.user_id, "name": line.name, "registration": registration,
            "verified_claims": int(line.verified_claims), "hours": float(line.hours)}


class ReceiptSchema(Schema):
    unit = fields.Nested(UnitIdRef)
    year = fields.Integer()
    members = Prepared(fields.Nested(ReceiptMemberSchema), metadata={
        "description": "every active member account of the unit: the unregistered first, then by name"})
    unregistered = fields.Integer(metadata={"description": "members with no live registration (未报到)"})
    registered = fields.Integer(metadata={"description": "members with an active registration"})


class FeedbackRegistrationSchema(Schema):
    members = fields.Integer()
    registered = fields.Integer(metadata={"description": "registered at the end of the month (now, this month)"})
    unregistered = fields.Integer()
    rate = fields.Float(allow_none=True)
    accepted = fields.Integer(metadata={"description": "registrations accepted in the month"})
    left = fields.Integer(metadata={"description": "registrations that ended or lapsed in the month"})
    unregistered_names = fields.List(fields.String(), metadata={"description": "not registered now, by name"})


class HouseholdNoteSchema(Schema):
    claim_id = fields.Integer()
    task_id = fields.Integer()
    household_note = fields.String(metadata={"description": "personal data: the whole note, phone numbers shown"})


class ActorRef(Schema):
    id = fields.Integer(allow_none=True)
    name = fields.String()
    role = fields.String()


class EventSchema(Schema):
    id = fields.Integer()
    seq = fields.Integer()
    trigger = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    actor = fields.Nested(ActorRef)
    created_at = UTCDateTime()
    input = fields.Dict(metadata={"description": "the validated input; personal fields (kept apart from the hash "
                                                  "as digests) with their values, null once erased"})
    erased = fields.Nested(ErasedSchema, allow_none=True, metadata={"description": ERASED_DESCRIPTION})
    request_id = fields.String(allow_none=True)
    definition = fields.String(allow_none=True)
    hash = fields.String()
    prev_hash = fields.String(allow_none=True)


class ProblemSchema(Schema):
    subject = fields.String()
    seq = fields.Integer(allow_none=True)
    event_id = fields.Integer(allow_none=True)
    what = fields.String()


class VerifySchema(Schema):
    ok = fields.Boolean()
    checked = fields.Integer(metadata={"description": "events checked"})
    subjects = fields.Integer()
    head = fields.String(allow_none=True, metadata={"description": "the last hash seen (one subject: its head)"})
    personal = fields.Integer(metadata={"description": "personal fields (kept apart as digests) whose stored value "
                                                       "matches its digest"})
    erased = fields.Integer(metadata={"description": "personal fields erased under the retention rules (erasure "
                                                     "recorded): not a problem"})
    first_bad = fields.Nested(ProblemSchema, allow_none=True)


class UploadSchema(Schema):
    id = fields.Integer()
    sha256 = fields.String()
    content_type = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    size = fields.Integer()
    created_at = UTCDateTime()


class UploadFormSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class PointsEntrySchema(Schema):
    id = fields.Integer()
    claim_id = fields.Integer(allow_none=True)
    points = fields.Integer()
    kind = fields.String(metadata={"description": "award | reversal"})
    reverses_id = fields.Integer(allow_none=True)
    note = fields.String()
    created_at = UTCDateTime()


class PointsSchema(Schema):
    total = fields.Integer()
    entries = fields.List(fields.Nested(PointsEntrySchema))


class UnitRef(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class MemberMonthSchema(Schema):
    member_id = fields.Integer()
    name = fields.String()
    verified_claims = fields.Integer()
    hours = fields.Float()
    households = fields.Integer()
    points = fields.Integer()


class FeedbackSchema(Schema):
    unit = fields.Nested(UnitRef)
    month = fields.String()
    verified_claims = fields.Integer()
    hours = fields.Float()
    points = fields.Integer()
    members = fields.List(fields.Nested(MemberMonthSchema), metadata={"description": "alphabetical; not a ranking"})
    registration = fields.Nested(FeedbackRegistrationSchema, metadata={
        "description": "how the unit's members stand with their communities (报到)"})


class WorkflowSummarySchema(Schema):
    name = fields.String()
    version = fields.Integer()
    subject = fields.String(metadata={"description": "task | claim | registration | pairing | project"})
    title = fields.String()
    title_en = fields.String()
    active = fields.Boolean(metadata={"description": "new instances of its process start under this version"})


class StateSchema(Schema):
    name = fields.String()
    label = fields.String()
    label_en = fields.String()
    final = fields.Boolean()


class CallSchema(Schema):
    name = fields.String()
    params = fields.Dict()


class ChoiceSchema(Schema):
    value = fields.String()
    label = fields.String()
    label_en = fields.String()


class InputFieldSchema(Schema):
    name = fields.String()
    type = fields.String()
    required = fields.Boolean()
    required_for_categories = fields.List(fields.String())
    label = fields.String()
    label_en = fields.String()
    help = fields.String()
    help_en = fields.String()
    widget = fields.String(allow_none=True, metadata={"description": "line | textarea | select | radio | location"})
    personal = fields.Boolean(metadata={"description": "personal data: hashed in the audit chain as a digest, the "
                                                       "value kept apart and erased when its retention ends"})
    choices = fields.List(fields.Nested(ChoiceSchema))
    ref = fields.String(allow_none=True, metadata={"description": "a ref field: what it picks (grid | community)"})


class TriggerSchema(Schema):
    name = fields.String()
    label = fields.String()
    label_en = fields.String()
    sources = fields.List(fields.String(), data_key="from")
    dest = fields.String(data_key="to")
    roles = fields.List(fields.String())
    guards = fields.List(fields.Nested(CallSchema))
    effects = fields.List(fields.Nested(CallSchema))
    internal = fields.Boolean()
    style = fields.String(metadata={"description": "primary | secondary | danger"})
    confirm = fields.String(metadata={"description": "asked before it acts (empty: no question)"})
    confirm_en = fields.String()
    fields_ = fields.List(fields.Nested(InputFieldSchema), data_key="fields")
    input_schema = fields.Dict(metadata={"description": "JSON Schema of the trigger's input"})
    notify = fields.List(fields.Nested(lambda: NotifySchema()),
                         metadata={"description": "who is told once it has fired"})


class NotifySchema(Schema):
    kind = fields.String(metadata={"description": "a notification kind"})
    to = fields.List(fields.String(), metadata={"description": "recipients: relations to the subject"})


class TimerSchema(Schema):
    name = fields.String()
    states = fields.List(fields.String(), metadata={"description": "the states it watches"})
    due = fields.String(metadata={"description": "an anchor ± an amount, e.g. 'deadline - 24h', 'entered + 3d'"})
    fire = fields.String(allow_none=True, metadata={"description": "the trigger it fires (null: none)"})
    notify = fields.List(fields.Nested(NotifySchema))


class WorkflowSchema(WorkflowSummarySchema):
    initial = fields.String()
    states = fields.List(fields.Nested(StateSchema))
    triggers = fields.List(fields.Nested(TriggerSchema))
    timers = fields.List(fields.Nested(TimerSchema), metadata={"description": "what happens as time passes"})
    mermaid = fields.String(metadata={"description": "Mermaid stateDiagram-v2 text"})


# -- a person's own data (GET /me/export; workflow/services/personal_data.py) ---------------------

class TownedPlaceRef(PlaceRef):
    town = fields.Nested(PlaceRef)


class AccountOut(Schema):
    id = fields.Integer()
    username = fields.String()
    name = fields.String()
    role = fields.String()
    active = fields.Boolean()
    created_at = UTCDateTime()
    unit = fields.Nested(PlaceRef, allow_none=True)
    community = fields.Nested(TownedPlaceRef, allow_none=True, metadata={"description": "where a member is "
                                                                                        "registered; staff's own"})
    supervisor_scope = fields.String(allow_none=True, metadata={"description": "district, town:<code> or unit:<code>"})
    email = fields.String(allow_none=True, metadata={"description": "where e-mail notifications go"})
    password = fields.String(metadata={"description": "how it is kept (a one-way hash); never the password"})


class ExportTaskRef(Schema):
    id = fields.Integer()
    title = fields.String()
    category = fields.String()
    community = fields.Nested(PlaceRef)
    address = fields.String()
    deadline = UTCDateTime()
    points = fields.Integer()


class ExportEvent(Schema):
    seq = fields.Integer()
    trigger = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    actor = fields.Nested(ActorRef)
    created_at = UTCDateTime()
    input = fields.Dict(metadata={"description": "personal fields with their values; null once erased"})
    erased = fields.Nested(ErasedSchema, allow_none=True)
    request_id = fields.String(allow_none=True)
    hash = fields.String()


class ExportClaim(Schema):
    id = fields.Integer()
    state = fields.String()
    definition = fields.String(metadata={"description": "name@version"})
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    unit = fields.Nested(PlaceRef, allow_none=True)
    last_reason = fields.String(allow_none=True)
    erased = fields.Nested(ErasedSchema, allow_none=True)
    task = fields.Nested(ExportTaskRef)
    visits = fields.List(fields.Nested(VisitSchema))
    reports = fields.List(fields.Nested(ReportSchema))
    events = fields.List(fields.Nested(ExportEvent), metadata={"description": "the claim's whole timeline"})


class ExportFeedback(Schema):
    claim_id = fields.Integer()
    unit = fields.Nested(PlaceRef, allow_none=True)
    month = fields.String()
    hours = fields.Float()
    households = fields.Integer()
    points = fields.Integer()
    created_at = UTCDateTime()


class ExportUpload(Schema):
    id = fields.Integer()
    sha256 = fields.String()
    content_type = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    size = fields.Integer()
    created_at = UTCDateTime()
    claim_id = fields.Integer(allow_none=True)
    project_id = fields.Integer(allow_none=True, metadata={"description": "a project's report that used it"})
    erased_at = UTCDateTime(allow_none=True)
    url = fields.String(allow_none=True, metadata={"description": "GET it with your token (null once erased)"})
    page_url = fields.String(allow_none=True, metadata={"description": "the same, for a logged-in page session"})


class ExportNoteRead(Schema):
    task_id = fields.Integer()
    task_title = fields.String()
    read_at = UTCDateTime()
    role = fields.String()
    purpose = fields.String()
    request_id = fields.String(allow_none=True)


class ExportAction(Schema):
    event_id = fields.Integer()
    subject = fields.String(metadata={"description": "claim:<id>, task:<id>, …"})
    seq = fields.Integer()
    trigger = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    created_at = UTCDateTime()
    request_id = fields.String(allow_none=True)


class ExportTask(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String()
    created_at = UTCDateTime()


class ExportSession(Schema):
    id = fields.Integer()
    created_at = UTCDateTime()
    expires_at = UTCDateTime()
    revoked_at = UTCDateTime(allow_none=True)
    last_used_at = UTCDateTime(allow_none=True)
    created_from = fields.String(allow_none=True, metadata={"description": "the client address that logged in"})


class ExportCertificate(Schema):
    code = fields.String()
    period_start = fields.String(metadata={"description": "YYYY-MM-DD"})
    period_end = fields.String(metadata={"description": "YYYY-MM-DD"})
    hours = fields.Float()
    services = fields.Integer()
    statement = fields.Dict(metadata={"description": "exactly what was signed"})
    issued_at = UTCDateTime()
    verify_url = fields.String(metadata={"description": "where anyone can check it"})


class ExportLogin(Schema):
    at = UTCDateTime()
    address = fields.String()
    channel = fields.String(metadata={"description": "page | api"})
    ok = fields.Boolean()


class ExportIdempotent(Schema):
    key = fields.String()
    status = fields.Integer()
    created_at = UTCDateTime()


class PersonRefOut(Schema):
    id = fields.Integer()
    username = fields.String()


class RetentionDaysOut(Schema):
    household_note = fields.Integer()
    records = fields.Integer()
    idempotent_answers = fields.Integer()


class PersonalDataSchema(Schema):
    format = fields.String(metadata={"description": "baodao-personal-data"})
    version = fields.Integer()
    generated_at = UTCDateTime()
    person = fields.Nested(PersonRefOut)
    privacy_notice = fields.String(metadata={"description": "the privacy notice's address"})
    retention_days = fields.Nested(RetentionDaysOut)
    sections = fields.List(fields.String(), metadata={"description": "the sections below, in order"})
    account = fields.Nested(AccountOut)
    claims = fields.List(fields.Nested(ExportClaim), metadata={"description": "your own claims (members)"})
    registrations = fields.List(fields.Dict(), metadata={
        "description": "your 报到 registrations with their timelines (community, grid, term, events)"})
    notifications = fields.Dict(metadata={
        "description": "what you were told (items: kind, subject, parameters, times) and your delivery choices"})
    points = fields.Nested(PointsSchema)
    unit_feedback = fields.List(fields.Nested(ExportFeedback))
    certificates = fields.List(fields.Nested(ExportCertificate), metadata={
        "description": "service-record certificates issued to you"})
    uploads = fields.List(fields.Nested(ExportUpload), metadata={"description": "the photos you uploaded"})
    household_note_reads = fields.List(fields.Nested(ExportNoteRead), metadata={
        "description": "each household note you opened"})
    actions = fields.List(fields.Nested(ExportAction), metadata={
        "description": "audit events you caused on others' subjects: what and when, without the input"})
    tasks_created = fields.List(fields.Nested(ExportTask))
    pairings = fields.List(fields.Dict(), metadata={
        "description": "liaisons: the pairings you proposed for your unit (community, agreement, term, state)"})
    project_reports = fields.List(fields.Dict(), metadata={
        "description": "liaisons: the progress and completion reports you wrote on your unit's projects"})
    resources = fields.List(fields.Dict(), metadata={
        "description": "liaisons: the lines you added to your unit's resource list, with their contact"})
    sessions = fields.List(fields.Nested(ExportSession))
    logins = fields.List(fields.Nested(ExportLogin), metadata={"description": "your account's login records"})
    idempotent_requests = fields.List(fields.Nested(ExportIdempotent))


class ErrorSchema(Schema):
    code = fields.Integer(metadata={"description": "HTTP status"})
    status = fields.String(metadata={"description": "HTTP status name"})
    message = fields.String(metadata={"description": "for people, in the language `Accept-Language` prefers "
                                                      "(Chinese by default, English for `en`); see `Content-Language`"})
    errors = fields.Dict(metadata={"description": "location (json, query, files, headers) → field → messages (in "
                                                  "the same language; the locations and field names never change)"})
    error = fields.String(metadata={"description": "stable machine code, e.g. transition_not_allowed (never "
                                                   "translated)"})
    request_id = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "409: the subject's current state"})
    allowed_triggers = fields.List(fields.String(), metadata={"description": "409: what the caller may fire"})
    reason = fields.String(allow_none=True, metadata={"description": "409: the guard that refused"})
    current_version = fields.Integer(metadata={"description": "412: the current version"})
    retry_after = fields.Integer(metadata={"description": "429: seconds"})
    limit = fields.Integer(metadata={"description": "429 household_read_limit: notes a member may open a day"})
