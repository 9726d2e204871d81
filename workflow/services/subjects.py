"""Subject kinds: what the transitions service must know about each kind of row a
definition drives — how to find and lock one within the caller's scope, which definition
roles an actor holds towards it, what its category is, and how its answer looks.

The engine is the same for every kind (services/transitions.py); only this adapter
differs. A new process (registration, pairing, project) adds a kind here and a
definition file; routes and page forms follow from the definition.
"""
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm.attributes import set_committed_value

from datetime import timedelta

from ..clock import district_date, utcnow
from ..errors import DefinitionError, InvalidInput, NotFound
from ..models import (AuditEvent, Claim, Community, Grid, Pairing, Project, ProjectReport, Registration, Report, Task,
                      Unit, Upload, User)
from . import pairing_views, recipients, registration_views, scope, views
from .tx import lock_one


@dataclass
class Locked:
    """A subject row locked for this transaction, the related rows its guards and effects
    read, its chain head (the hash of its last audit event), and the ids drawn for the effects'
    rows (table name → id: `draws`)."""

    subject: Any
    related: dict = field(default_factory=dict)
    head_hash: str | None = None
    drawn: dict = field(default_factory=dict)


class SubjectKind:
    name: str = ""
    model: Any = None

    def pinned(self, row) -> tuple[str, int]:
        """The definition (name, version) the instance started under."""
        return (row.definition_name, row.definition_version)

    def state_of(self, row) -> str:
        return row.state

    def scope_filter(self, actor):
        raise NotImplementedError

    def lock(self, session, actor, ident: int, writes: set[str], draws: tuple[str, ...] = ()) -> Locked:
        """The subject locked (and the related rows `writes` names, locked first), or NotFound
        when the actor may not see it. `draws` names tables whose next id the effects would like
        drawn in the same statement (PostgreSQL; engine/effects.py): a kind may draw them
        (Locked.drawn) or not — an effect without its id inserts its row at once instead."""
        raise NotImplementedError

    def related(self, session, row) -> dict:
        """The related rows of an unlocked row, to compute allowed triggers for a reader."""
        return {}

    def relations(self, actor, row, related: dict) -> set[str]:
        raise NotImplementedError

    def category(self, row, related: dict) -> str | None:
        return None

    def check_input(self, session, trigger, actor, row, related, data) -> None:
        """Checks the schema cannot make: that named photos are the actor's own, say."""

    def prefill(self, session, trigger, row, related) -> dict:
        """Values a trigger's form starts from (field name → value), so a person never types
        again what the subject already holds: none by default."""
        return {}

    def view(self, session, row, related, definition, actor, allowed) -> dict:
        raise NotImplementedError

    def choices(self, session, row, related, field) -> list[tuple[int, str]]:
        """The rows a `ref` field may pick on this subject, as (id, words) in the order a page
        lists them: a registration's grids are its community's. A page form renders them as a
        select; `check_refs` refuses any other id. `row` is None for a creating trigger; then
        `related` may narrow the choice (a community picker's town)."""
        return []

    def allows(self, session, row, related, field, value: int) -> bool:
        """Whether `value` is one of the field's choices (a kind may answer with one query)."""
        return value in {ident for ident, _ in self.choices(session, row, related, field)}

    def check_refs(self, session, trigger, row, related, data) -> None:
        """Every `ref` field's id is one the subject allows; a field marked `required_if_any`
        is required whenever there is any choice (a grid, once the community has grids)."""
        errors = {}
        for spec in trigger.fields:
            if spec.ref is None:
                continue
            value = data.get(spec.name)
            if value is None:
                if spec.options.get("required_if_any") and self.choices(session, row, related, spec):
                    errors[spec.name] = ["Required: choose one of the options."]
            elif not self.allows(session, row, related, spec, value):
                errors[spec.name] = ["Not one of the options here."]
        if errors:
            raise InvalidInput(f"invalid input for {trigger.name}", errors=errors)


    # --- timers and notifications (services/timers.py, services/notifications.py) ---------

    def anchor(self, name: str):
        """A timer anchor as SQL: (column expression, [(model, on-clause), …] to join from the
        subject's table). `entered` — when the row entered its current state — is the time of its
        last transition (`updated_at`, which `transitions.step` sets) for every kind."""
        if name == "entered":
            return self.model.updated_at, []
        raise DefinitionError(self.name, f"a {self.name} has no timer anchor '{name}' in this service")

    def anchor_value(self, row, related: dict, name: str):
        """The same anchor, read from a locked row."""
        if name == "entered":
            return row.updated_at
        raise DefinitionError(self.name, f"a {self.name} has no timer anchor '{name}' in this service")

    def recipients(self, session, relation: str, row, related: dict) -> list[int]:
        """The ids of the active users who stand in `relation` (a definition's `notify: to`) to
        the row, e.g. the claimant, the community's staff, the supervisors over it."""
        return []

    def recipients_query(self, relation: str, row, related: dict):
        """The same people as (a SELECT of their ids in order, its parameters), when the kind can say
        so — a notification is then inserted from it in one statement (PostgreSQL); None otherwise."""
        return None


