"""Anomaly flags for supervisors: patterns worth a second look, each with its explanation.

A flag is a prompt to read a claim's timeline, not a verdict. Every check is limited to
the claims the caller may see (`scope.claim_filter`). The kinds:

- quick_report:      a report submitted within `quick_minutes` of the claim;
- duplicate_photo:   the same photo (same sha256 after re-encoding) in different claims;
- missing_location:  a check-in without a location where the community requires one;
- approval_burst:    one staff member approving `burst_count` or more reports within `burst_minutes`;
- over_limit:        a member holding more live claims than the open-claim limit allows;
- note_harvest:      a member who claimed, read the household note and withdrew within
                     `harvest_minutes` (an hour): how household notes were harvested (issue 16).
                     One flag per member, listing every such claim.

Each flag has a stable `key` within its kind (the claim, the photo's sha256, the visit, the staff
member and the first claim of the run, the member), so a supervisor's review (`review_flag`: who,
when, a note; stored in `flag_reviews` and recorded on the security log) stays with it. The list
can be narrowed by the day the flag was raised and by town (`anomalies(start=, end=, town_id=)`).
"""
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from .. import runtime
from ..clock import utcnow
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..models import AuditEvent, Claim, Community, FlagReview, HouseholdNoteRead, Task, Upload, User, Visit
from . import scope, security_log
from .tx import write_transaction

KINDS = ("quick_report", "duplicate_photo", "missing_location", "approval_burst", "over_limit", "note_harvest")


@dataclass
class Flag:
    kind: str
    claim_ids: list[int]
    who: str  # the member or staff member concerned (a name, for the supervisor to follow up)
    at: object  # datetime of the event that raised it
    params: dict = field(default_factory=dict)  # numbers the explanation quotes
    key: str = ""  # stable within the kind: what a review names
    review: object = None  # its FlagReview, when a supervisor has reviewed it


@dataclass
class Thresholds:
    quick_minutes: int = 10
    burst_count: int = 10
    burst_minutes: int = 30
    harvest_minutes: int = 60


def _visible(actor):
    return select(Claim.id).where(scope.claim_filter(actor))


def quick_reports(session, actor, minutes: int) -> list[Flag]:
    first_report = (select(AuditEvent.subject_id.label("claim_id"), func.min(AuditEvent.created_at).label("at"))
                    .where(AuditEvent.subject_type == "claim", AuditEvent.trigger == "submit_report",
                           AuditEvent.subject_id.in_(_visible(actor)))
                    .group_by(AuditEvent.subject_id).subquery())
    rows = session.execute(
        select(Claim.id, Claim.created_at, first_report.c.at, User.name)
        .join(first_report, first_report.c.claim_id == Claim.id).join(User, User.id == Claim.member_id)
        .order_by(first_report.c.at.desc())
    ).all()
    flags = []
    for claim_id, claimed_at, reported_at, name in rows:
        gap = (reported_at - claimed_at).total_seconds() / 60
        if gap < minutes:
            flags.append(Flag("quick_report", [claim_id], name, reported_at,
                              {"minutes": round(gap, 1), "limit": minutes}, key=str(claim_id)))
    return flags


def duplicate_photos(session, actor) -> list[Flag]:
    shared = (select(Upload.sha256).where(Upload.claim_id.is_not(None))
              .group_by(Upload.sha256).having(func.count(func.distinct(Upload.claim_id)) > 1).subquery())
    rows = session.execute(
        select(Upload.sha256, Upload.claim_id, User.name, Upload.created_at, Upload.id)
        .join(shared, shared.c.sha256 == Upload.sha256).join(User, User.id == Upload.uploader_id)
        .where(Upload.claim_id.is_not(None)).order_by(Upload.sha256, Upload.claim_id)
    ).all()
    visible = set(session.scalars(_visible(actor).where(Claim.id.in_({r[1] for r in rows} or {-1}))))
    groups: dict[str, list] = {}
    photos: dict[str, list] = {}
    for sha, claim_id, name, at, upload_id in rows:
        groups.setdefault(sha, []).append((claim_id, name, at))
        if claim_id in visible:  # the photos themselves, for the supervisor to compare (thumbnails)
            photos.setdefault(sha, []).append({"upload": upload_id, "claim": claim_id})
    flags = []
    for sha, uses in groups.items():
        seen = sorted({c for c, _, _ in uses if c in visible})
        if not seen:
            continue
        names = sorted({n for c, n, _ in uses if c in visible})
        flags.append(Flag("duplicate_photo", seen, "、".join(names), max(a for _, _, a in uses),
                          {"sha256": sha[:12], "claims": len({c for c, _, _ in uses}),
                           "photos": photos.get(sha, [])[:6]}, key=sha))
    return flags


