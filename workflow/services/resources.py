"""The unit's resource list (资源清单): what a unit can offer the communities it pairs with —
legal advice, health checks, policy talks, volunteers for a weekend. Not a process: the unit's
liaison (or an admin) adds a line, edits it, retires it; every change is an event on the
line's own audit chain (subject type `resource`), in the same transaction, its contact kept
apart as a personal field.

Who reads a unit's list (scope.resource_filter): the unit's liaisons, staff of communities with
an active pairing with the unit, supervisors in scope (the district; the unit's own; a town's,
for units paired in the town), admins. The contact is shown only to the unit, paired staff and
admins (scope.sees_resource_contact). Anyone else gets 404 for the unit's list.
"""
from marshmallow import RAISE, Schema, ValidationError, fields, missing, validate
from sqlalchemy import select

from .. import audit
from ..clock import utcnow
from ..engine.schemas import StrippedText
from ..errors import Forbidden, InvalidInput, NotFound, StaleVersion
from ..models import RESOURCE_CATEGORIES, Community, Pairing, Unit, UnitResource
from . import scope
from .idempotency import record as record_idempotency
from .pairing_views import resource_view
from .tx import lock_one, write_transaction

SUBJECT = "resource"
PERSONAL = ("contact",)  # a person's phone number, often: kept apart from the chain's hash


class ResourceInputSchema(Schema):
    class Meta:
        unknown = RAISE

    title = StrippedText(required=True, validate=validate.Length(min=1, max=120),
                         metadata={"title": "资源名称", "description": "Title, e.g. 法律咨询进社区"})
    category = fields.String(required=True, validate=validate.OneOf(RESOURCE_CATEGORIES),
                             metadata={"title": "类别", "description": "Category"})
    description = StrippedText(load_default="", validate=validate.Length(max=2000),
                               metadata={"title": "资源内容", "description": "What the unit offers"})
    frequency = StrippedText(load_default="", validate=validate.Length(max=100),
                             metadata={"title": "提供频次", "description": "How often it can be offered, e.g. 每月一次"})
    contact = StrippedText(load_default="", validate=validate.Length(max=200),
                           metadata={"title": "联系人及电话",
                                     "description": "Whom to call; shown only to staff of paired communities"})


class ResourceEditSchema(ResourceInputSchema):
    """An edit names only what it changes; `retired: true` takes the line off the list (false
    puts it back)."""

    retired = fields.Boolean(metadata={"title": "停止提供", "description": "Retired: no longer offered"})

    def on_bind_field(self, field_name, field_obj):
        field_obj.required = False
        field_obj.load_default = missing


def _load(schema, data) -> dict:
    try:
        return schema.load(data or {})
    except ValidationError as exc:
        raise InvalidInput("invalid resource input", errors=exc.normalized_messages()) from None


def readable_unit(session, actor, unit_id: int) -> Unit:
    """The unit, if the actor may read its resource list; NotFound otherwise (the same rule as
    scope.resource_filter, on the unit)."""
    unit = session.get(Unit, unit_id)
    if unit is None or not _may_read(session, actor, unit_id):
        raise NotFound(f"unit {unit_id} not found")
    return unit


def _may_read(session, actor, unit_id: int) -> bool:
    if actor.role in ("admin", "system"):
        return True
    if actor.role == "liaison":
        return actor.unit_id == unit_id
    if actor.role == "staff":
        return session.scalar(scope.paired_units(actor.community_id).where(
            Pairing.unit_id == unit_id).limit(1)) is not None
    if actor.role == "supervisor":
        if actor.scope_town_id:
            return session.scalar(select(Pairing.id).join(Community, Community.id == Pairing.community_id).where(
                Pairing.unit_id == unit_id, Pairing.state == "active",
                Community.town_id == actor.scope_town_id).limit(1)) is not None
        return actor.unit_id in (None, unit_id)
    return False


def may_edit(actor, unit_id: int) -> bool:
    return actor.role == "admin" or scope.is_unit_liaison(actor, unit_id)