def chain_head(kind: str, model):
    """The hash of the subject's newest event, as a scalar subquery read with its lock: event n is
    the one that made the row version n."""
    return select(AuditEvent.hash).where(
        AuditEvent.subject_type == kind, AuditEvent.subject_id == model.id, AuditEvent.seq == model.version
    ).scalar_subquery()


def check_photos(session, trigger, actor, row_id, data, owner_column) -> None:
    """Photos named in the input must be the actor's own uploads, not used by another subject."""
    from ..errors import InvalidInput

    for spec in trigger.fields:
        if spec.type != "photos" or not data.get(spec.name):
            continue
        ids = data[spec.name]
        if len(set(ids)) != len(ids):
            raise InvalidInput("a photo is listed twice", errors={spec.name: ["Each photo once."]})
        found = session.execute(select(Upload.id, Upload.uploader_id, owner_column).where(Upload.id.in_(ids))).all()
        bad = sorted(set(ids) - {upload_id for upload_id, uploader, owner in found
                                 if uploader == actor.id and owner in (None, row_id)})
        if bad:
            raise InvalidInput("unknown photos", errors={spec.name: [f"Unknown upload id(s): {bad}."]})


def _lock_claim_with_task(shape, draws: tuple[str, ...] = ()):
    """Lock a claim (:claim_id) within the scope of an actor of this shape, reading its task, chain
    head, community, member and unit in the same query — and the next id of each table in `draws`
    (PostgreSQL: nextval of its sequence; only for a claim found in scope, so a 404 draws none)."""
    drawn = [func.nextval(func.pg_get_serial_sequence(table, "id")) for table in draws]
    return (select(Claim, Task, chain_head("claim", Claim), Community, User, Unit, *drawn)
            .join(Task, Task.id == Claim.task_id).join(Community, Community.id == Task.community_id)
            .join(User, User.id == Claim.member_id).outerjoin(Unit, Unit.id == Claim.unit_id)
            .where(Claim.id == bindparam("claim_id"), scope.claim_filter(shape)).with_for_update(of=Claim)
            .execution_options(populate_existing=True))