def missing_locations(session, actor) -> list[Flag]:
    rows = session.execute(
        select(Visit.id, Visit.claim_id, Visit.visited_at, User.name, Community.name)
        .join(Claim, Claim.id == Visit.claim_id).join(Task, Task.id == Claim.task_id)
        .join(Community, Community.id == Task.community_id).join(User, User.id == Claim.member_id)
        .where(Community.requires_location.is_(True), Visit.lat.is_(None), scope.claim_filter(actor),
               Visit.erased_at.is_(None))  # (a location erased under the retention rules was recorded)
        .order_by(Visit.visited_at.desc())
    ).all()
    return [Flag("missing_location", [claim_id], name, at, {"visit": visit_id, "community": community},
                 key=str(visit_id))
            for visit_id, claim_id, at, name, community in rows]


def approval_bursts(session, actor, count: int, minutes: int) -> list[Flag]:
    """Sliding window over each staff member's approvals: `count` within `minutes` raises one flag
    per burst (the longest run found), quoting how many and over how long."""
    rows = session.execute(
        select(AuditEvent.actor_id, AuditEvent.created_at, AuditEvent.subject_id)
        .where(AuditEvent.subject_type == "claim", AuditEvent.trigger == "approve",
               AuditEvent.subject_id.in_(_visible(actor)))
        .order_by(AuditEvent.actor_id, AuditEvent.created_at)
    ).all()
    by_actor: dict[int, list] = {}
    for actor_id, at, claim_id in rows:
        by_actor.setdefault(actor_id, []).append((at, claim_id))
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(list(by_actor) or [-1]))).all())
    window = timedelta(minutes=minutes)
    flags = []
    for actor_id, events in by_actor.items():
        i, start = 0, 0
        while i < len(events):
            while events[i][0] - events[start][0] > window:
                start += 1
            if i - start + 1 >= count:
                # extend the run as far as it stays inside the window from `start`
                end = i
                while end + 1 < len(events) and events[end + 1][0] - events[start][0] <= window:
                    end += 1
                run = events[start:end + 1]
                span = (run[-1][0] - run[0][0]).total_seconds() / 60
                flags.append(Flag("approval_burst", [c for _, c in run], names.get(actor_id, "?"), run[-1][0],
                                  {"count": len(run), "minutes": round(span, 1), "limit": count,
                                   "window": minutes}, key=f"{actor_id}:{run[0][1]}"))
                i = start = end + 1
                continue
            i += 1
    return flags


def over_limit(session, actor) -> list[Flag]:
    limit = runtime.current().policy.settings.open_claim_limit
    live = runtime.registry().live_states("claim")
    rows = session.execute(
        select(Claim.member_id, User.name, func.count(Claim.id), func.max(Claim.updated_at))
        .join(User, User.id == Claim.member_id)
        .where(Claim.state.in_(live), scope.claim_filter(actor))
        .group_by(Claim.member_id, User.name).having(func.count(Claim.id) > limit)
    ).all()
    flags = []
    for member_id, name, n, at in rows:
        ids = list(session.scalars(select(Claim.id).where(Claim.member_id == member_id, Claim.state.in_(live),
                                                          scope.claim_filter(actor)).order_by(Claim.id)))
        flags.append(Flag("over_limit", ids, name, at, {"count": n, "limit": limit}, key=str(member_id)))
    return flags


