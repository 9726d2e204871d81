"""The delivery run: send what the outbox has due, each exactly once, retrying with back-off.

`flask --app wsgi notify deliver` (every minute, on every node). Per person with something due:

1. **Take** (one short transaction): their due rows, locked `FOR UPDATE SKIP LOCKED` on
   PostgreSQL (another worker skips them instead of waiting; on SQLite the immediate
   transaction serialises workers), and not held by a live lease; each gets this worker's
   lease (`claimed_by`, `claimed_until`). Rows with nothing left to send are skipped here: read
   in the app meanwhile, the person deactivated or without an address.
2. **Send** (outside any transaction: a slow mail server holds no lock): one message, in the
   person's language — the notification itself, or, when several are due together (a daily
   digest, messages held by quiet hours), one digest listing them all.
3. **Mark** (one short transaction, only rows still under this worker's lease): sent; or, on
   failure, due again after a back-off (1, 5, 15, 60, 240 minutes), failed after MAX_ATTEMPTS
   or at once when the channel says retrying cannot help. Failed rows stay for the admins'
   outbox page, with the last error.

Two workers at once never take the same row, so nothing is sent twice; a worker that dies
between sending and marking leaves its rows to be taken again when the lease ends (10
minutes) — the one case where a message can go out twice, as with any mail system.
"""
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select, update

from ..clock import utcnow
from ..extensions import db
from ..i18n import gettext
from ..models import Notification, NotificationSettings, OutboxMessage, User
from . import notifications
from .channels import DeliveryFailure, Outgoing
from .tx import write_transaction

log = logging.getLogger("baodao.delivery")

LEASE = timedelta(minutes=10)
BACKOFF_MINUTES = (1, 5, 15, 60, 240)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
PEOPLE_PER_ROUND = 200


@dataclass
class DeliveryResult:
    messages: int = 0  # messages handed to a channel (a digest is one)
    notifications: int = 0  # outbox rows sent in them
    retrying: int = 0  # rows that failed this time and will be tried again
    failed: int = 0  # rows given up on (shown to admins)
    skipped: int = 0  # rows with nothing left to send
    errors: list[str] = field(default_factory=list)


@dataclass
class _Item:
    outbox_id: int
    kind: str
    params: dict
    subject_type: str
    subject_id: int
    created_at: object


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _due(now, channel: str):
    return (OutboxMessage.status == "pending", OutboxMessage.channel == channel, OutboxMessage.due_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))


def _take(user_id: int, channel: str, worker: str, now) -> tuple[Outgoing | None, list[_Item], int]:
    """Lease this person's due rows to `worker`; (address and language, items, rows skipped)."""
    with write_transaction() as session:
        ids = session.scalars(select(OutboxMessage.id).where(OutboxMessage.user_id == user_id, *_due(now, channel))
                              .order_by(OutboxMessage.id).with_for_update(skip_locked=True)).all()
        if not ids:
            return None, [], 0
        person = session.execute(
            select(User.email, User.active, NotificationSettings.language)
            .outerjoin(NotificationSettings, NotificationSettings.user_id == User.id).where(User.id == user_id)).one()
        rows = session.execute(
            select(OutboxMessage.id, Notification.kind, Notification.params, Notification.subject_type,
                   Notification.subject_id, Notification.created_at, Notification.read_at)
            .join(Notification, Notification.id == OutboxMessage.notification_id)
            .where(OutboxMessage.id.in_(ids)).order_by(Notification.id)).all()
        unreachable = not person.active or not person.email
        skip = [r.id for r in rows if unreachable or r.read_at is not None]
        if skip:
            session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(skip))
                            .values(status="skipped", last_error="no address or inactive" if unreachable
                                    else "read in the app first", claimed_by=None, claimed_until=None)
                            .execution_options(synchronize_session=False))
        items = [_Item(r.id, r.kind, r.params, r.subject_type, r.subject_id, r.created_at)
                 for r in rows if r.id not in skip]
        if items:
            session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([i.outbox_id for i in items]))
                            .values(claimed_by=worker, claimed_until=now + LEASE, address=person.email)
                            .execution_options(synchronize_session=False))
    if not items:
        return None, [], len(skip)
    envelope = Outgoing(user_id=user_id, address=person.email, subject="", body="",
                        language=person.language or "zh_CN")
    return envelope, items, len(skip)