class ClaimKind(SubjectKind):
    name = "claim"
    model = Claim

    def scope_filter(self, actor):
        return scope.claim_filter(actor)

    def lock(self, session, actor, ident, writes, draws=()):
        """A trigger that changes the task locks the task first, then the claim (the lock order);
        any other locks only the claim, and reads the task with it in one query — drawing the ids
        `draws` names in it too (an approve's points entry). (A task cancel, which changes claims,
        takes each claim's lock after the task's, so it still waits.)"""
        head = chain_head("claim", Claim)
        drawn = {}
        if "task" not in writes:
            # With the claim's community, member and unit, which every answer about a claim shows.
            # (Built once per kind of actor and set of draws: scope.statement_for.)
            name = "lock_claim" + "".join(f"+{table}" for table in draws)
            row = session.execute(scope.statement_for(name, actor, lambda shape: _lock_claim_with_task(shape, draws)),
                                  {"claim_id": ident, **scope.shape_params(actor)}).first()
            if row is None:
                raise NotFound(f"claim {ident} not found")
            claim, task, head_hash, community, member, unit, *ids = row
            drawn = dict(zip(draws, ids))
            set_committed_value(task, "community", community)
            set_committed_value(claim, "member", member)
            set_committed_value(claim, "unit", unit)
            related = {"task": task, "member": member}  # the member as read with the lock: see recipients
        else:
            # Scope first, before any lock: what decides it (member, task) never changes on a claim.
            task_id = session.scalar(select(Claim.task_id).where(Claim.id == ident, scope.claim_filter(actor)))
            if task_id is None:
                raise NotFound(f"claim {ident} not found")
            task = lock_one(session, Task, task_id)
            claim, head_hash = session.execute(
                select(Claim, head).where(Claim.id == ident).with_for_update(of=Claim)
                .execution_options(populate_existing=True)
            ).one()
            related = {"task": task}
        # Objects loaded with populate_existing re-load their relations by SELECT; hand the
        # claim its task so readers of claim.task need no query.
        set_committed_value(claim, "task", task)
        return Locked(claim, related, head_hash, drawn)

    def related(self, session, row):
        return {"task": row.task}

    def relations(self, actor, row, related):
        relations = {actor.role} if actor.role in ("member", "admin", "system") else set()
        if actor.role == "member" and row.member_id == actor.id:
            relations.add("claimant")
        if scope.is_community_staff(actor, related["task"]):
            relations.add("community_staff")
        return relations

    def category(self, row, related):
        return related["task"].category

    def check_input(self, session, trigger, actor, row, related, data):
        check_photos(session, trigger, actor, row.id, data, Upload.claim_id)

    def prefill(self, session, trigger, row, related):
        """A trigger that records a report (submit_report in the shipped definitions) starts from
        the claim's last report when there is one: after a return the member corrects it rather
        than typing it again. Its photos stay attached (they are this claim's already)."""
        if not any(call.name == "record_report" for call in trigger.effects):
            return {}
        last = session.scalar(select(Report).where(Report.claim_id == row.id).order_by(Report.id.desc()).limit(1))
        if last is None:
            return {}
        values = {"summary": last.summary, "hours": last.hours, "households": last.households,
                  "photos": list(last.photo_ids or [])}
        return {spec.name: values[spec.name] for spec in trigger.fields if spec.name in values}

    def view(self, session, row, related, definition, actor, allowed):
        return views.claim_view(session, row, definition, allowed)

    def anchor(self, name):
        if name == "deadline":  # the task's deadline
            return Task.deadline, [(Task, Task.id == Claim.task_id)]
        return super().anchor(name)

    def anchor_value(self, row, related, name):
        if name == "deadline":
            return related["task"].deadline
        return super().anchor_value(row, related, name)

    def recipients(self, session, relation, row, related):
        if relation == "claimant":
            member = related.get("member")
            if member is not None and member.id == row.member_id:
                # Read by the claim's lock, in this transaction (lock), rather than by one more query:
                # a deactivation committed meanwhile (on PostgreSQL, while the lock waited) is missed as
                # it would be when committed just after such a query; SQLite's write lock is held.
                return [member.id] if member.active else []
            return recipients.active(session, [row.member_id])
        return recipients.around_community(session, relation, related["task"].community_id)

    def recipients_query(self, relation, row, related):
        return recipients.around_community_query(relation, related["task"].community_id)


class TaskKind(SubjectKind):
    name = "task"
    model = Task

    def state_of(self, row) -> str:
        return row.status

    def scope_filter(self, actor):
        return scope.task_filter(actor)

    def lock(self, session, actor, ident, writes, draws=()):
        head = chain_head("task", Task)
        row = session.execute(
            select(Task, head).where(Task.id == ident, scope.task_filter(actor)).with_for_update(of=Task)
            .execution_options(populate_existing=True)
        ).first()
        if row is None:
            raise NotFound(f"task {ident} not found")
        return Locked(row[0], {}, row[1])

    def relations(self, actor, row, related):
        relations = {actor.role} if actor.role in ("admin", "system") else set()
        if scope.is_community_staff(actor, row):
            relations.add("community_staff")
        return relations

    def category(self, row, related):
        return row.category

    def view(self, session, row, related, definition, actor, allowed):
        return views.task_view(row, actor, allowed)

    def anchor(self, name):
        if name == "deadline":
            return Task.deadline, []
        return super().anchor(name)

    def anchor_value(self, row, related, name):
        if name == "deadline":
            return row.deadline
        return super().anchor_value(row, related, name)

    def recipients(self, session, relation, row, related):
        return recipients.around_community(session, relation, row.community_id)