def unit_resources(session, actor, unit_id: int, *, include_retired: bool = True) -> list[UnitResource]:
    """A unit's list as the actor may read it (NotFound outside their scope), current lines first."""
    readable_unit(session, actor, unit_id)
    query = select(UnitResource).where(UnitResource.unit_id == unit_id, scope.resource_filter(actor))
    if not include_retired:
        query = query.where(UnitResource.retired_at.is_(None))
    return session.scalars(query.order_by(UnitResource.retired_at.is_not(None), UnitResource.id)).all()


def paired_resources(session, actor) -> list[tuple[Unit, list[UnitResource]]]:
    """For a community's staff: each unit with an active pairing with the community, and its
    current resource lines (the contact included)."""
    if actor.role != "staff":
        return []
    units = session.scalars(select(Unit).where(Unit.id.in_(scope.paired_units(actor.community_id)))
                            .order_by(Unit.code)).all()
    lines = session.scalars(select(UnitResource).where(
        UnitResource.unit_id.in_([u.id for u in units]), UnitResource.retired_at.is_(None))
        .order_by(UnitResource.id)).all()
    by_unit: dict[int, list] = {}
    for line in lines:
        by_unit.setdefault(line.unit_id, []).append(line)
    return [(u, by_unit.get(u.id, [])) for u in units]


def visible_resource(session, actor, resource_id: int, *, unit_id: int | None = None) -> UnitResource:
    resource = session.scalar(select(UnitResource).where(UnitResource.id == resource_id,
                                                         scope.resource_filter(actor)))
    if resource is None or (unit_id is not None and resource.unit_id != unit_id):
        raise NotFound(f"resource {resource_id} not found")
    return resource


def _audit(session, resource, actor, trigger, payload, *, now, request_id, head=None, from_state=None):
    state = "retired" if resource.retired_at is not None else "offered"
    audit.append(session, subject_type=SUBJECT, subject_id=resource.id, trigger=trigger, from_state=from_state,
                 to_state=state, actor=actor, payload=payload, request_id=request_id, now=now, head=head,
                 personal=tuple(f for f in PERSONAL if f in payload))


def add_resource(actor, unit_id: int, data: dict, *, request_id=None, now=None, idempotency=None) -> dict:
    """A new line on the unit's list (its liaison, or an admin). Returns its view."""
    now = now or utcnow()
    data = _load(ResourceInputSchema(), data)
    with write_transaction() as session:
        readable_unit(session, actor, unit_id)
        if not may_edit(actor, unit_id):
            raise Forbidden("only the unit's liaison (or an admin) keeps its resource list")
        resource = UnitResource(unit_id=unit_id, created_by_id=actor.id, version=1, created_at=now, updated_at=now,
                                **data)
        session.add(resource)
        session.flush()
        _audit(session, resource, actor, "create", data, now=now, request_id=request_id, head=(0, None))
        view = resource_view(resource, actor)
        record_idempotency(idempotency, session, view, created=True)
    return view


def edit_resource(actor, unit_id: int, resource_id: int, data: dict, *, expected_version=None, request_id=None,
                  now=None) -> dict:
    """Change a line (only the fields given); `retired` takes it off or puts it back."""
    now = now or utcnow()
    data = _load(ResourceEditSchema(), data)
    with write_transaction() as session:
        readable_unit(session, actor, unit_id)
        visible_resource(session, actor, resource_id, unit_id=unit_id)
        if not may_edit(actor, unit_id):
            raise Forbidden("only the unit's liaison (or an admin) keeps its resource list")
        resource = lock_one(session, UnitResource, resource_id)
        if expected_version is not None and expected_version != resource.version:
            raise StaleVersion(f"resource {resource_id} is at version {resource.version}, not {expected_version}",
                               current_version=resource.version)
        before = "retired" if resource.retired_at is not None else "offered"
        retired = data.pop("retired", None)
        changed = {k: v for k, v in data.items() if getattr(resource, k) != v}
        for name, value in changed.items():
            setattr(resource, name, value)
        trigger = "edit"
        if retired is not None and retired != (resource.retired_at is not None):
            resource.retired_at = now if retired else None
            trigger = "retire" if retired else "restore"
            changed["retired"] = retired
        if changed:
            resource.version += 1
            resource.updated_at = now
            _audit(session, resource, actor, trigger, changed, now=now, request_id=request_id, from_state=before)
        view = resource_view(resource, actor)
    return view
