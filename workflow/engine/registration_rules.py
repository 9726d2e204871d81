"""The guards and effects of the registration process (报到): names a registration definition
may use, registered in the same registries as every other guard and effect (guards.py,
effects.py), so the loader knows them.

A registration's related rows are its member (locked first: services/subjects.py) and its
community. Terms are calendar years on the district's calendar (Asia/Shanghai): a term for
year Y ends at 00:00 on 1 January Y+1 Beijing time and may be renewed from 1 December Y.
"""
from sqlalchemy import select

from ..clock import district_year, renewal_opens, year_end
from .effects import effect
from .guards import guard


@guard
def one_live_registration(ctx) -> str | None:
    """apply: the member holds no other live (applied or active) registration. The member's
    row is locked by the caller, so two applications of one member are checked one at a time."""
    from ..models import Community, Registration

    registration = ctx.subject
    query = (select(Registration.id, Registration.state, Community)
             .join(Community, Community.id == Registration.community_id)
             .where(Registration.member_id == registration.member_id,
                    Registration.state.in_(ctx.live_states("registration"))))
    if registration.id is not None:
        query = query.where(Registration.id != registration.id)
    other = ctx.session.execute(query.limit(1)).first()
    if other is not None:
        ident, state, community = other
        return f"you are already registered with {community.short_name} (registration {ident}, {state})"
    return None


@guard
def renewal_open(ctx) -> str | None:
    """renew: from 1 December (Beijing time) of the term's year; once renewed, the next term's
    December is the next chance."""
    year = ctx.subject.term_year
    if year is None:
        return "only an accepted registration is renewed"
    if ctx.now < renewal_opens(year):
        return f"renewal for {year + 1} opens on 1 December {year} (Beijing time)"
    return None


@guard
def term_over(ctx) -> str | None:
    """lapse: the term has ended without renewal."""
    ends = ctx.subject.term_ends_at
    if ends is None or ctx.now < ends:
        return "the term has not ended"
    return None


@effect(writes=("member",))
def place_in_community(ctx) -> None:
    """accept: the grid and households, who accepted and when, the term (to the end of this
    calendar year); the member's community (users.community_id) follows the registration."""
    registration, member = ctx.subject, ctx.related["member"]
    year = district_year(ctx.now)
    registration.grid_id = ctx.data.get("grid_id")
    registration.households = ctx.data.get("households")
    registration.accepted_by_id = ctx.actor.id
    registration.accepted_at = ctx.now
    registration.term_year = year
    registration.term_ends_at = year_end(year)
    registration.last_reason = None
    ctx.recorded.update(community_id=registration.community_id, term_year=year)
    if member.role == "member":
        member.community_id = registration.community_id


@effect
def move_to_grid(ctx) -> None:
    registration = ctx.subject
    ctx.recorded["from_grid_id"] = registration.grid_id
    registration.grid_id = ctx.data["grid_id"]


@effect
def extend_term(ctx) -> None:
    """renew: the next calendar year's term."""
    registration = ctx.subject
    registration.term_year += 1
    registration.term_ends_at = year_end(registration.term_year)
    ctx.recorded["term_year"] = registration.term_year


@effect(writes=("member",))
def leave_community(ctx) -> None:
    """end, lapse: the member is no longer on the community's roster; their community
    (users.community_id) is cleared with it."""
    registration, member = ctx.subject, ctx.related["member"]
    if member.role == "member" and member.community_id == registration.community_id:
        member.community_id = None