class RegistrationKind(SubjectKind):
    """A member's registration with a community (报到). Every trigger locks the member's own
    row first (FOR NO KEY UPDATE, as starting a claim does), then the registration: one
    member's registrations change one at a time (one live registration per member), and the
    member's community (users.community_id, kept in step by the effects) with them."""

    name = "registration"
    model = Registration

    def scope_filter(self, actor):
        return scope.registration_filter(actor)

    def lock(self, session, actor, ident, writes, draws=()):
        # Scope first, before any lock: who the member is and which community never change.
        member_id = session.scalar(select(Registration.member_id).where(
            Registration.id == ident, scope.registration_filter(actor)))
        if member_id is None:
            raise NotFound(f"registration {ident} not found")
        member = session.scalar(select(User).where(User.id == member_id).with_for_update(key_share=True)
                                .execution_options(populate_existing=True))
        registration, head_hash, community = session.execute(
            select(Registration, chain_head("registration", Registration), Community)
            .join(Community, Community.id == Registration.community_id)
            .where(Registration.id == ident).with_for_update(of=Registration)
            .execution_options(populate_existing=True)
        ).one()
        set_committed_value(registration, "member", member)
        set_committed_value(registration, "community", community)
        return Locked(registration, {"member": member, "community": community}, head_hash)

    def related(self, session, row):
        return {"member": row.member, "community": row.community}

    def relations(self, actor, row, related):
        relations = {actor.role} if actor.role in ("member", "admin", "system") else set()
        if actor.role == "member" and row.member_id == actor.id:
            relations.add("applicant")
        if scope.is_community_staff(actor, row):
            relations.add("community_staff")
        return relations

    def choices(self, session, row, related, field):
        if field.ref == "grid":
            community_id = row.community_id if row is not None else related.get("community_id")
            return [tuple(r) for r in session.execute(
                select(Grid.id, Grid.name).where(Grid.community_id == community_id).order_by(Grid.id))]
        if field.ref == "community":
            query = select(Community).order_by(Community.code)
            if related.get("town_id") is not None:
                query = query.where(Community.town_id == related["town_id"])
            return [(c.id, c.short_name) for c in session.scalars(query)]
        return []

    def allows(self, session, row, related, field, value):
        if field.ref == "community" and related.get("town_id") is None:  # any of the district's 861: one query
            return session.scalar(select(Community.id).where(Community.id == value)) is not None
        if field.ref == "grid" and row is not None:
            # FOR KEY SHARE: a grid being deleted (FOR UPDATE) waits for this placement, then sees
            # its member; one deleted first is not found here.
            return session.scalar(select(Grid.id).where(Grid.id == value, Grid.community_id == row.community_id)
                                  .with_for_update(read=True, key_share=True)) is not None
        return super().allows(session, row, related, field, value)

    def check_input(self, session, trigger, actor, row, related, data):
        self.check_refs(session, trigger, row, related, data)
        if trigger.name == "move_grid" and row is not None and data.get("grid_id") == row.grid_id:
            raise InvalidInput("already in this grid", errors={"grid_id": ["Already in this grid."]})

    def view(self, session, row, related, definition, actor, allowed):
        return registration_views.registration_view(row, definition, allowed)

    def anchor(self, name):
        if name == "end":  # the end of the term
            return Registration.term_ends_at, []
        return super().anchor(name)

    def anchor_value(self, row, related, name):
        if name == "end":
            return row.term_ends_at
        return super().anchor_value(row, related, name)

    def recipients(self, session, relation, row, related):
        if relation == "applicant":
            return recipients.active(session, [row.member_id])
        return recipients.around_community(session, relation, row.community_id)


# How far ahead a term or a project may end: pairings run at most five years (and are renewed),
# projects at most two (issue 16's bound for a task's deadline); a project may have started up to
# a year ago (published after the work began).
PAIRING_YEARS, PROJECT_YEARS = 5, 2


