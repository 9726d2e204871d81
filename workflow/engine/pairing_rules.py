"""The guards and effects of the unit's processes: pairings (结对共建) and projects (项目清单),
registered in the same registries as every other guard and effect (guards.py, effects.py), so
the loader knows them.

A pairing's related rows are its unit (locked first: services/subjects.py) and its community; a
project's are its community and, once taken, its unit. Terms end with a district calendar day
(`ends_on`): a pairing's `term_ends_at` and a project's `deadline` are the instant that day is
over (00:00 Beijing time of the next day, stored as UTC). The lapse reuses the registration
process's `term_over` (a row's `term_ends_at` has passed).
"""
from sqlalchemy import select, update

from ..clock import day_end
from .effects import _insert, effect
from .guards import guard


def _live_pairing(ctx, unit_id, community_id, *, state_in):
    from ..models import Pairing

    query = select(Pairing.id, Pairing.state).where(
        Pairing.unit_id == unit_id, Pairing.community_id == community_id, Pairing.state.in_(state_in))
    if ctx.definition.subject == "pairing" and ctx.subject.id is not None:
        query = query.where(Pairing.id != ctx.subject.id)
    return ctx.session.execute(query.order_by(Pairing.id).limit(1)).first()


@guard
def one_live_pairing(ctx) -> str | None:
    """propose: the unit has no other live (proposed or active) pairing with the community. The
    unit's row is locked by the caller, so two proposals of one unit are checked one at a time."""
    pairing = ctx.subject
    other = _live_pairing(ctx, pairing.unit_id, pairing.community_id, state_in=ctx.live_states("pairing"))
    if other is not None:
        ident, state = other
        community = ctx.related.get("community")
        where = community.short_name if community is not None else f"community {pairing.community_id}"
        return f"the unit already has a pairing with {where} (pairing {ident}, {state})"
    return None


@effect
def start_pairing(ctx) -> None:
    """accept: who accepted and when."""
    pairing = ctx.subject
    pairing.accepted_by_id = ctx.actor.id
    pairing.accepted_at = ctx.now
    pairing.last_reason = None


@effect
def extend_pairing(ctx) -> None:
    """renew: the new end date (checked by the subject kind: later than the old one)."""
    pairing = ctx.subject
    ctx.recorded["previous_ends_on"] = pairing.ends_on.isoformat()
    pairing.ends_on = ctx.data["ends_on"]
    pairing.term_ends_at = day_end(pairing.ends_on)


# -- projects -------------------------------------------------------------------------------------

@guard
def paired_with_community(ctx) -> str | None:
    """take: the actor's unit has an active pairing with the project's community."""
    project, unit_id = ctx.subject, ctx.actor.unit_id
    community = ctx.related.get("community")
    where = community.short_name if community is not None else f"community {project.community_id}"
    if unit_id is None or _live_pairing(ctx, unit_id, project.community_id, state_in=("active",)) is None:
        return f"your unit has no active pairing with {where}: propose one, and take its projects once it is accepted"
    return None


@effect
def take_project(ctx) -> None:
    """take: the unit (the actor's) leads it, under its active pairing with the community."""
    project = ctx.subject
    pairing = _live_pairing(ctx, ctx.actor.unit_id, project.community_id, state_in=("active",))
    project.unit_id = ctx.actor.unit_id
    project.pairing_id = pairing[0] if pairing is not None else None
    project.taken_by_id = ctx.actor.id
    project.taken_at = ctx.now
    ctx.recorded.update(unit_id=project.unit_id, pairing_id=project.pairing_id)


def _attach_project_photos(ctx, photo_ids) -> None:
    from ..models import Upload

    if photo_ids:
        ctx.session.execute(update(Upload).where(Upload.id.in_(photo_ids)).values(project_id=ctx.subject.id))


@effect
def record_progress(ctx) -> None:
    """report_progress: a progress report (text, photos); the project stays where it is."""
    from ..models import ProjectReport

    photos = ctx.data.get("photos") or []
    ctx.recorded["report_id"] = _insert(ctx, ProjectReport, project_id=ctx.subject.id, kind="progress",
                                        text=ctx.data["text"], members="", photo_ids=photos,
                                        author_id=ctx.actor.id, created_at=ctx.now)
    _attach_project_photos(ctx, photos)


@effect
def record_completion(ctx) -> None:
    """report: the completion report — summary, members who took part, how many, hours in total,
    photos; the project keeps the count and hours (what the unit's yearly page adds up)."""
    from ..models import ProjectReport

    project, photos = ctx.subject, ctx.data.get("photos") or []
    project.member_count = ctx.data["member_count"]
    project.hours = ctx.data["hours"]
    project.reported_at = ctx.now
    project.last_reason = None
    ctx.recorded["report_id"] = _insert(ctx, ProjectReport, project_id=project.id, kind="completion",
                                        text=ctx.data["summary"], members=ctx.data.get("members") or "",
                                        member_count=ctx.data["member_count"], hours=ctx.data["hours"],
                                        photo_ids=photos, author_id=ctx.actor.id, created_at=ctx.now)
    _attach_project_photos(ctx, photos)


@effect
def complete_project(ctx) -> None:
    """approve: done, as of now."""
    ctx.subject.done_at = ctx.now
