"""Admin pages: users (create, edit, deactivate, end sessions, CSV import with progress), places and
units, the workflow definitions loaded (each drawn as a state diagram), login security (locked and
suspicious accounts) and the security log of administrators' actions (search)."""
import json
import queue
import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (Blueprint, Response, current_app, flash, g, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from workflow import runtime
from workflow.engine.diagram import mermaid
from workflow.errors import Conflict, DomainError, InvalidInput, NotFound
from workflow.extensions import db
from workflow.identity import IdentityError
from workflow.models import Community, Town, Unit, User
from workflow.services import login_watch, security_log
from workflow.services import users as user_service

from . import common, diagram
from .forms import ActionForm, AuditSearchForm, ImportForm, UserForm

DISTRICT_TZ = ZoneInfo("Asia/Shanghai")

bp = Blueprint("admin", __name__, url_prefix="/admin")
common.page_blueprint_setup(bp)
PAGE = 50


@bp.get("/")
@common.roles("admin")
def users():
    q = (request.args.get("q") or "").strip()
    role = request.args.get("role")
    page = common.query_int("page", 1, high=common.PAGE_MAX)
    query = select(User)
    if q:
        like = f"%{q}%"
        query = query.where(or_(User.username.ilike(like), User.name.ilike(like)))
    if role in ("member", "staff", "supervisor", "liaison", "admin"):
        query = query.where(User.role == role)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(User.username).offset((page - 1) * PAGE).limit(PAGE)).all()
    return render_template("admin/users.html", users=rows, q=q, role=role, page=page, total=total, per_page=PAGE,
                           form=ActionForm())


def _request_id():
    return g.get("request_id")


def identity_messages(exc: IdentityError) -> dict[str, list[str]]:
    """The broken identity rules, per form field, in the page's language."""
    texts = {
        "username_required": _("A username is required."),
        "username_too_long": _("A username has at most 64 characters."),
        "username_characters": _("A username may hold only letters a–z and A–Z, digits and . _ - @"),
        "password_too_short": _("A password needs at least 10 characters."),
        "password_too_long": _("A password has at most 256 characters."),
        "password_contains_username": _("The password must not contain the username."),
        "password_common": _("This password is one of the most common passwords; choose another."),
        "password_weak": _("This password is too easy to guess; use a longer one, e.g. a few unrelated words."),
    }
    out: dict[str, list[str]] = {}
    for problem in exc.problems:
        out.setdefault(problem.field, []).append(texts.get(problem.code, problem.message))
    return out


def _form_errors(form, exc: DomainError) -> None:
    """Put a service's refusal on the form: identity problems on their fields, the rest flashed."""
    if isinstance(exc, IdentityError):
        for name, messages in identity_messages(exc).items():
            getattr(form, name).errors = list(getattr(form, name).errors) + messages
    elif isinstance(exc, Conflict) and exc.details.get("field") == "username":
        form.username.errors = list(form.username.errors) + [
            _("This username is taken (usernames are the same whatever their case).")]
    else:
        flash(common.domain_message(exc), "error")


def _scope_text(user: User) -> str:
    label = user.scope_label
    return label if label and label != "district" else ""


@bp.route("/users/new", methods=["GET", "POST"])
@common.roles("admin")
def new_user():
    form = UserForm()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors = list(form.password.errors) + [_("A new user needs a password.")]
        else:
            try:
                user_service.create_user(username=form.username.data, name=form.name.data,
                                         role=form.role.data, password=form.password.data, unit=form.unit.data,
                                         community=form.community.data, scope=form.scope.data,
                                         email=form.email.data, actor=common.actor(), request_id=_request_id())
            except DomainError as exc:
                db.session.rollback()
                _form_errors(form, exc)
            else:
                flash(_("User created."), "success")
                return redirect(url_for("admin.users", q=form.username.data.strip()))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@common.roles("admin")
