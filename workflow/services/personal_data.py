"""Everything Baodao holds about one person, as one JSON document: the right to see and copy
one's personal information (PIPL arts. 44–45). `GET /api/v1/me/export` and the "My data" page
(`/me/data`) serve the same document to any role, for the caller's own data only.

The document is made of sections, each one function that reads one kind of record about the
person and returns plain JSON values (times as ISO 8601 UTC text). Sections run in the order
they are declared. A table that holds data about people adds its part with one function:

    @section("notifications")
    def notifications(ctx):
        return [{"id": n.id, "kind": n.kind, "created_at": iso(n.created_at), ...}
                for n in ctx.session.scalars(select(Notification).where(Notification.user_id == ctx.user.id))]

and documents it in the API's `PersonalDataSchema` (api/v1/schemas.py) — docs/privacy.md says so.

What is not in it, and why:
- the password: stored only as a one-way scrypt hash, which is of no use to its owner and a
  risk in a file on a phone; the document says so;
- API tokens and sessions themselves (only their sha256 is stored): their times and the
  address each was opened from are in it;
- other people's personal data: another member's claims, a household's note (it is the
  household's, not the member's; a member reads it on the claim page while the claim is live),
  the words of events the person caused on others' subjects (staff's reasons on a member's
  claim are about that member: the member's own export has them). For those events the
  document lists what the person did and when, without the input.
Texts erased under the retention rules are null and named in `erased`, as everywhere.
"""
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select

from .. import runtime
from ..clock import iso, utcnow
from ..models import (ApiToken, AuditEvent, Certificate, Claim, HouseholdNoteRead, IdempotencyKey, LoginAttempt,
                      Notification, NotificationPreference, NotificationSettings, Pairing, PointsEntry, Project,
                      ProjectReport, Registration, Task, Unit, UnitFeedback, UnitResource, Upload)
from . import timeline
from .views import erased, place, report_view, visit_view

FORMAT = "baodao-personal-data"
VERSION = 1


@dataclass
class ExportContext:
    session: object
    user: object  # a workflow.models.User
    now: datetime


SECTIONS: dict[str, Callable[[ExportContext], object]] = {}


def section(name: str):
    """Register a section of the document under `name` (the key it appears under)."""
    def register(fn):
        SECTIONS[name] = fn
        return fn
    return register


def export(session, user, *, now: datetime | None = None) -> dict:
    """The person's document. Reads only; the caller is the person (never anyone else's data)."""
    ctx = ExportContext(session=session, user=user, now=now or utcnow())
    periods = runtime.current().policy.retention
    document = {
        "format": FORMAT, "version": VERSION, "generated_at": iso(ctx.now),
        "person": {"id": user.id, "username": user.username},
        "privacy_notice": "/privacy",
        "retention_days": {"household_note": periods.household_note_days, "records": periods.record_days,
                           "idempotent_answers": periods.idempotency_days},
        "sections": list(SECTIONS),
    }
    for name, collect in SECTIONS.items():
        document[name] = collect(ctx)
    return document


def _plain(value):
    """Times as ISO text, recursively: the document is JSON as it is, for the API and the page alike."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# -- the sections ---------------------------------------------------------------------------------

@section("account")
def account(ctx: ExportContext) -> dict:
    u = ctx.user
    community = u.community
    return {
        "id": u.id, "username": u.username, "name": u.name, "role": u.role, "active": u.active,
        "created_at": iso(u.created_at), "unit": place(u.unit),
        "community": None if community is None else {**place(community), "town": place(community.town)},
        "supervisor_scope": u.scope_label or None, "email": u.email,
        "password": "stored only as a one-way scrypt hash; not exported",
    }


@section("claims")
def claims(ctx: ExportContext) -> list[dict]:
    """The person's own claims (members), with their visits, reports and whole timelines."""
    rows = ctx.session.scalars(select(Claim).where(Claim.member_id == ctx.user.id).order_by(Claim.id)).all()
    out = []
    for c in rows:
        task = c.task
        out.append(_plain({
            "id": c.id, "state": c.state, "definition": f"{c.definition_name}@{c.definition_version}",
            "created_at": c.created_at, "updated_at": c.updated_at,
            "unit": place(c.unit), "last_reason": None if c.erased_at else c.last_reason,
            "erased": erased(["last_reason"], c.erased_at),
            "task": {"id": task.id, "title": task.title, "category": task.category,
                     "community": place(task.community), "address": task.address, "deadline": task.deadline,
                     "points": task.points},
            "visits": [visit_view(v) for v in c.visits],
            "reports": [report_view(r) for r in c.reports],
            "events": [_event(e) for e in timeline.events(ctx.session, "claim", c.id, ctx.user)],
        }))
    return out


