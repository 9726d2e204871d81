"""Who may see what: one place for the visibility rules of tasks, claims and registrations.

Each rule is a SQL condition, so lists and single-object reads use the same rule, and
an object outside the caller's scope is simply not found (404, never 403: whether it
exists is itself not the caller's business).

- member:     tasks that are published (not drafts); only their own claims.
- staff:      their community's tasks and the claims on them.
- supervisor: district — everything; town — tasks and claims in that town;
              unit — published tasks, and claims by members of that unit.
- admin:      everything.

Registrations (报到): a member sees their own; staff their community's; a supervisor those in
their town's communities, or of their unit's members, or (district) all; admins all.
"""
from sqlalchemy import false, select, true

from ..errors import NotFound
from ..models import Claim, Community, Registration, Task, User


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
    if actor.role in ("member", "supervisor"):
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
    return false()


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


def is_community_staff(actor, subject) -> bool:
    """Staff of the subject's community (a task's, a registration's)."""
    return actor.role == "staff" and actor.community_id == subject.community_id
