"""Who may see what: one place for the visibility rules of tasks, claims, registrations,
pairings, projects and the units' resources.

Each rule is a SQL condition, so lists and single-object reads use the same rule, and
an object outside the caller's scope is simply not found (404, never 403: whether it
exists is itself not the caller's business).

- member:     tasks that are published (not drafts); only their own claims.
- staff:      their community's tasks and the claims on them.
- supervisor: district — everything; town — tasks and claims in that town;
              unit — published tasks, and claims by members of that unit.
- admin:      everything.

Registrations (报到): a member sees their own; staff their community's; a supervisor those in
their town's communities, or of their unit's members, or (district) all; a liaison those of
their unit's members; admins all.

The unit's 报到 (pairings, projects, resources):
- liaison:    their unit's pairings and resources; open projects anywhere (the 项目清单 a unit
              reads to choose its work; taking one needs an active pairing) and the projects
              their unit took; published tasks, as members see them (a project's jobs);
- staff:      their community's pairings and projects; the resources of units with an active
              pairing with their community (with the contact);
- supervisor: district — all; town — pairings and projects of the town's communities, and the
              resources of units paired there; unit — their unit's;
- member:     none of them (404).
"""
import threading

from sqlalchemy import Integer, false, or_, select, true
from sqlalchemy.sql.elements import BindParameter

from ..errors import NotFound
from ..models import Claim, Community, Pairing, Project, Registration, Task, UnitResource, User


def _town_communities(town_id):
    return select(Community.id).where(Community.town_id == town_id)


def task_filter(actor):
    if actor.role == "admin" or actor.role == "system":
        return true()
    if actor.role == "staff":
        return Task.community_id == actor.community_id
    if actor.role == "supervisor" and actor.scope_town_id:
        return Task.community_id.in_(_town_communities(actor.scope_town_id))
    if actor.role == "supervisor" and not actor.unit_id:
        return true()
    if actor.role in ("member", "supervisor", "liaison"):
        return Task.status != "draft"
    return false()


def claim_filter(actor):
    """A condition on Claim; callers join Task when the rule needs it (see claims_query)."""
    if actor.role == "admin" or actor.role == "system":
        return true()
    if actor.role == "member":
        return Claim.member_id == actor.id
    if actor.role == "staff":
        return Claim.task_id.in_(select(Task.id).where(Task.community_id == actor.community_id))
    if actor.role == "supervisor":
        if actor.scope_town_id:
            return Claim.task_id.in_(
                select(Task.id).where(Task.community_id.in_(_town_communities(actor.scope_town_id)))
            )
        if actor.unit_id:
            return Claim.unit_id == actor.unit_id
        return true()
    return false()


def registration_filter(actor):
    """A condition on Registration: whose registrations the actor may see."""
    if actor.role in ("admin", "system"):
        return true()
    if actor.role == "member":
        return Registration.member_id == actor.id
    if actor.role == "staff":
        return Registration.community_id == actor.community_id
    if actor.role == "supervisor":
        if actor.scope_town_id:
            return Registration.community_id.in_(_town_communities(actor.scope_town_id))
        if actor.unit_id:
            return Registration.member_id.in_(select(User.id).where(User.unit_id == actor.unit_id))
        return true()
    if actor.role == "liaison":  # the unit's members (the receipt report); never anyone else's
        return Registration.member_id.in_(select(User.id).where(User.unit_id == actor.unit_id,
                                                                User.role == "member"))
    return false()


def pairing_filter(actor):
    """A condition on Pairing: whose pairings the actor may see."""
    if actor.role in ("admin", "system"):
        return true()
    if actor.role == "liaison":
        return Pairing.unit_id == actor.unit_id
    if actor.role == "staff":
        return Pairing.community_id == actor.community_id
    if actor.role == "supervisor":
        if actor.scope_town_id:
            return Pairing.community_id.in_(_town_communities(actor.scope_town_id))
        if actor.unit_id:
            return Pairing.unit_id == actor.unit_id
        return true()
    return false()


def project_filter(actor):
    """A condition on Project: open projects are the list every unit reads; a taken one is its
    community's and its unit's."""
    if actor.role in ("admin", "system"):
        return true()
    if actor.role == "liaison":
        return or_(Project.state == "open", Project.unit_id == actor.unit_id)
    if actor.role == "staff":
        return Project.community_id == actor.community_id
    if actor.role == "supervisor":
        if actor.scope_town_id:
            return Project.community_id.in_(_town_communities(actor.scope_town_id))
        if actor.unit_id:
            return Project.unit_id == actor.unit_id
        return true()
    return false()


def paired_units(community_id, *, states=("active",)):
    """The ids of units with a pairing in `states` with the community."""
    return select(Pairing.unit_id).where(Pairing.community_id == community_id, Pairing.state.in_(states))