def _event(e: dict) -> dict:
    out = {k: e[k] for k in ("seq", "trigger", "from_state", "to_state", "actor", "created_at", "input", "erased",
                             "request_id", "hash")}
    if out["actor"]["name"] is None:  # scheduled work
        out["actor"] = {**out["actor"], "name": "system"}
    return out


@section("registrations")
def registrations(ctx: ExportContext) -> list[dict]:
    """The person's 报到: every registration they applied for, with its whole timeline."""
    rows = ctx.session.scalars(select(Registration).where(Registration.member_id == ctx.user.id)
                               .order_by(Registration.id)).all()
    return [_plain({
        "id": r.id, "state": r.state, "definition": f"{r.definition_name}@{r.definition_version}",
        "community": place(r.community), "grid": r.grid.name if r.grid else None, "skills": r.skills,
        "availability": r.availability, "households": r.households, "accepted_at": r.accepted_at,
        "term_year": r.term_year, "term_ends_at": r.term_ends_at, "last_reason": r.last_reason,
        "created_at": r.created_at, "updated_at": r.updated_at,
        "events": [_event(e) for e in timeline.events(ctx.session, "registration", r.id, ctx.user)],
    }) for r in rows]


@section("notifications")
def notifications(ctx: ExportContext) -> dict:
    """What the person was told (kind, about what, its parameters) and how they chose to be told."""
    rows = ctx.session.scalars(select(Notification).where(Notification.user_id == ctx.user.id)
                               .order_by(Notification.id)).all()
    settings = ctx.session.get(NotificationSettings, ctx.user.id)
    preferences = ctx.session.scalars(select(NotificationPreference)
                                      .where(NotificationPreference.user_id == ctx.user.id)).all()
    return _plain({
        "items": [{"id": n.id, "kind": n.kind, "subject_type": n.subject_type, "subject_id": n.subject_id,
                   "params": n.params or {}, "created_at": n.created_at, "read_at": n.read_at} for n in rows],
        "preferences": {p.kind: p.mode for p in preferences},
        "settings": None if settings is None else {
            c.key: getattr(settings, c.key) for c in NotificationSettings.__table__.columns if c.key != "user_id"},
    })


@section("points")
def points(ctx: ExportContext) -> dict:
    entries = ctx.session.scalars(select(PointsEntry).where(PointsEntry.member_id == ctx.user.id)
                                  .order_by(PointsEntry.id)).all()
    return {"total": sum(e.points for e in entries), "entries": [
        {"id": e.id, "claim_id": e.claim_id, "points": e.points, "kind": e.kind, "reverses_id": e.reverses_id,
         "note": e.note, "created_at": iso(e.created_at)} for e in entries]}


@section("unit_feedback")
def unit_feedback(ctx: ExportContext) -> list[dict]:
    """What the person's home unit received about their verified work."""
    rows = ctx.session.execute(select(UnitFeedback, Unit).outerjoin(Unit, Unit.id == UnitFeedback.unit_id)
                               .where(UnitFeedback.member_id == ctx.user.id).order_by(UnitFeedback.id)).all()
    return [{"claim_id": f.claim_id, "unit": place(unit), "month": f.month, "hours": f.hours,
             "households": f.households, "points": f.points, "created_at": iso(f.created_at)} for f, unit in rows]


