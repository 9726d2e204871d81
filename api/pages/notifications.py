"""Notification pages: the bell in every page's header, the inbox, each person's settings, and
the admins' view of the outbox (what e-mail could not deliver).

- The bell's count is one query over a small partial index (services/notifications.py,
  `unread_count`, capped at 99+), computed only when a page is rendered for a signed-in person.
- Opening an object (a claim's or task's page), or acting on it (a trigger's page or form, e.g.
  staff approving from their queue), marks what one was told about it read: the item in the
  inbox links straight to the object, and work done leaves no unread reminder of itself.
- Texts are rendered now, in the page's language; nothing here counts anybody's logins or
  ranks anybody (the 2026 rules on government apps).
"""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from workflow.errors import InvalidInput
from workflow.extensions import db
from workflow.models import Notification, OutboxMessage, User
from workflow.services import delivery, notifications, preferences
from workflow.services.outbox import LANGUAGES

from . import common
from .forms import ActionForm

bp = Blueprint("notify", __name__)
common.page_blueprint_setup(bp)
PAGE = 20
MAX_PAGE = 100_000

# The page of each kind of subject a notification can be about: (endpoint, its id argument).
# A new kind of subject adds its page here.
SUBJECT_PAGES = {"claim": ("shared.claim", "claim_id"), "task": ("shared.task", "task_id"),
                 "registration": ("registration.detail", "registration_id"),
                 "pairing": ("unit.pairing", "pairing_id"), "project": ("unit.project", "project_id")}
OPENING = {endpoint for endpoint, _arg in SUBJECT_PAGES.values()}


def subject_path(subject_type: str, subject_id: int, **kwargs) -> str | None:
    target = SUBJECT_PAGES.get(subject_type)
    if target is None:
        return None
    return url_for(target[0], **{target[1]: subject_id}, **kwargs)


def external_links(app):
    """Links for e-mails: the object's page (or, for "settings", the settings page) at
    BAODAO_BASE_URL. None (no links) when the site's address is not configured."""
    base = (app.config.get("BAODAO_BASE_URL") or "").rstrip("/")
    if not base:
        return None

    def link(subject_type, subject_id):
        with app.test_request_context("/", base_url=base):
            if subject_type == "settings":
                return url_for("notify.settings", _external=True)
            return subject_path(subject_type, subject_id, _external=True)
    return link


# --- the bell and "opened = read", for every page ------------------------------------------------

def unread_notifications():
    """The signed-in person's unread count for the bell (once per request); None when it cannot
    be had (a database trouble must not break the page that shows it)."""
    if not current_user.is_authenticated:
        return None
    if "_bell" not in g:
        try:
            g._bell = notifications.unread_count(db.session, current_user.id)
        except SQLAlchemyError:  # the page itself decides how a database trouble shows
            try:
                db.session.rollback()
            except SQLAlchemyError:
                pass
            g._bell = None
    return g._bell


# A subject's trigger pages (api/pages/actions.py): the `path` of their URL → the subject type.
TRIGGER_PAGES = {"claims": "claim", "tasks": "task", "registrations": "registration", "pairings": "pairing",
                 "projects": "project"}


def _subject_of_request() -> tuple[str | None, object]:
    """The subject this page request opens (a GET of its page or one of its trigger pages) or acts
    on (a trigger's POST, e.g. staff approving from the queue)."""
    args = request.view_args or {}
    if request.endpoint == "actions.fire":
        return TRIGGER_PAGES.get(args.get("path")), args.get("subject_id")
    if request.method == "GET":
        for subject_type, (endpoint, arg) in SUBJECT_PAGES.items():
            if endpoint == request.endpoint:
                return subject_type, args.get(arg)
    return None, None


def _opened_subject():
    """Opening a subject, or acting on it, reads what one was told about it."""
    if request.endpoint != "actions.fire" and (request.method != "GET" or request.endpoint not in OPENING):
        return
    subject_type, subject_id = _subject_of_request()
    if subject_type is None or not isinstance(subject_id, int) or not current_user.is_authenticated:
        return
    notifications.mark_subject_read(db.session, current_user.id, subject_type, subject_id)


def init_app(app) -> None:
    app.jinja_env.globals.update(unread_notifications=unread_notifications)
    app.before_request(_opened_subject)


# --- the inbox ------------------------------------------------------------------------------------

def _page_number() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