def note_harvests(session, actor, minutes: int) -> list[Flag]:
    """Claims withdrawn within `minutes` of being made, whose member read the task's household note
    in between (from the read log); one flag per member, newest first."""
    withdrawn = (select(AuditEvent.subject_id.label("claim_id"), AuditEvent.created_at.label("at"))
                 .where(AuditEvent.subject_type == "claim", AuditEvent.trigger == "withdraw",
                        AuditEvent.subject_id.in_(_visible(actor))).subquery())
    rows = session.execute(
        select(Claim.id, Claim.member_id, User.name, Claim.created_at, withdrawn.c.at)
        .join(withdrawn, withdrawn.c.claim_id == Claim.id).join(User, User.id == Claim.member_id)
        .where(select(HouseholdNoteRead.id).where(
            HouseholdNoteRead.task_id == Claim.task_id, HouseholdNoteRead.user_id == Claim.member_id,
            HouseholdNoteRead.read_at >= Claim.created_at, HouseholdNoteRead.read_at <= withdrawn.c.at).exists())
        .order_by(withdrawn.c.at)
    ).all()
    window = timedelta(minutes=minutes)
    by_member: dict[int, Flag] = {}
    for claim_id, member_id, name, claimed_at, withdrawn_at in rows:
        if withdrawn_at - claimed_at > window:
            continue
        flag = by_member.setdefault(member_id, Flag("note_harvest", [], name, withdrawn_at,
                                                    {"count": 0, "minutes": minutes}, key=str(member_id)))
        flag.claim_ids.append(claim_id)
        flag.params["count"] += 1
        flag.at = withdrawn_at
    return sorted(by_member.values(), key=lambda f: f.at, reverse=True)


def _by_kind(session, actor, kind: str, t: Thresholds) -> list[Flag]:
    if kind == "quick_report":
        return quick_reports(session, actor, t.quick_minutes)
    if kind == "duplicate_photo":
        return duplicate_photos(session, actor)
    if kind == "missing_location":
        return missing_locations(session, actor)
    if kind == "approval_burst":
        return approval_bursts(session, actor, t.burst_count, t.burst_minutes)
    if kind == "over_limit":
        return over_limit(session, actor)
    return note_harvests(session, actor, t.harvest_minutes)


def anomalies(session, actor, thresholds: Thresholds | None = None, *, start=None, end=None,
              town_id: int | None = None) -> dict[str, list[Flag]]:
    """Every kind of flag for the actor's scope, newest first within each kind, each with its review
    (if any). `start`/`end` (naive UTC, [start, end)) keep the flags raised then; `town_id` those
    touching a claim on a task of that town."""
    t = thresholds or Thresholds()
    flags = {kind: _by_kind(session, actor, kind, t) for kind in KINDS}
    in_town = None
    if town_id is not None:
        in_town = set(session.scalars(
            select(Claim.id).join(Task, Task.id == Claim.task_id).join(Community, Community.id == Task.community_id)
            .where(Community.town_id == town_id, scope.claim_filter(actor))))
    reviews = {(r.kind, r.flag_key): r for r in session.scalars(select(FlagReview))} if any(flags.values()) else {}
    for kind, items in flags.items():
        kept = []
        for flag in items:
            if start is not None and flag.at < start or end is not None and flag.at >= end:
                continue
            if in_town is not None and not in_town.intersection(flag.claim_ids):
                continue
            flag.review = reviews.get((kind, flag.key))
            kept.append(flag)
        flags[kind] = kept
    return flags


NOTE_LENGTH = 1000


def review_flag(actor, kind: str, key: str, note: str = "", *, request_id: str | None = None,
                now=None) -> FlagReview:
    """Mark a flag the actor can see as reviewed, with a note: stored with who and when, and recorded on
    the actor's security-log chain in the same transaction. One review per flag (409 `conflict` again)."""
    if getattr(actor, "role", None) not in ("supervisor", "admin"):
        raise Forbidden("only supervisors and admins review anomaly flags")
    if kind not in KINDS:
        raise NotFound("no such flag")
    note = (note or "").strip()
    if len(note) > NOTE_LENGTH:
        raise InvalidInput("invalid review", errors={"note": [f"Longer than maximum length {NOTE_LENGTH}."]})
    now = now or utcnow()
    with write_transaction() as session:
        if not any(f.key == key for f in _by_kind(session, actor, kind, Thresholds())):
            raise NotFound("no such flag")  # unknown, gone, or outside the caller's scope
        if session.scalar(select(FlagReview.id).where(FlagReview.kind == kind, FlagReview.flag_key == key)):
            raise Conflict("this flag has been reviewed already", field="flag")
        review = FlagReview(kind=kind, flag_key=key, note=note, reviewer_id=actor.id, reviewed_at=now)
        session.add(review)
        session.flush()
        security_log.record(session, actor, "review_flag", details={"kind": kind, "key": key, "review": review.id},
                            request_id=request_id, now=now)
    return review