@section("certificates")
def certificates(ctx: ExportContext) -> list[dict]:
    """Service-record certificates issued to the person: what each states, as it was signed."""
    rows = ctx.session.scalars(select(Certificate).where(Certificate.member_id == ctx.user.id)
                               .order_by(Certificate.id)).all()
    return [{"code": c.code, "period_start": c.period_start.isoformat(), "period_end": c.period_end.isoformat(),
             "hours": c.hours, "services": c.services, "statement": c.statement, "issued_at": iso(c.issued_at),
             "verify_url": f"/verify/{c.code}"} for c in rows]


@section("uploads")
def uploads(ctx: ExportContext) -> list[dict]:
    """The photos the person uploaded; each downloadable at `url` (with a token) or `page_url`
    (logged in) while it is kept."""
    rows = ctx.session.scalars(select(Upload).where(Upload.uploader_id == ctx.user.id).order_by(Upload.id)).all()
    return [{"id": u.id, "sha256": u.sha256, "content_type": u.content_type, "width": u.width, "height": u.height,
             "size": u.size, "created_at": iso(u.created_at), "claim_id": u.claim_id, "project_id": u.project_id,
             "erased_at": iso(u.erased_at) if u.erased_at else None,
             "url": None if u.erased_at else f"/api/v1/uploads/{u.id}",
             "page_url": None if u.erased_at else f"/uploads/{u.id}"} for u in rows]


@section("household_note_reads")
def household_note_reads(ctx: ExportContext) -> list[dict]:
    """Each time the person opened a household's note (the log every read writes)."""
    rows = ctx.session.execute(select(HouseholdNoteRead, Task.title).join(Task, Task.id == HouseholdNoteRead.task_id)
                               .where(HouseholdNoteRead.user_id == ctx.user.id)
                               .order_by(HouseholdNoteRead.id)).all()
    return [{"task_id": r.task_id, "task_title": title, "read_at": iso(r.read_at), "role": r.role,
             "purpose": r.purpose, "request_id": r.request_id} for r, title in rows]


@section("actions")
def actions(ctx: ExportContext) -> list[dict]:
    """Audit events the person caused on subjects that are not their own (a task filling up when
    they claimed, staff's decisions on members' claims): what and when, without the input —
    those words are about the subject's owner, whose export has them."""
    own = and_(AuditEvent.subject_type == "claim",
               AuditEvent.subject_id.in_(select(Claim.id).where(Claim.member_id == ctx.user.id)))
    rows = ctx.session.execute(
        select(AuditEvent.id, AuditEvent.subject_type, AuditEvent.subject_id, AuditEvent.seq, AuditEvent.trigger,
               AuditEvent.from_state, AuditEvent.to_state, AuditEvent.created_at, AuditEvent.request_id)
        .where(AuditEvent.actor_id == ctx.user.id, ~own).order_by(AuditEvent.id)).all()
    return [{"event_id": r.id, "subject": f"{r.subject_type}:{r.subject_id}", "seq": r.seq, "trigger": r.trigger,
             "from_state": r.from_state, "to_state": r.to_state, "created_at": iso(r.created_at),
             "request_id": r.request_id} for r in rows]


@section("tasks_created")
def tasks_created(ctx: ExportContext) -> list[dict]:
    rows = ctx.session.execute(select(Task.id, Task.title, Task.status, Task.created_at)
                               .where(Task.created_by_id == ctx.user.id).order_by(Task.id)).all()
    return [{"id": r.id, "title": r.title, "status": r.status, "created_at": iso(r.created_at)} for r in rows]


# -- what a liaison did for their unit: the unit's data, in so far as it is the person's ------------------
# A pairing or a project is the unit's, not the person's; what the person did on them is listed
# in `actions` (what and when). What they themselves wrote or proposed is theirs: the pairings
# they proposed, the reports they wrote, the resource lines they added (a contact is often their
# own phone number).