def resource_filter(actor):
    """A condition on UnitResource: whose resource lists the actor may read (retired lines
    included; pages and the API say which are retired)."""
    if actor.role in ("admin", "system"):
        return true()
    if actor.role == "liaison":
        return UnitResource.unit_id == actor.unit_id
    if actor.role == "staff":
        return UnitResource.unit_id.in_(paired_units(actor.community_id))
    if actor.role == "supervisor":
        if actor.scope_town_id:
            return UnitResource.unit_id.in_(select(Pairing.unit_id).where(
                Pairing.community_id.in_(_town_communities(actor.scope_town_id)), Pairing.state == "active"))
        if actor.unit_id:
            return UnitResource.unit_id == actor.unit_id
        return true()
    return false()


def sees_resource_contact(actor, unit_id: int) -> bool:
    """The contact on a resource line is for the unit itself, the staff of communities paired
    with it (the caller checks the pairing: only they pass `resource_filter`), and admins —
    not for supervisors, who audit the lists."""
    return actor.role in ("admin", "staff") or (actor.role == "liaison" and actor.unit_id == unit_id)


def visible_task(session, actor, task_id) -> Task:
    task = session.scalar(select(Task).where(Task.id == task_id, task_filter(actor)))
    if task is None:
        raise NotFound(f"task {task_id} not found")
    return task


def visible_claim(session, actor, claim_id) -> Claim:
    claim = session.scalar(select(Claim).where(Claim.id == claim_id, claim_filter(actor)))
    if claim is None:
        raise NotFound(f"claim {claim_id} not found")
    return claim


def visible_registration(session, actor, registration_id) -> Registration:
    registration = session.scalar(select(Registration).where(Registration.id == registration_id,
                                                             registration_filter(actor)))
    if registration is None:
        raise NotFound(f"registration {registration_id} not found")
    return registration


def visible_pairing(session, actor, pairing_id) -> Pairing:
    pairing = session.scalar(select(Pairing).where(Pairing.id == pairing_id, pairing_filter(actor)))
    if pairing is None:
        raise NotFound(f"pairing {pairing_id} not found")
    return pairing


def visible_project(session, actor, project_id) -> Project:
    project = session.scalar(select(Project).where(Project.id == project_id, project_filter(actor)))
    if project is None:
        raise NotFound(f"project {project_id} not found")
    return project


def is_unit_liaison(actor, unit_id) -> bool:
    """A liaison of this unit."""
    return actor.role == "liaison" and unit_id is not None and actor.unit_id == unit_id


def is_community_staff(actor, subject) -> bool:
    """Staff of the subject's community (a task's, a registration's)."""
    return actor.role == "staff" and actor.community_id == subject.community_id


# -- the rules as statements built once per kind of actor ---------------------------------------
#
# The rules above take an actor and put its ids into the condition. A statement on the hot path
# (locking a claim for a trigger, say) is built once per *kind* of actor instead: the rule is
# given a stand-in whose ids are bound parameters, and each request passes the real ids. The
# statement object is then reused as it is, so SQLAlchemy neither rebuilds it nor recomputes its
# cache key on every request. The rules themselves stay the one place that says who sees what.

class _Given(BindParameter):
    """A bound parameter standing for an actor's id that is set (the rules test `if actor.unit_id`)."""

    inherit_cache = True

    def __bool__(self) -> bool:
        return True


SCOPE_FIELDS = ("id", "community_id", "scope_town_id", "unit_id")


class ActorShape:
    """What the scope rules read of an actor, with each id that is set as a bound parameter."""

    def __init__(self, role: str, present: tuple[bool, ...]):
        self.role = role
        for name, given in zip(SCOPE_FIELDS, present):
            setattr(self, name, _Given(f"scope_{name}", type_=Integer) if given else None)


def shape_of(actor) -> tuple:
    """The kind of actor, as far as the rules can tell: the role and which ids are set."""
    return (actor.role, *(getattr(actor, name) is not None for name in SCOPE_FIELDS))


def shape_params(actor) -> dict:
    """The bound values for a statement built from `ActorShape`: the actor's ids that are set."""
    return {f"scope_{name}": getattr(actor, name) for name in SCOPE_FIELDS if getattr(actor, name) is not None}


_built: dict = {}
_built_lock = threading.Lock()


def statement_for(name: str, actor, build):
    """The statement `build(shape)` makes for this kind of actor, built once per process and
    reused; execute it with `shape_params(actor)` (and its own parameters)."""
    key = (name, shape_of(actor))
    statement = _built.get(key)
    if statement is None:
        statement = build(ActorShape(key[1][0], key[1][1:]))
        with _built_lock:
            statement = _built.setdefault(key, statement)
    return statement
