"""Notifications: written with their cause, read in the reader's language.

Writing — `notify(...)` runs inside the transaction of the transition or timer that causes it
(transitions.step calls it for a trigger's `notify:`; services/timers.py for a timer's), so a
rolled-back change leaves no notification and a committed one always has its notifications.
For each `{kind, to}` it resolves the recipients through the subject kind (the claimant, the
community's staff, the supervisors over the community), leaves out the actor (nobody is told
about what they just did themselves), stores one row per person — the kind and its parameters,
never prose — and queues the external channel's messages (services/outbox.py).

Reading — the inbox (newest first, paged), the unread count for the bell (at most
UNREAD_CAP counted: one small index range), marking one, several or all read, and the text of
a notification rendered in the reader's language (`locale`, Chinese by default: workflow/i18n.py,
the pages' own catalogue). A stored kind or parameter that no longer fits renders as the kind's
title rather than failing the page.
"""
from datetime import datetime

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import bindparam, func, insert, select, update

from ..clock import utcnow
from ..i18n import DEFAULT_LOCALE, format_datetime, gettext
from ..engine.notification_kinds import NOTIFICATION_KINDS, NoticeContext
from ..errors import InvalidInput
from ..models import Notification
from . import outbox
from .subjects import kind as subject_kind
from .tx import write_transaction

# The bell shows "99+" beyond this: counting stops there (a bounded index range per page view).
UNREAD_CAP = 100
# At most this many ids in one "mark read" request.
MAX_IDS = 1000


# --- writing ---------------------------------------------------------------------------------

_INSERT_RETURNING = insert(Notification.__table__).returning(Notification.__table__.c.id,
                                                             Notification.__table__.c.user_id)


def notify(session, specs, *, subject_type: str, row, related: dict, actor, now: datetime, data: dict | None = None,
           trigger: str | None = None, timer=None) -> list[int]:
    """Write the notifications `specs` (NotifySpec) ask for about `row`; returns their ids."""
    kind = subject_kind(subject_type)
    written_ids: list[int] = []
    postgres = session.get_bind().dialect.name == "postgresql"
    for spec in specs:
        notification_kind = NOTIFICATION_KINDS[spec.kind]
        query = kind.recipients_query(spec.to[0], row, related) if postgres and len(spec.to) == 1 else None
        if query is not None:
            # One statement: INSERT … SELECT from the people the relation names (the community's staff,
            # say), the actor left out, in the order of their ids — as below, without reading them first.
            # The parameters are computed before it is known whether anyone is told.
            params = notification_kind.params(NoticeContext(
                session=session, subject_type=subject_type, subject=row, related=related, data=data or {},
                now=now, actor=actor, trigger=trigger, timer=timer))
            session.flush()  # anything still pending first (a no-op after a transition), as below
            statement, query_params = query
            pairs = [tuple(pair) for pair in session.connection().execute(_insert_from(statement), {
                **query_params, "n_kind": spec.kind, "n_subject_type": subject_type, "n_subject_id": row.id,
                "n_params": params, "n_created_at": now, "n_actor_id": actor.id})]
            outbox.enqueue(session, notification_kind, pairs, now=now)
            written_ids += [notification_id for notification_id, _ in pairs]
            continue
        people: list[int] = []
        for relation in spec.to:
            for user_id in kind.recipients(session, relation, row, related):
                if user_id != actor.id and user_id not in people:
                    people.append(user_id)
        if not people:
            continue
        params = notification_kind.params(NoticeContext(
            session=session, subject_type=subject_type, subject=row, related=related, data=data or {}, now=now,
            actor=actor, trigger=trigger, timer=timer))
        session.flush()  # anything still pending first (a no-op after a transition: its subject is written)
        written = session.connection().execute(  # a Core statement: none of the ORM's execution
            _INSERT_RETURNING,
            [{"user_id": user_id, "kind": spec.kind, "subject_type": subject_type, "subject_id": row.id,
              "params": params, "created_at": now} for user_id in people],
        ).all()
        pairs = [(notification_id, user_id) for notification_id, user_id in written]
        outbox.enqueue(session, notification_kind, pairs, now=now)
        written_ids += [notification_id for notification_id, _ in pairs]
    return written_ids


_FROM: dict = {}


def _insert_from(people_query):
    """INSERT INTO notifications (user_id, kind, subject_type, subject_id, params, created_at) SELECT id,
    :n_kind, … FROM (<people_query>) WHERE id IS DISTINCT FROM :n_actor_id ORDER BY id RETURNING id,
    user_id — built once per query (recipients.py builds those once)."""
    statement = _FROM.get(people_query)
    if statement is None:
        table = Notification.__table__
        people = people_query.subquery("people")
        rows = select(people.c.id, *(bindparam(f"n_{name}", type_=table.c[name].type)
                                     for name in ("kind", "subject_type", "subject_id", "params", "created_at")))
        rows = rows.where(people.c.id.is_distinct_from(bindparam("n_actor_id"))).order_by(people.c.id)
        statement = _FROM[people_query] = (
            insert(table).from_select(["user_id", "kind", "subject_type", "subject_id", "params", "created_at"], rows)
            .returning(table.c.id, table.c.user_id))
    return statement