def _today():
    return district_date(utcnow())


def _check_ends_on(errors: dict, field: str, value, *, after, years: int) -> None:
    """`value` (a date) lies after `after` and at most `years` years from today."""
    if value is None:
        return
    latest = _today() + timedelta(days=366 * years)
    if value <= after:
        errors[field] = [f"Must be later than {after.isoformat()}."]
    elif value > latest:
        errors[field] = [f"Must be at most {years} years ahead."]


def choices_of(session, field, related: dict) -> list[tuple[int, str]]:
    """A `ref: community | unit` field's choices (a community picker narrowed to a town)."""
    if field.ref == "community":
        query = select(Community).order_by(Community.code)
        if related.get("town_id") is not None:
            query = query.where(Community.town_id == related["town_id"])
        return [(c.id, c.short_name) for c in session.scalars(query)]
    if field.ref == "unit":
        return [tuple(r) for r in session.execute(select(Unit.id, Unit.name).order_by(Unit.code))]
    return []


class PairingKind(SubjectKind):
    """A unit's pairing with a community (结对共建). Every trigger locks the unit's row first (FOR
    NO KEY UPDATE), then the pairing: one unit's pairings change one at a time, so at most one
    live pairing per unit and community (the `one_live_pairing` guard; a partial unique index
    backs it)."""

    name = "pairing"
    model = Pairing

    def scope_filter(self, actor):
        return scope.pairing_filter(actor)

    def lock(self, session, actor, ident, writes, draws=()):
        # Scope first, before any lock: the unit and the community never change on a pairing.
        unit_id = session.scalar(select(Pairing.unit_id).where(Pairing.id == ident, scope.pairing_filter(actor)))
        if unit_id is None:
            raise NotFound(f"pairing {ident} not found")
        unit = lock_unit(session, unit_id)
        pairing, head_hash, community = session.execute(
            select(Pairing, chain_head("pairing", Pairing), Community)
            .join(Community, Community.id == Pairing.community_id)
            .where(Pairing.id == ident).with_for_update(of=Pairing)
            .execution_options(populate_existing=True)
        ).one()
        set_committed_value(pairing, "unit", unit)
        set_committed_value(pairing, "community", community)
        return Locked(pairing, {"unit": unit, "community": community}, head_hash)

    def related(self, session, row):
        return {"unit": row.unit, "community": row.community}

    def relations(self, actor, row, related):
        relations = {actor.role} if actor.role in ("liaison", "admin", "system") else set()
        if scope.is_unit_liaison(actor, row.unit_id):
            relations.add("unit_liaison")
        if scope.is_community_staff(actor, row):
            relations.add("community_staff")
        return relations

    def choices(self, session, row, related, field):
        return choices_of(session, field, related)

    def allows(self, session, row, related, field, value):
        if field.ref == "community" and related.get("town_id") is None:
            return session.get(Community, value) is not None
        if field.ref == "unit":
            return session.get(Unit, value) is not None
        return super().allows(session, row, related, field, value)

    def check_input(self, session, trigger, actor, row, related, data):
        self.check_refs(session, trigger, row, related, data)
        errors: dict = {}
        if trigger.name == "renew" and row is not None:
            _check_ends_on(errors, "ends_on", data.get("ends_on"), after=max(row.ends_on, _today()),
                           years=PAIRING_YEARS)
        elif "ends_on" in data and (row is None or row.id is None):  # proposing
            _check_ends_on(errors, "ends_on", data.get("ends_on"), after=_today(), years=PAIRING_YEARS)
        if errors:
            raise InvalidInput(f"invalid input for {trigger.name}", errors=errors)

    def view(self, session, row, related, definition, actor, allowed):
        return pairing_views.pairing_view(row, definition, allowed)

    def anchor(self, name):
        if name == "end":
            return Pairing.term_ends_at, []
        return super().anchor(name)

    def anchor_value(self, row, related, name):
        if name == "end":
            return row.term_ends_at
        return super().anchor_value(row, related, name)

    def recipients(self, session, relation, row, related):
        if relation == "unit_liaison":
            return recipients.unit_liaisons(session, row.unit_id)
        return recipients.around_community(session, relation, row.community_id)