def edit_user(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    form = UserForm()
    if request.method == "GET":
        form.username.data, form.name.data, form.role.data = user.username, user.name, user.role
        form.unit.data = user.unit.code if user.unit else ""
        form.community.data = user.community.code if user.community else ""
        form.scope.data = _scope_text(user)
        form.email.data = user.email or ""
        if user.role == "supervisor" and user.unit_id:
            form.unit.data = ""
    if form.validate_on_submit():
        try:
            user_service.update_user(user_id, name=form.name.data, role=form.role.data, unit=form.unit.data,
                                     community=form.community.data, scope=form.scope.data,
                                     password=form.password.data or None, actor=common.actor(),
                                     request_id=_request_id(), email=form.email.data)
        except InvalidInput as exc:
            db.session.rollback()
            _form_errors(form, exc)
        else:
            flash(_("User saved."), "success")
            return redirect(url_for("admin.users", q=user.username))
    return render_template("admin/user_form.html", form=form, user=user, toggle=ActionForm(),
                           live_sessions=user_service.live_sessions(user.id))


@bp.post("/users/<int:user_id>/active")
@common.roles("admin")
def toggle_active(user_id):
    if not ActionForm().validate_on_submit():
        return common.error_page(400)
    if user_id == common.actor().id:
        flash(_("You cannot deactivate yourself."), "error")
        return redirect(url_for("admin.edit_user", user_id=user_id))
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    user = user_service.set_active(user_id, not user.active, actor=common.actor(), request_id=_request_id())
    flash(_("User reactivated.") if user.active else
          _("User deactivated: they can no longer log in, and their sessions have ended."), "success")
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.post("/users/<int:user_id>/sessions/end")
@common.roles("admin")
def end_sessions(user_id):
    if not ActionForm().validate_on_submit():
        return common.error_page(400)
    ended = user_service.end_user_sessions(user_id, actor=common.actor(), request_id=_request_id())
    flash(_("%(n)s sessions and tokens ended: the user must log in again.", n=ended), "success")
    if user_id == common.actor().id:
        return redirect(url_for("auth.login"))
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/import", methods=["GET", "POST"])
@common.roles("admin")
def import_users():
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template("admin/import.html", form=form)
    try:
        text = form.file.data.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        flash(_("The file is not UTF-8 text."), "error")
        return render_template("admin/import.html", form=form), 422
    update = bool(form.update.data)
    total = max(text.count("\n") - (0 if text.endswith("\n") else -1) - 1, 0)
    app = current_app._get_current_object()
    me = common.actor().row
    actor = security_log.Actor(id=me.id, role=me.role)  # a plain value for the worker thread
    request_id = _request_id()
    events: queue.Queue = queue.Queue()

    def work():
        # The import runs in its own thread (one transaction, all or nothing) and reports
        # its progress through the queue; the response streams it as it goes.
        with app.app_context():
            try:
                result = user_service.import_users(text, update=update, progress=lambda n: events.put(("row", n)),
                                                   actor=actor, request_id=request_id)
                events.put(("done", result))
            except DomainError as exc:
                events.put(("error", exc))
            except Exception as exc:  # noqa: BLE001 — reported on the page, logged by Flask
                app.logger.exception("user import failed")
                events.put(("error", InvalidInput(str(type(exc).__name__))))
            finally:
                db.session.remove()

    def stream():
        threading.Thread(target=work, daemon=True).start()
        yield render_template("admin/import_head.html", total=total)
        done, last = 0, -1
        while True:
            kind, value = events.get(timeout=600)
            if kind == "row":
                done += value
                step = max(total // 50, 1)
                if done - last >= step or done == total:
                    last = done
                    yield f'<progress value="{done}" max="{max(total, 1)}">{done}/{total}</progress>\n'
                continue
            yield render_template("admin/import_tail.html", kind=kind, value=value, total=total)
            return

    return Response(stream_with_context(stream()), mimetype="text/html")


@bp.get("/places")
@common.roles("admin")
def places():
    towns = db.session.execute(
        select(Town, func.count(Community.id)).outerjoin(Community, Community.town_id == Town.id)
        .group_by(Town.id).order_by(Town.code)).all()
    town_id = common.query_int("town")
    communities = []
    if town_id:
        communities = db.session.scalars(select(Community).where(Community.town_id == town_id)
                                          .order_by(Community.code)).all()
    units = db.session.execute(
        select(Unit, func.count(User.id)).outerjoin(User, (User.unit_id == Unit.id) & (User.role == "member"))
        .group_by(Unit.id).order_by(Unit.code)).all()
    return render_template("admin/places.html", towns=towns, communities=communities, town_id=town_id,
                           units=units)


@bp.get("/workflow")
@common.roles("admin")
def workflow():
    english = common.is_english()
    rt = runtime.current()
    items = [{"definition": c.definition, "svg": diagram.svg(c.definition, english),
              "mermaid": mermaid(c.definition), "active": rt.is_active(c.definition.name, c.definition.version)}
             for c in rt.registry.all()]
    return render_template("admin/workflow.html", items=items)


# --- login security: locked and suspicious accounts -----------------------------------------

@bp.get("/security")
@common.roles("admin")
def login_security():
    view = login_watch.overview(db.session)
    names = [p.username for p in view.locked_pairs] + [a.username for a in view.under_attack + view.suspicious]
    return render_template("admin/security.html", view=view, user_ids=login_watch.user_ids_by_name(db.session, names))


# --- the security log (administrators' actions and exports) ---------------------------------

LOG_PAGE = 50


def action_label(action: str) -> str:
    return {
        "create_user": _("Create user"), "edit_user": _("Edit user"), "change_role": _("Change role"),
        "change_scope": _("Change scope"), "reset_password": _("Reset password"),
        "deactivate_user": _("Deactivate user"), "reactivate_user": _("Reactivate user"),
        "end_sessions": _("End sessions"), "import_users": _("Import users"), "export": _("Export"),
        "download_feedback": _("Download feedback report"), "read_feedback": _("Read feedback report"),
        "load_demo": _("Load demo data"), "review_flag": _("Review an anomaly flag"),
    }.get(action, action)


def payload_summary(payload: dict) -> str:
    """An event's details as one line of text (escaped by the template like any text)."""
    parts = []
    for key, value in sorted(payload.items()):
        if key == "target":
            continue
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}: {shown[:500]}")
    return "; ".join(parts)


def _district_day_start(day) -> datetime:
    """00:00 of a district (Asia/Shanghai) calendar day, as naive UTC."""
    return datetime.combine(day, time.min, DISTRICT_TZ).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


@bp.get("/audit")
@common.roles("admin")
def audit_log():
    form = AuditSearchForm(request.args, meta={"csrf": False})
    form.action.choices = [("", _("All actions"))] + [(a, action_label(a)) for a in security_log.ACTIONS]
    rows, total, page = [], 0, 1
    if form.validate():
        page = form.page.data or 1
        start = _district_day_start(form.start.data) if form.start.data else None
        end = _district_day_start(form.end.data + timedelta(days=1)) if form.end.data else None
        rows, total = security_log.search(db.session, actor=(form.actor.data or "").strip() or None,
                                          action=form.action.data or None, start=start, end=end, page=page,
                                          per_page=LOG_PAGE)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("admin/audit.html", form=form, rows=rows, total=total, page=page, per_page=LOG_PAGE,
                           args=args, action_label=action_label, payload_summary=payload_summary)
