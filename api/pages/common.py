"""Shared helpers of the pages: login, locale, role checks, error pages, labels, template filters."""
from datetime import datetime
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import Babel, format_datetime, format_timedelta, get_locale, to_user_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, default_exceptions

from workflow import messages as wf_messages
from workflow import runtime
from workflow.clock import utcnow
from workflow.errors import DefinitionError, DomainError, InvalidInput
from workflow.extensions import db
from workflow.models import User

from ..requests import request_id  # noqa: F401  (re-exported for the page views)
from ..routing import INT32_MAX
from .messages import error_message, field_message, page_locale

LOCALES = ("zh_CN", "en")
LANG_COOKIE = "lang"
babel = Babel()
login_manager = LoginManager()
# A page POST may carry up to nine photos of 10 MB each.
PAGE_MAX_CONTENT_LENGTH = 95 * 1024 * 1024


# --- the signed-in user -------------------------------------------------------------------

class PageUser(UserMixin):
    """The Flask-Login user: wraps the User row and passes it to services as the actor."""

    def __init__(self, user: User):
        self._user = user

    def __getattr__(self, name):
        return getattr(self._user, name)

    def get_id(self):
        return str(self._user.id)

    @property
    def is_active(self):
        return bool(self._user.active)

    @property
    def row(self) -> User:
        return self._user


def actor():
    return current_user._get_current_object()


def request_file(name: str):
    """An uploaded file of a page POST, or None when none was chosen."""
    item = request.files.get(name)
    return item if item is not None and item.filename else None


def init_login(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    # "basic": a phone that changes network (and so address) keeps its session.
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id):
        if not str(user_id).isdigit():
            return None
        user = db.session.get(User, int(user_id))
        return PageUser(user) if user is not None and user.active else None