def compose(envelope: Outgoing, items: list[_Item], link) -> Outgoing:
    """The message in the person's language: one notification, or a digest listing them all."""
    language = envelope.language
    lines = []
    for item in items:
        where = link(item.subject_type, item.subject_id) if link else None
        lines.append(notifications.text(item.kind, item.params, language) + (f"\n{where}" if where else ""))
    if len(items) == 1:
        subject = gettext("[Baodao] %(title)s", locale=language, title=notifications.title(items[0].kind, language))
        body = lines[0]
    else:
        subject = gettext("[Baodao] %(count)s updates", locale=language, count=len(items))
        body = gettext("What happened since the last message:", locale=language) + "\n\n" + "\n\n".join(
            f"{n}. {line}" for n, line in enumerate(lines, 1))
    settings = link("settings", None) if link else None
    footer = gettext("You receive these messages from Baodao. How and when: your notification settings.",
                     locale=language)
    body += "\n\n--\n" + footer + (f"\n{settings}" if settings else "")
    envelope.subject, envelope.body = subject, body
    return envelope


def _mark_sent(items, worker, now) -> int:
    with write_transaction() as session:
        result = session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_([i.outbox_id for i in items]),
                                        OutboxMessage.claimed_by == worker)
            .values(status="sent", sent_at=now, attempts=OutboxMessage.attempts + 1, claimed_by=None,
                    claimed_until=None, last_error=None).execution_options(synchronize_session=False))
    return result.rowcount


def _mark_failed(items, worker, now, failure: DeliveryFailure) -> tuple[int, int]:
    """(retrying, failed) after a failed send."""
    retrying = failed = 0
    with write_transaction() as session:
        rows = session.execute(select(OutboxMessage.id, OutboxMessage.attempts).where(
            OutboxMessage.id.in_([i.outbox_id for i in items]), OutboxMessage.claimed_by == worker)).all()
        for row_id, attempts in rows:
            attempts += 1
            give_up = failure.permanent or attempts >= MAX_ATTEMPTS
            values = {"attempts": attempts, "claimed_by": None, "claimed_until": None, "last_error": str(failure)[:2000]}
            if give_up:
                values["status"] = "failed"
                failed += 1
            else:
                values["due_at"] = now + timedelta(minutes=BACKOFF_MINUTES[attempts - 1])
                retrying += 1
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
                            .execution_options(synchronize_session=False))
    return retrying, failed


def deliver(channels: dict, *, link=None, now=None, worker: str | None = None) -> DeliveryResult:
    """Send everything due on the given channels ({"email": EmailChannel(...)}). `link(subject_type,
    subject_id)` makes the address of an object's page for the message (None: no links)."""
    worker = worker or worker_name()
    result = DeliveryResult()
    for name, channel in channels.items():
        opened = False
        try:
            after = 0  # one pass over the people with something due, in id order
            while True:
                now_round = now or utcnow()
                people = db.session.scalars(select(OutboxMessage.user_id)
                                            .where(OutboxMessage.user_id > after, *_due(now_round, name))
                                            .group_by(OutboxMessage.user_id).order_by(OutboxMessage.user_id)
                                            .limit(PEOPLE_PER_ROUND)).all()
                db.session.rollback()
                if not people:
                    break
                after = people[-1]
                for user_id in people:
                    envelope, items, skipped = _take(user_id, name, worker, now_round)
                    result.skipped += skipped
                    if not items:
                        continue
                    message = compose(envelope, items, link)
                    if not opened:
                        channel.open()
                        opened = True
                    try:
                        channel.send(message)
                    except DeliveryFailure as failure:
                        retrying, failed = _mark_failed(items, worker, now or utcnow(), failure)
                        result.retrying += retrying
                        result.failed += failed
                        result.errors.append(f"user {user_id}: {failure}")
                        log.warning("delivery to user %s failed (%s): %s", user_id,
                                    "permanent" if failure.permanent else "will retry", failure)
                        continue
                    marked = _mark_sent(items, worker, now or utcnow())
                    if marked != len(items):  # our lease ran out and another worker took them over
                        log.warning("sent to user %s, but %s of %s rows had left this worker's lease",
                                    user_id, len(items) - marked, len(items))
                    result.messages += 1
                    result.notifications += marked
        finally:
            if opened:
                channel.close()
    return result


def retry_failed(outbox_ids, *, now=None) -> int:
    """An admin sends failed rows again: they are due now with their attempts reset."""
    ids = [int(i) for i in outbox_ids]
    if not ids:
        return 0
    with write_transaction() as session:
        result = session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.status == "failed")
                                 .values(status="pending", attempts=0, due_at=now or utcnow(), last_error=None)
                                 .execution_options(synchronize_session=False))
    return result.rowcount