# --- reading ---------------------------------------------------------------------------------

def unread_count(session, user_id: int, *, cap: int = UNREAD_CAP) -> int:
    """Unread notifications of one person, counted up to `cap` (the bell shows "99+" beyond).

    Newest first on purpose: it makes the plan the partial index over unread rows, read
    backwards. Without an order PostgreSQL may choose a sequential scan that stops at the
    `cap`-th match — quick when matches are spread evenly, but unread rows are the newest, at
    the end of the table (docs/performance.md, "Inbox")."""
    unread = select(Notification.id).where(Notification.user_id == user_id, Notification.read_at.is_(None)) \
        .order_by(Notification.id.desc()).limit(cap).subquery()
    return session.scalar(select(func.count()).select_from(unread))


def inbox_query(user_id: int, *, unread_only: bool = False):
    """A person's notifications, newest first (ordered here too, so that a capped count over this
    query walks the (user_id, id) index as the page does)."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query.order_by(Notification.id.desc())


def inbox(session, user_id: int, *, unread_only: bool = False, offset: int = 0, limit: int = 20) -> list:
    """One page of a person's notifications, newest first."""
    return session.scalars(inbox_query(user_id, unread_only=unread_only)
                           .order_by(Notification.id.desc()).offset(offset).limit(limit)).all()


def mark_read(user_id: int, *, ids=None, everything: bool = False, now: datetime | None = None) -> int:
    """Mark some (`ids`) or all of a person's unread notifications read. Ids that are not the
    person's, or already read, are left alone. Returns how many changed."""
    now = now or utcnow()
    condition = [Notification.user_id == user_id, Notification.read_at.is_(None)]
    if not everything:
        ids = sorted({int(i) for i in ids or ()})
        if not ids:
            return 0
        condition.append(Notification.id.in_(ids))
    with write_transaction() as session:
        result = session.execute(update(Notification).where(*condition).values(read_at=now)
                                 .execution_options(synchronize_session=False))
    return result.rowcount


class MarkReadInput(Schema):
    """`{"ids": [1, 2]}` (some) or `{"all": true}` (every unread one): exactly one of them."""

    class Meta:
        unknown = RAISE

    ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1)),
                      validate=validate.Length(min=1, max=MAX_IDS),
                      metadata={"description": f"ids of the caller's notifications (at most {MAX_IDS}); "
                                               "others' ids and read ones are left alone"})
    all = fields.Boolean(metadata={"description": "true: every unread notification of the caller"})

    @validates_schema
    def _one_of(self, data, **kwargs):
        if ("ids" in data) == ("all" in data):
            raise ValidationError("Send either ids or all, not both and not neither.", "_schema")
        if "all" in data and data["all"] is not True:
            raise ValidationError("Only true is allowed: send ids to mark some.", "all")


def mark_read_input(user_id: int, data) -> int:
    """Validate a request to mark notifications read (MarkReadInput), then mark them."""
    try:
        loaded = MarkReadInput().load(data if isinstance(data, dict) else {})
    except ValidationError as exc:
        raise InvalidInput("invalid input for marking notifications read", errors=exc.normalized_messages()) from None
    return mark_read(user_id, ids=loaded.get("ids"), everything=bool(loaded.get("all")))


def mark_subject_read(session, user_id: int, subject_type: str, subject_id: int, *, now=None) -> int:
    """Opening an object reads what one was told about it. Writes only when there is something
    unread about it (one indexed read otherwise)."""
    unread = select(Notification.id).where(
        Notification.user_id == user_id, Notification.read_at.is_(None),
        Notification.subject_type == subject_type, Notification.subject_id == subject_id)
    if session.scalar(unread.limit(1)) is None:
        return 0
    with write_transaction() as tx:
        result = tx.execute(update(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None),
            Notification.subject_type == subject_type, Notification.subject_id == subject_id)
            .values(read_at=now or utcnow()).execution_options(synchronize_session=False))
    return result.rowcount


# --- words -----------------------------------------------------------------------------------

class _Params(dict):
    """Parameters for a message: one that is missing shows as an ellipsis, never an error."""

    def __missing__(self, key):
        return "…"


def _time_text(value, locale: str) -> str:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(tzinfo=None)
        return format_datetime(moment, "yyyy-MM-dd HH:mm", locale=locale)
    except (ValueError, OverflowError):
        return str(value)


def title(kind_name: str, locale: str = DEFAULT_LOCALE) -> str:
    spec = NOTIFICATION_KINDS.get(kind_name)
    return gettext(spec.title, locale=locale) if spec is not None else kind_name


def text(kind_name: str, params: dict | None, locale: str = DEFAULT_LOCALE) -> str:
    """A notification's words in the reader's language (Chinese unless told otherwise)."""
    spec = NOTIFICATION_KINDS.get(kind_name)
    if spec is None:  # a kind no longer registered: say what it was rather than fail
        return kind_name
    values = _Params(params if isinstance(params, dict) else {})
    for name in spec.times:
        if name in values:
            values[name] = _time_text(values[name], locale)
    try:
        return gettext(spec.text, locale=locale) % values
    except (TypeError, ValueError):
        return gettext(spec.title, locale=locale)