def lock_unit(session, unit_id: int) -> Unit | None:
    """The unit's row, locked FOR NO KEY UPDATE (rows that merely reference it are not held up):
    what serialises one unit's pairings."""
    return session.scalar(select(Unit).where(Unit.id == unit_id).with_for_update(key_share=True)
                          .execution_options(populate_existing=True))


class ProjectKind(SubjectKind):
    """A project a paired unit leads for a community (项目清单). Its triggers lock the project
    alone, with the caller's scope in the locking query: two liaisons taking the same open project
    at once are serialised on its row, and for the second it has become another unit's project —
    out of their scope, so 404, on both databases (PostgreSQL re-checks the condition on the row
    it waited for; SQLite's immediate transaction starts after the first one committed)."""

    name = "project"
    model = Project

    def scope_filter(self, actor):
        return scope.project_filter(actor)

    def lock(self, session, actor, ident, writes, draws=()):
        row = session.execute(
            select(Project, chain_head("project", Project), Community)
            .join(Community, Community.id == Project.community_id)
            .where(Project.id == ident, scope.project_filter(actor)).with_for_update(of=Project)
            .execution_options(populate_existing=True)
        ).first()
        if row is None:
            raise NotFound(f"project {ident} not found")
        project, head_hash, community = row
        set_committed_value(project, "community", community)
        return Locked(project, {"community": community}, head_hash)

    def related(self, session, row):
        return {"community": row.community}

    def relations(self, actor, row, related):
        relations = {actor.role} if actor.role in ("liaison", "admin", "system") else set()
        if scope.is_unit_liaison(actor, row.unit_id):
            relations.add("project_liaison")
        if scope.is_community_staff(actor, row):
            relations.add("community_staff")
        return relations

    def category(self, row, related):
        return row.category

    def check_input(self, session, trigger, actor, row, related, data):
        if row is not None and row.id is not None:
            check_photos(session, trigger, actor, row.id, data, Upload.project_id)
        if trigger.name != "publish" and not {"starts_on", "ends_on"} & set(data):
            return
        errors: dict = {}
        today = _today()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts is not None and not today - timedelta(days=366) <= starts <= today + timedelta(days=366 * 2):
            errors["starts_on"] = ["Must lie within a year before and two years after today."]
        _check_ends_on(errors, "ends_on", ends, after=today - timedelta(days=1), years=PROJECT_YEARS)
        if starts is not None and ends is not None and ends < starts and "ends_on" not in errors:
            errors["ends_on"] = ["Must not be before the start."]
        if errors:
            raise InvalidInput(f"invalid input for {trigger.name}", errors=errors)

    def prefill(self, session, trigger, row, related):
        """A completion report returned for more starts from the last one (as a claim's report does)."""
        if not any(call.name == "record_completion" for call in trigger.effects):
            return {}
        last = session.scalar(select(ProjectReport).where(ProjectReport.project_id == row.id,
                                                          ProjectReport.kind == "completion")
                              .order_by(ProjectReport.id.desc()).limit(1))
        if last is None:
            return {}
        values = {"summary": last.text, "members": last.members, "member_count": last.member_count,
                  "hours": last.hours, "photos": list(last.photo_ids or [])}
        return {spec.name: values[spec.name] for spec in trigger.fields if spec.name in values}

    def view(self, session, row, related, definition, actor, allowed):
        return pairing_views.project_view(session, row, definition, allowed)

    def anchor(self, name):
        if name == "deadline":  # the end of its last day
            return Project.deadline, []
        return super().anchor(name)

    def anchor_value(self, row, related, name):
        if name == "deadline":
            return row.deadline
        return super().anchor_value(row, related, name)

    def recipients(self, session, relation, row, related):
        if relation == "project_liaison":
            return recipients.unit_liaisons(session, row.unit_id)
        return recipients.around_community(session, relation, row.community_id)


KINDS: dict[str, SubjectKind] = {kind.name: kind for kind in (ClaimKind(), TaskKind(), RegistrationKind(),
                                                              PairingKind(), ProjectKind())}


def kind(name: str) -> SubjectKind:
    return KINDS[name]
