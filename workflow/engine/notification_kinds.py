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


# --- registrations (报到) --------------------------------------------------------------------------

def _day(value) -> str:
    """A term's last day on the district's calendar (its end is 00:00 of the next day)."""
    from datetime import timedelta

    from ..clock import district_date
    return district_date(value - timedelta(seconds=1)).isoformat() if value is not None else ""


@notification_kind("registration_applied", subject="registration", audience=("staff",), default="digest",
                   title=_l("An application to register"),
                   text=_l("%(member)s (%(unit)s) applied to register with %(community)s."))
def registration_applied(ctx):
    member = ctx.subject.member
    return {"member": member.name, "unit": member.unit.name if member.unit else "—",
            "community": ctx.subject.community.short_name}


@notification_kind("registration_waiting", subject="registration", audience=("staff",), default="digest",
                   title=_l("An application is waiting"),
                   text=_l("The application of %(member)s to register with %(community)s has waited %(days)s days."))
def registration_waiting(ctx):
    return {"member": ctx.subject.member.name, "community": ctx.subject.community.short_name,
            "days": ctx.days_in_state}


@notification_kind("registration_accepted", subject="registration", audience=("member",),
                   title=_l("Your registration was accepted"),
                   text=_l("%(community)s accepted your registration (grid: %(grid)s)."))
def registration_accepted(ctx):
    grid = ctx.subject.grid
    return {"community": ctx.subject.community.short_name, "grid": grid.name if grid is not None else "—"}


@notification_kind("registration_declined", subject="registration", audience=("member",),
                   title=_l("Your registration was declined"),
                   text=_l("%(community)s declined your registration: %(reason)s"))
def registration_declined(ctx):
    return {"community": ctx.subject.community.short_name, "reason": ctx.data.get("reason") or ""}


@notification_kind("registration_lapsing", subject="registration", audience=("member",),
                   title=_l("Your registration ends soon"),
                   text=_l("Your registration with %(community)s ends on %(day)s: renew it from 1 December."))
def registration_lapsing(ctx):
    return {"community": ctx.subject.community.short_name, "day": _day(ctx.subject.term_ends_at)}


# --- pairings (结对共建) ------------------------------------------------------------------------------

def _pairing(ctx) -> dict:
    return {"unit": ctx.subject.unit.name, "community": ctx.subject.community.short_name}


@notification_kind("pairing_proposed", subject="pairing", audience=("staff",),
                   title=_l("A unit proposes to pair with your community"),
                   text=_l("%(unit)s proposes a co-building pairing with %(community)s until %(day)s."))
def pairing_proposed(ctx):
    return {**_pairing(ctx), "day": ctx.subject.ends_on.isoformat()}


@notification_kind("pairing_accepted", subject="pairing", audience=("liaison",),
                   title=_l("Your pairing was accepted"),
                   text=_l("%(community)s accepted the pairing with %(unit)s: it runs until %(day)s."))
def pairing_accepted(ctx):
    return {**_pairing(ctx), "day": ctx.subject.ends_on.isoformat()}


@notification_kind("pairing_declined", subject="pairing", audience=("liaison",),
                   title=_l("Your pairing was declined"),
                   text=_l("%(community)s declined the pairing with %(unit)s: %(reason)s"))
def pairing_declined(ctx):
    return {**_pairing(ctx), "reason": ctx.data.get("reason") or ""}


@notification_kind("pairing_ended", subject="pairing", audience=("liaison", "staff"),
                   title=_l("A pairing was ended"),
                   text=_l("The pairing of %(unit)s with %(community)s was ended: %(reason)s"))
def pairing_ended(ctx):
    return {**_pairing(ctx), "reason": ctx.data.get("reason") or ""}


@notification_kind("pairing_lapsing", subject="pairing", audience=("liaison", "staff"),
                   title=_l("A pairing ends soon"),
                   text=_l("The pairing of %(unit)s with %(community)s ends on %(day)s: renew it before then if "
                           "the work goes on."))
def pairing_lapsing(ctx):
    return {**_pairing(ctx), "day": ctx.subject.ends_on.isoformat()}


# --- projects (项目清单) -----------------------------------------------------------------------------

@notification_kind("project_taken", subject="project", audience=("staff",), default="digest",
                   title=_l("A unit took on a project"),
                   text=_l("%(unit)s took on “%(project)s”."))
def project_taken(ctx):
    return {"project": ctx.subject.title, "unit": ctx.subject.unit.name if ctx.subject.unit else "—"}


@notification_kind("project_reported", subject="project", audience=("staff",),
                   title=_l("A project report to review"),
                   text=_l("%(unit)s reported “%(project)s” complete; it waits for your review."))
def project_reported(ctx):
    return {"project": ctx.subject.title, "unit": ctx.subject.unit.name if ctx.subject.unit else "—"}


@notification_kind("project_returned", subject="project", audience=("liaison",),
                   title=_l("Your project report was returned"),
                   text=_l("The report on “%(project)s” was returned for more: %(reason)s"))
def project_returned(ctx):
    return {"project": ctx.subject.title, "reason": ctx.data.get("reason") or ""}


@notification_kind("project_approved", subject="project", audience=("liaison",),
                   title=_l("Your project was approved"),
                   text=_l("%(community)s approved “%(project)s” as done."))
def project_approved(ctx):
    return {"project": ctx.subject.title, "community": ctx.subject.community.short_name}


@notification_kind("project_cancelled", subject="project", audience=("liaison",),
                   title=_l("A project was cancelled"),
                   text=_l("%(community)s cancelled “%(project)s”: %(reason)s"))
def project_cancelled(ctx):
    return {"project": ctx.subject.title, "community": ctx.subject.community.short_name,
            "reason": ctx.data.get("reason") or ""}


@notification_kind("project_report_waiting", subject="project", audience=("staff",), default="digest",
                   title=_l("A project report is waiting"),
                   text=_l("The completion report on “%(project)s” has waited %(days)s days for your review."))
def project_report_waiting(ctx):
    return {"project": ctx.subject.title, "days": ctx.days_in_state}
