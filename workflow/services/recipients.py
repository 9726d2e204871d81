"""Who is told: the people who stand in a relation to a subject, as user ids (active users only).

Subject kinds (services/subjects.py, `recipients`) answer for their own relations — a claim's
claimant is its member — and use these for what every kind tied to a community shares:
- `community_staff`: the staff of the community;
- `supervisors`: the supervisors whose scope holds the community — the district's (no town and
  no unit in their scope) and those of the community's town. Unit-scoped supervisors watch their
  unit's members, not a community, and are not told about a community's waiting work.
- `unit_liaison(s)`: the liaisons of a unit (pairings, and the unit that took a project).
"""
from sqlalchemy import and_, bindparam, or_, select

from ..models import Community, User

# Built once, run as Core statements on the session's connection (after a flush, so that they see
# what the transaction changed, as the ORM's autoflush would): each transition that notifies runs one.
_ACTIVE = select(User.id).where(User.id.in_(bindparam("ids", expanding=True)), User.active.is_(True)).order_by(User.id)
_STAFF = select(User.id).where(User.role == "staff", User.community_id == bindparam("community_id"),
                               User.active.is_(True)).order_by(User.id)
_SUPERVISORS = select(User.id).where(
    User.role == "supervisor", User.active.is_(True),
    or_(and_(User.scope_town_id.is_(None), User.unit_id.is_(None)),
        User.scope_town_id == select(Community.town_id).where(Community.id == bindparam("community_id"))
        .scalar_subquery())).order_by(User.id)
_LIAISONS = select(User.id).where(User.role == "liaison", User.unit_id == bindparam("unit_id"),
                                  User.active.is_(True)).order_by(User.id)


def _ids(session, statement, **params) -> list[int]:
    session.flush()
    return list(session.connection().execute(statement, params).scalars())


def active(session, user_ids) -> list[int]:
    ids = [i for i in user_ids if i is not None]
    if not ids:
        return []
    return _ids(session, _ACTIVE, ids=ids)


def community_staff(session, community_id) -> list[int]:
    return _ids(session, _STAFF, community_id=community_id)


def supervisors_over(session, community_id) -> list[int]:
    return _ids(session, _SUPERVISORS, community_id=community_id)


def around_community_query(relation: str, community_id):
    """`community_staff` or `supervisors` of a community as (SELECT of their ids, parameters) — for
    a notification's INSERT … SELECT (services/notifications.py); None for a relation it does not know."""
    if relation == "community_staff":
        return _STAFF, {"community_id": community_id}
    if relation == "supervisors":
        return _SUPERVISORS, {"community_id": community_id}
    return None


def around_community(session, relation: str, community_id) -> list[int]:
    """`community_staff` or `supervisors` of a community; nobody for a relation it does not know."""
    if relation == "community_staff":
        return community_staff(session, community_id)
    if relation == "supervisors":
        return supervisors_over(session, community_id)
    return []


def unit_liaisons(session, unit_id) -> list[int]:
    """The active liaisons of a unit (none when the unit is unknown: an open project has none)."""
    if unit_id is None:
        return []
    return _ids(session, _LIAISONS, unit_id=unit_id)
