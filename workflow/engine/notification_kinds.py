"""The notification kinds a definition may name: what a person is told, in their language.

Like guards and effects this is an allow-list: a definition's `notify: [{kind, to}]` (on a
trigger or a timer) must name a kind registered here, for its own subject. A notification is
stored as its kind and parameters (never as prose), and its text is rendered when it is read,
in the reader's language: the English `text` below is the msgid, the Chinese is in
translations/zh/LC_MESSAGES/messages.po (pybabel finds these strings by the `_l` marker).

A kind says:
- `subject`: the kind of subject it speaks about (claim, task, registration, …);
- `text` / `title`: the message with `%(name)s` parameters, and a short title (an e-mail's
  subject line);
- `audience`: the user roles who may receive it (the preferences page lists it for them);
- `default`: how the external channel (e-mail) sends it unless the person chose otherwise —
  `immediate`, `digest` (one message a day) or `in_app` (no e-mail);
- `times`: parameters holding a time (shown in the district's time zone);
- `escalation`: work waiting too long, shown to supervisors on their dashboard as overdue;
- the decorated function: the parameters, read from the subject when the notification is
  written (inside the transaction of its cause).

Adding a kind: a function here, its msgids in messages.po (Chinese), and `notify:` in a
definition (docs/workflow.md, "Timers and notifications").
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..clock import iso

# Delivery modes of the external channel, per person and kind.
MODES = ("immediate", "digest", "in_app")


def _l(msgid: str) -> str:
    """Marks a msgid for pybabel (`-k _l`); translated when a notification is rendered."""
    return msgid


@dataclass
class NoticeContext:
    """What a kind's parameter function reads: the subject and its related rows (locked by the
    transition or timer that causes the notification), the trigger's input, the time."""

    session: Any
    subject_type: str
    subject: Any
    related: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    now: datetime | None = None
    actor: Any = None
    trigger: str | None = None  # the trigger that caused it, or None for a timer
    timer: Any = None  # the TimerSpec that caused it

    def _row(self, kind: str):
        return self.subject if self.subject_type == kind else self.related.get(kind)

    @property
    def claim(self):
        return self._row("claim")

    @property
    def task(self):
        return self._row("task")

    @property
    def days_in_state(self) -> int:
        """Whole days since the subject entered its current state (at least 1)."""
        entered = getattr(self.subject, "updated_at", None) or self.now
        return max(int((self.now - entered).total_seconds() // 86400), 1)


@dataclass(frozen=True)
class NotificationKind:
    name: str
    subject: str
    text: str
    title: str
    audience: tuple[str, ...]
    default: str
    params: Callable[[NoticeContext], dict]
    times: tuple[str, ...] = ()
    escalation: bool = False


NOTIFICATION_KINDS: dict[str, NotificationKind] = {}


def notification_kind(name: str, *, subject: str, text: str, title: str, audience: tuple[str, ...],
                      default: str = "immediate", times: tuple[str, ...] = (), escalation: bool = False):
    if default not in MODES:
        raise ValueError(f"notification kind {name}: default must be one of {MODES}")

    def register(fn: Callable[[NoticeContext], dict]):
        NOTIFICATION_KINDS[name] = NotificationKind(name=name, subject=subject, text=text, title=title,
                                                    audience=tuple(audience), default=default, params=fn,
                                                    times=tuple(times), escalation=escalation)
        return fn
    return register


# --- claims ---------------------------------------------------------------------------------

def _task_title(ctx: NoticeContext) -> str:
    return ctx.task.title


@notification_kind("claim_reported", subject="claim", audience=("staff",), default="digest",
                   title=_l("A report to verify"),
                   text=_l("%(member)s reported on “%(task)s”; it waits for your verification."))
def claim_reported(ctx):
    return {"task": _task_title(ctx), "member": ctx.claim.member.name}


@notification_kind("claim_returned", subject="claim", audience=("member",),
                   title=_l("Your report was returned"),
                   text=_l("Your report on “%(task)s” was returned for more: %(reason)s"))
def claim_returned(ctx):
    return {"task": _task_title(ctx), "reason": ctx.data.get("reason") or ""}


@notification_kind("claim_approved", subject="claim", audience=("member",),
                   title=_l("Your work was approved"),
                   text=_l("Your work on “%(task)s” was approved: %(points)s points."))
def claim_approved(ctx):
    return {"task": _task_title(ctx), "points": ctx.task.points}


@notification_kind("claim_rejected", subject="claim", audience=("member",),
                   title=_l("Your report was not approved"),
                   text=_l("Your report on “%(task)s” was not approved: %(reason)s"))
def claim_rejected(ctx):
    return {"task": _task_title(ctx), "reason": ctx.data.get("reason") or ""}


@notification_kind("claim_cancelled", subject="claim", audience=("member",),
                   title=_l("A task you claimed was cancelled"),
                   text=_l("“%(task)s” was cancelled, and your claim with it: %(reason)s"))
def claim_cancelled(ctx):
    return {"task": _task_title(ctx), "reason": ctx.data.get("reason") or ""}


@notification_kind("claim_expired", subject="claim", audience=("member",), default="in_app",
                   title=_l("Your claim expired"),
                   text=_l("Your claim on “%(task)s” expired at its deadline."))
def claim_expired(ctx):
    return {"task": _task_title(ctx)}


@notification_kind("claim_deadline_near", subject="claim", audience=("member",), times=("deadline",),
                   title=_l("A deadline is near"),
                   text=_l("“%(task)s” is due at %(deadline)s: submit your report, or withdraw, before then."))
def claim_deadline_near(ctx):
    return {"task": _task_title(ctx), "deadline": iso(ctx.task.deadline)}


@notification_kind("claim_report_waiting", subject="claim", audience=("staff",), default="digest",
                   title=_l("A report is waiting"),
                   text=_l("The report on “%(task)s” has waited %(days)s days for verification."))
def claim_report_waiting(ctx):
    return {"task": _task_title(ctx), "days": ctx.days_in_state}


@notification_kind("claim_report_escalated", subject="claim", audience=("supervisor",), default="digest",
                   escalation=True, title=_l("Overdue verification"),
                   text=_l("The report on “%(task)s” (%(community)s) has waited %(days)s days for verification."))
def claim_report_escalated(ctx):
    return {"task": _task_title(ctx), "community": ctx.task.community.name, "days": ctx.days_in_state}