@section("pairings")
def pairings(ctx: ExportContext) -> list[dict]:
    """The pairings the person proposed (a liaison, for their unit; an admin, for a unit)."""
    rows = ctx.session.scalars(select(Pairing).where(Pairing.proposed_by_id == ctx.user.id).order_by(Pairing.id)).all()
    return [_plain({"id": p.id, "unit": place(p.unit), "community": place(p.community), "agreement": p.agreement,
                    "ends_on": p.ends_on.isoformat(), "state": p.state, "created_at": p.created_at,
                    "accepted_at": p.accepted_at, "last_reason": p.last_reason}) for p in rows]


@section("project_reports")
def project_reports(ctx: ExportContext) -> list[dict]:
    """The progress and completion reports the person wrote, with the project they are about."""
    rows = ctx.session.execute(select(ProjectReport, Project.title, Project.state)
                               .join(Project, Project.id == ProjectReport.project_id)
                               .where(ProjectReport.author_id == ctx.user.id).order_by(ProjectReport.id)).all()
    return [_plain({"id": r.id, "project": {"id": r.project_id, "title": title, "state": state}, "kind": r.kind,
                    "text": r.text, "members": r.members or None, "member_count": r.member_count, "hours": r.hours,
                    "photos": list(r.photo_ids or []), "created_at": r.created_at}) for r, title, state in rows]


@section("resources")
def resources(ctx: ExportContext) -> list[dict]:
    """The lines the person added to their unit's resource list, as they stand now."""
    rows = ctx.session.scalars(select(UnitResource).where(UnitResource.created_by_id == ctx.user.id)
                               .order_by(UnitResource.id)).all()
    return [_plain({"id": r.id, "unit_id": r.unit_id, "title": r.title, "category": r.category,
                    "description": r.description, "frequency": r.frequency, "contact": r.contact,
                    "retired_at": r.retired_at, "created_at": r.created_at, "updated_at": r.updated_at})
            for r in rows]


@section("sessions")
def sessions(ctx: ExportContext) -> list[dict]:
    """API tokens (and page sessions, where they are kept as tokens): when, until when, from where.
    The token itself is never stored, only its sha256."""
    rows = ctx.session.scalars(select(ApiToken).where(ApiToken.user_id == ctx.user.id).order_by(ApiToken.id)).all()
    return [{"id": t.id, "created_at": iso(t.created_at), "expires_at": iso(t.expires_at),
             "revoked_at": iso(t.revoked_at) if t.revoked_at else None,
             "last_used_at": iso(t.last_used_at) if t.last_used_at else None, "created_from": t.created_from}
            for t in rows]


@section("logins")
def logins(ctx: ExportContext) -> list[dict]:
    """The login records of the account (kept for the security log's retention period): when, from
    which address, page or API, whether it succeeded. Attempts under a name that is not the
    account's are not the person's and are not here."""
    rows = ctx.session.scalars(select(LoginAttempt).where(LoginAttempt.user_id == ctx.user.id)
                               .order_by(LoginAttempt.id)).all()
    return [{"at": iso(a.at), "address": a.address, "channel": a.channel, "ok": a.ok} for a in rows]


@section("idempotent_requests")
def idempotent_requests(ctx: ExportContext) -> list[dict]:
    """Requests the person sent with an Idempotency-Key, kept for retries (30 days by default)."""
    rows = ctx.session.execute(select(IdempotencyKey.key, IdempotencyKey.status_code, IdempotencyKey.created_at)
                               .where(IdempotencyKey.user_id == ctx.user.id).order_by(IdempotencyKey.id)).all()
    return [{"key": r.key, "status": r.status_code, "created_at": iso(r.created_at)} for r in rows]


def as_file(document: dict) -> tuple[str, str]:
    """The document as a downloadable file: its name and its JSON text (the API and the page alike)."""
    name = f"baodao-personal-data-{document['person']['id']}-{document['generated_at'][:10]}.json"
    return name, json.dumps(document, ensure_ascii=False, indent=1)


def summary(document: dict) -> dict[str, int]:
    """How many records each list section holds (for the page)."""
    counts = {}
    for name in document["sections"]:
        value = document[name]
        if isinstance(value, list):
            counts[name] = len(value)
        elif isinstance(value, dict) and isinstance(value.get("entries"), list):
            counts[name] = len(value["entries"])
    return counts