def roles(*allowed):
    """Log in first; then the caller's role must be one of `allowed`, else the 403 page."""
    def wrap(view):
        @wraps(view)
        def inner(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


# --- locale ------------------------------------------------------------------------------

def select_locale() -> str:
    chosen = request.args.get("lang") if request else None
    chosen = chosen or (request.cookies.get(LANG_COOKIE) if request else None)
    return chosen if chosen in LOCALES else "zh_CN"


def init_babel(app) -> None:
    babel.init_app(app, locale_selector=select_locale)


def is_english() -> bool:
    return str(get_locale()) == "en"


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a local path: never an absolute URL (open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


# --- labels from the definitions ---------------------------------------------------------

def _definition(name=None, version=None, subject="claim"):
    """The named definition version; without one, the active definition of `subject`."""
    rt = runtime.current()
    try:
        if name and version:
            return rt.registry.get(name, version).definition
        if name:
            return rt.registry.get(name, rt.active_version(name)).definition
    except DefinitionError:
        pass
    return rt.active(subject).definition


def state_label(state: str, name=None, version=None, subject="claim") -> str:
    try:
        spec = _definition(name, version, subject).state(state)
    except KeyError:
        return state
    return spec.label_en if is_english() else spec.label


# Audit events that are not a definition's triggers: a task's creation and its edits.
SERVICE_EVENTS = {"create": ("创建", "Created"), "edit": ("编辑", "Edited")}


def trigger_label(trigger: str, name=None, version=None, subject="claim") -> str:
    spec = _definition(name, version, subject).trigger(trigger)
    if spec is None:
        zh, en = SERVICE_EVENTS.get(trigger, (trigger, trigger.replace("_", " ")))
        return en if is_english() else zh
    return spec.label_en if is_english() else spec.label


def creating_label(subject: str) -> str:
    """The words of the action that starts a new instance of `subject` (认领 for a claim)."""
    trigger = runtime.current().active(subject).definition.creating_triggers[0]
    return trigger.label_en if is_english() else trigger.label


def task_status_label(status: str) -> str:
    """A task's status in the page's words, from the active task definition."""
    return state_label(status, subject="task")


def event_label(event: dict) -> str:
    """An audit event's trigger in words, from the definition it was recorded under."""
    name, _sep, version = (event.get("definition") or "").partition("@")
    subject = event.get("subject_type") or "claim"
    return trigger_label(event["trigger"], name or None, int(version) if version.isdigit() else None, subject)


def role_label(role: str) -> str:
    return {"member": _("Party member"), "staff": _("Community staff"), "supervisor": _("Supervisor"),
            "liaison": _("Unit liaison"), "admin": _("Administrator"), "system": _("System")}.get(role, role)


def scope_words(user) -> str:
    """A supervisor's scope as people say it: 全区, 凤城街道, 区教育和体育局 — never `town:370116001`."""
    if getattr(user, "role", None) != "supervisor":
        return ""
    if user.scope_town_id:
        return user.scope_town.name
    if user.unit_id:
        return user.unit.name
    return _("The whole district")


def audit_view() -> bool:
    """Supervisors and admins read the audit details (event numbers, hashes, process versions);
    members and staff see words only."""
    return current_user.is_authenticated and current_user.role in ("supervisor", "admin")


def person_labels() -> dict:
    """What stands for a member whose name is outside the reader's scope (workflow/services/names.py)."""
    return {"other_unit": _("a member of another unit"), "other": _("another member")}


def refusal_text(refusal) -> str:
    """A guard's refusal, in the reader's language (guards speak English; workflow/messages.py)."""
    if refusal is None:
        return ""
    name, message = refusal
    return wf_messages.refusal(name, message, page_locale())


def domain_message(exc: DomainError) -> str:
    """A domain error's message in the page's language (its stable code when the words are unknown)."""
    return error_message(exc.code, exc.message, getattr(exc, "reason", None))


def flash_errors(exc: InvalidInput, form=None) -> None:
    """Put a service's field errors on the form (or flash them)."""
    for name, messages in (exc.errors or {}).items():
        field = getattr(form, name, None) if form is not None else None
        texts = [field_message(m) if isinstance(m, str) else str(m)
                 for m in (messages if isinstance(messages, list) else [messages])]
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + texts
        else:
            flash("; ".join(texts), "error")
    if not exc.errors:
        flash(domain_message(exc), "error")


# --- query strings -----------------------------------------------------------------------

ID_MAX = INT32_MAX  # ids are 32-bit columns, as in the routes
PAGE_MAX = 100_000  # as the API's lists: an offset beyond stays far inside both databases' integers


def query_int(name: str, default: int | None = None, *, low: int = 1, high: int = ID_MAX) -> int | None:
    """A whole number from the query string, `default` when absent or empty; anything else
    (letters, 2**63, a negative page) is the 400 page naming the parameter, never a database error."""
    text = request.args.get(name, "").strip()
    if not text:
        return default
    if text.isascii() and text.isdigit() and low <= int(text) <= high:
        return int(text)
    abort(make_response(error_page(400, _("“%(name)s” must be a whole number from %(low)s to %(high)s.",
                            name=name, low=low, high=high))))


# --- error pages -------------------------------------------------------------------------

def error_page(status: int, message: str | None = None):
    return render_template("errors/error.html", status=status, message=message), status


def _api_error(exc):
    """An error under /api/ that reached the app-wide handlers: the API's one shape (api/v1/errors.py)."""
    from api.v1 import errors as api_errors

    body, status, headers = api_errors.handle(exc)
    return jsonify(body), status, headers


def init_errors(app, is_api) -> None:
    def handle_http(exc: HTTPException):
        if is_api():
            return _api_error(exc)
        if exc.code in (403, 404, 405, 413):
            return error_page(exc.code)
        return exc

    # Every client error: the pages' own for these four (others keep werkzeug's), the API's shape under /api/.
    for code in (c for c in default_exceptions if 400 <= c < 500):
        app.register_error_handler(code, handle_http)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return error_page(400, _("The form has expired or was not sent from this site. Please try again."))

    @app.errorhandler(500)
    def server_error(exc):
        if is_api():
            return _api_error(exc)
        return error_page(500)

    def database_error(exc):
        """The database unreachable or timing out: 503 with Retry-After, not a 500 (the one
        classification is workflow.faults.database_unavailable). Any other database error
        goes on to the 500 page."""
        from api.v1 import errors as api_errors

        if api_errors.unavailable_cause(exc) is None:
            raise exc
        api_errors.rollback_quietly()
        if is_api():
            return _api_error(exc)
        return unavailable_page(api_errors.retry_after())

    app.register_error_handler(sa_exc.DBAPIError, database_error)
    app.register_error_handler(sa_exc.TimeoutError, database_error)


def unavailable_page(retry_after: int):
    """A page that needs nothing from the database (no user, no layout that reads one)."""
    if is_english():
        title, text = "Service temporarily unavailable", "The database cannot be reached just now. " \
            "Nothing you sent was half-saved. Please try again in a moment."
        again = "Try again"
    else:
        title, text, again = "服务暂时不可用", "暂时无法连接数据库，您提交的内容不会只保存一半。请稍后再试。", "重试"
    html = (f'<!doctype html><html lang="{"en" if is_english() else "zh-CN"}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><link rel="stylesheet" href="{url_for("static", filename="css/baodao.css")}">'
            '</head><body class="unavailable">'
            f'<h1>503 · {escape(title)}</h1><p>{escape(text)}</p>'
            f'<p><a href="">{escape(again)}</a></p></body></html>')
    return html, 503, {"Retry-After": str(retry_after), "Content-Type": "text/html; charset=utf-8"}


def page_domain_error(exc: DomainError):
    """For page blueprints: a domain error outside a form becomes the friendly page of its status."""
    db.session.rollback()
    if exc.http_status in (403, 404):
        return error_page(exc.http_status)
    if exc.http_status == 413:
        return error_page(413)
    flash(domain_message(exc), "error")
    return redirect(safe_next(request.referrer and urlsplit(request.referrer).path, "/"))


def page_blueprint_setup(bp) -> None:
    bp.register_error_handler(DomainError, page_domain_error)

    @bp.before_request
    def _limits():
        request.max_content_length = PAGE_MAX_CONTENT_LENGTH


# --- templates ---------------------------------------------------------------------------

def fmt_dt(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored UTC time in the district's zone. A stored value never breaks a page: a time at the
    calendar's end (9999-12-31 20:00 UTC is in the year 10000 in Beijing) is shown in UTC instead."""
    if not value:
        return ""
    try:
        return format_datetime(value, fmt)
    except (OverflowError, ValueError):
        return f"{value.year:04d}-{value:%m-%d %H:%M} UTC"


def local_input_time(value: datetime | None) -> datetime | None:
    """A stored UTC time as the naive district time a datetime-local input shows; None (an empty
    field) for a time the district's zone cannot hold."""
    if value is None:
        return None
    try:
        return to_user_timezone(value).replace(tzinfo=None)
    except (OverflowError, ValueError):
        return None


def countdown(deadline: datetime | None) -> str:
    if deadline is None:
        return ""
    delta = deadline - utcnow()
    if delta.total_seconds() <= 0:
        return _("deadline passed")
    return format_timedelta(delta, granularity="hour", threshold=1.5, add_direction=True)


def duration(value) -> str:
    """How long something has waited, in the page's words ("3 天", "5 hours")."""
    return format_timedelta(value, granularity="minute", threshold=1) if value is not None else ""


def percent(value) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def nl2br(value: str) -> Markup:
    return Markup("<br>".join(escape(line) for line in (value or "").splitlines()))


def init_templates(app) -> None:
    app.jinja_env.filters.update(dt=fmt_dt, countdown=countdown, percent=percent, nl2br=nl2br, duration=duration)
    app.jinja_env.globals.update(state_label=state_label, trigger_label=trigger_label,
                                 task_status_label=task_status_label, role_label=role_label, event_label=event_label,
                                 is_english=is_english, get_locale=get_locale, lang_url=lang_url,
                                 field_message=field_message, domain_message=domain_message,
                                 scope_words=scope_words, audit_view=audit_view)

    @app.context_processor
    def _page_context():
        return {"now": utcnow()}

    @app.after_request
    def _remember_language(response):
        chosen = request.args.get("lang")
        if chosen in LOCALES and request.cookies.get(LANG_COOKIE) != chosen:
            response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return response


def lang_url(code: str) -> str:
    return url_for("auth.language", code=code, next=request.full_path.rstrip("?"))