@bp.get("/notifications")
@common.roles("member", "staff", "supervisor", "liaison", "admin")
def inbox():
    me = common.actor()
    page = _page_number()
    unread_only = request.args.get("unread") == "1"
    rows = notifications.inbox(db.session, me.id, unread_only=unread_only, offset=(page - 1) * PAGE, limit=PAGE + 1)
    items = [{"id": n.id, "text": notifications.text(n.kind, n.params, _locale()), "title": notifications.title(n.kind, _locale()),
              "created_at": n.created_at, "unread": n.read_at is None,
              "href": subject_path(n.subject_type, n.subject_id)} for n in rows[:PAGE]]
    return render_template("notify/inbox.html", items=items, page=page, more=len(rows) > PAGE,
                           unread_only=unread_only, unread=unread_notifications(), form=ActionForm())


def _back():
    return redirect(common.safe_next(request.form.get("next"), url_for("notify.inbox")))


@bp.post("/notifications/<int:notification_id>/read")
@common.roles("member", "staff", "supervisor", "liaison", "admin")
def mark_one(notification_id):
    if not ActionForm().validate_on_submit():
        return common.error_page(400)
    me = common.actor()
    mine = db.session.scalar(select(Notification.id).where(Notification.id == notification_id,
                                                           Notification.user_id == me.id))
    if mine is None:  # another person's, or none: not found (whether it exists is not the caller's business)
        return common.error_page(404)
    notifications.mark_read(me.id, ids=[notification_id])
    return _back()


@bp.post("/notifications/read")
@common.roles("member", "staff", "supervisor", "liaison", "admin")
def mark_all():
    if not ActionForm().validate_on_submit():
        return common.error_page(400)
    marked = notifications.mark_read(common.actor().id, everything=True)
    flash(_("%(count)s notifications marked read.", count=marked), "success")
    return _back()


# --- settings -------------------------------------------------------------------------------------

MODE_LABELS = {"immediate": _l("Immediately"), "digest": _l("In a daily digest"), "in_app": _l("In the app only")}


@bp.route("/notifications/settings", methods=["GET", "POST"])
@common.roles("member", "staff", "supervisor", "liaison", "admin")
def settings():
    me = common.actor()
    form = ActionForm()
    errors: dict = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            return common.error_page(400)
        kinds = preferences.kinds_for(me.role)
        modes = {k.name: request.form.get(f"mode_{k.name}", k.default) for k in kinds}
        quiet = None
        if request.form.get("quiet_on"):
            quiet = ((request.form.get("quiet_start") or "").strip(), (request.form.get("quiet_end") or "").strip())
        language = request.form.get("language", "zh_CN")
        try:
            preferences.save(me, modes=modes, quiet_hours=quiet, language=language)
        except InvalidInput as exc:
            db.session.rollback()
            errors = exc.errors or {}
            flash(_("Please correct the marked settings."), "error")
        else:
            flash(_("Notification settings saved."), "success")
            return redirect(url_for("notify.settings"))
    prefs = preferences.load(db.session, me)
    if request.method == "POST" and errors:  # show what was sent, next to its error
        prefs.modes.update({k.name: request.form.get(f"mode_{k.name}", prefs.modes[k.name]) for k in prefs.kinds})
    return render_template("notify/settings.html", prefs=prefs, form=form, errors=errors,
                           mode_labels={m: str(label) for m, label in MODE_LABELS.items()},
                           titles={k.name: notifications.title(k.name, _locale()) for k in prefs.kinds},
                           languages=LANGUAGES, email=me.email,
                           email_on=bool(current_app.config.get("BAODAO_SMTP_URL")),
                           quiet_form=(request.form if request.method == "POST" else None))


# --- the admins' outbox ---------------------------------------------------------------------------

@bp.get("/admin/outbox")
@common.roles("admin")
def outbox():
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count(OutboxMessage.id))
                                     .group_by(OutboxMessage.status)).all())
    trouble = db.session.execute(
        select(OutboxMessage, Notification.kind, User.username, User.name)
        .join(Notification, Notification.id == OutboxMessage.notification_id)
        .join(User, User.id == OutboxMessage.user_id)
        .where((OutboxMessage.status == "failed")
               | ((OutboxMessage.status == "pending") & OutboxMessage.last_error.is_not(None)))
        .order_by(OutboxMessage.id.desc()).limit(100)).all()
    return render_template("admin/outbox.html", counts=counts, rows=trouble, form=ActionForm(),
                           email_on=bool(current_app.config.get("BAODAO_SMTP_URL")))


@bp.post("/admin/outbox/retry")
@common.roles("admin")
def retry():
    if not ActionForm().validate_on_submit():
        return common.error_page(400)
    raw = request.form.getlist("id")
    if raw == ["all"]:
        ids = db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "failed")).all()
    else:
        ids = [int(i) for i in raw if i.isdigit() and len(i) < 10]
    count = delivery.retry_failed(ids)
    flash(_("%(count)s messages will be sent again.", count=count), "success")
    return redirect(url_for("notify.outbox"))


def _locale() -> str:
    """The page's language as the notification texts take it."""
    return "en" if common.is_english() else "zh_CN"
