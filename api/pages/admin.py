"""Admin pages: users (create and edit with name pickers, reset a password, deactivate, end sessions,
CSV/XLSX import with progress and every problem listed, import templates), places and
units, the workflow definitions loaded (each drawn as a state diagram), login security (locked and
suspicious accounts) and the security log of administrators' actions (search)."""
import json
import queue
from urllib.parse import quote
import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (Blueprint, Response, current_app, flash, g, jsonify, make_response, redirect, render_template,
                   request, stream_with_context, url_for)
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from workflow import runtime
from workflow.engine.diagram import mermaid
from workflow.errors import Conflict, DomainError, InvalidInput, NotFound
from workflow.extensions import db
from workflow.identity import IdentityError
from workflow.models import Community, Town, Unit, User
from workflow.services import login_watch, security_log, user_files
from workflow.services import users as user_service

from . import common, diagram, import_messages
from .forms import ActionForm, AuditSearchForm, ImportForm, PasswordResetForm, UserForm

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
                           form=ActionForm(), scope_words=scope_words)


def scope_words(user: User) -> str:
    """A supervisor's scope in words: 全区, the town's or the unit's name — never `town:370116001`."""
    if user.role != "supervisor":
        return ""
    if user.scope_town is not None:
        return user.scope_town.name
    if user.unit is not None:
        return user.unit.name
    return _("The whole district")


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
        "password_unchanged": _("The new password must differ from the current one."),
    }
    out: dict[str, list[str]] = {}
    for problem in exc.problems:
        out.setdefault(problem.field, []).append(texts.get(problem.code, problem.message))
    return out


def _form_errors(form, exc: DomainError) -> None:
    """Put a service's refusal on the form: identity problems on their fields, the rest flashed."""
    if isinstance(exc, user_service.UserInputError):
        for problem in exc.problems:
            target = getattr(form, problem.field, None) if problem.field in ("unit", "community", "scope", "role",
                                                                             "email", "username") else None
            text = import_messages.problem_text(problem)
            if target is None:
                flash(text, "error")
            else:
                target.errors = list(target.errors) + [text]
    elif isinstance(exc, IdentityError):
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


# Which of the place fields each role uses; the others are not sent to the service (a browser
# without the page's script shows them all).
ROLE_FIELDS = {"member": ("unit", "community"), "staff": ("community",), "supervisor": ("scope",),
               "liaison": ("unit",), "admin": ()}


def _pickers(form) -> dict:
    """The options of the unit, town, community and scope pickers, by name (their values are codes).
    The community picker holds the chosen town's communities; with no town chosen, every
    community grouped by town (so the form works without the script too)."""
    towns = db.session.scalars(select(Town).order_by(Town.code)).all()
    units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
    town_code = (form.town.data or "").strip()
    if not town_code and form.community.data:
        town_code = db.session.scalar(select(Town.code).join(Community, Community.town_id == Town.id)
                                      .where(Community.code == form.community.data.strip())) or ""
        form.town.data = town_code
    town = next((t for t in towns if t.code == town_code), None)
    query = select(Community).order_by(Community.town_id, Community.code)
    if town is not None:
        query = query.where(Community.town_id == town.id)
    groups: dict = {}
    for community in db.session.scalars(query):
        groups.setdefault(community.town_id, []).append(community)
    names = {t.id: t.name for t in towns}
    return {"towns": towns, "units": units, "town": town,
            "community_groups": [(names[town_id], rows) for town_id, rows in groups.items()]}


def _check_town(form) -> bool:
    """A community of another town than the one chosen (a town changed without the script, then
    saved): said on the community field."""
    town, community = (form.town.data or "").strip(), (form.community.data or "").strip()
    if not town or not community or form.role.data not in ("member", "staff"):
        return True
    in_town = db.session.scalar(select(Community.id).join(Town, Town.id == Community.town_id)
                                .where(Community.code == community, Town.code == town))
    if in_town is None:
        form.community.errors = list(form.community.errors) + [
            _("This community is not in the chosen town or street: choose one of its communities.")]
        return False
    return True


def _places(form) -> dict:
    """The form's place fields the chosen role uses, for the service; the rest empty."""
    used = ROLE_FIELDS.get(form.role.data, ())
    return {name: (getattr(form, name).data or "").strip() if name in used else ""
            for name in ("unit", "community", "scope")}


def _narrowing() -> bool:
    """The no-script "show its communities" button: re-show the form, save nothing."""
    return request.method == "POST" and "narrow" in request.form


def _user_form_page(form, user, **extra):
    return render_template("admin/user_form.html", form=form, user=user, **_pickers(form), **extra)


def _password_shown(user: User, password: str, *, created: bool):
    """The one time a generated password is shown: in this response only, never stored or cached."""
    response = make_response(render_template("admin/password_shown.html", user=user, password=password,
                                              created=created))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/users/new", methods=["GET", "POST"])
@common.roles("admin")
def new_user():
    form = UserForm()
    if not _narrowing() and form.validate_on_submit() and _check_town(form):
        password = form.password.data or user_service.generate_password()
        try:
            user = user_service.create_user(username=form.username.data, name=form.name.data,
                                            role=form.role.data, password=password, **_places(form),
                                            email=form.email.data, actor=common.actor(), request_id=_request_id())
        except DomainError as exc:
            db.session.rollback()
            _form_errors(form, exc)
        else:
            if not form.password.data:
                return _password_shown(user, password, created=True)
            flash(_("User created. They choose their own password when they first log in."), "success")
            return redirect(url_for("admin.users", q=form.username.data.strip()))
    return _user_form_page(form, None)


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
        form.scope.data = _scope_text(user) or ("district" if user.role == "supervisor" else "")
        form.email.data = user.email or ""
        if user.role == "supervisor" and user.unit_id:
            form.unit.data = ""
    form.username.data = user.username  # never renamed here
    if not _narrowing() and form.validate_on_submit() and _check_town(form):
        try:
            user_service.update_user(user_id, name=form.name.data, role=form.role.data, **_places(form),
                                     actor=common.actor(), request_id=_request_id(), email=form.email.data)
        except InvalidInput as exc:
            db.session.rollback()
            _form_errors(form, exc)
        else:
            flash(_("User saved."), "success")
            return redirect(url_for("admin.users", q=user.username))
    return _user_form_page(form, user, toggle=ActionForm(), reset=PasswordResetForm(prefix="reset"),
                           live_sessions=user_service.live_sessions(user.id))


@bp.post("/users/<int:user_id>/password")
@common.roles("admin")
def reset_password(user_id):
    """Reset a user's password: a temporary one the admin types, or a generated one shown once.
    Either way the user must choose their own at the next login; their sessions end."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    reset = PasswordResetForm(prefix="reset")
    if reset.validate_on_submit():
        typed = reset.password.data if reset.how.data == "set" else None
        if reset.how.data == "set" and not typed:
            reset.password.errors = list(reset.password.errors) + [_("Type the temporary password, or choose to "
                                                                     "generate one.")]
        else:
            try:
                user, generated = user_service.reset_password(user_id, typed, actor=common.actor(),
                                                              request_id=_request_id())
            except IdentityError as exc:
                db.session.rollback()
                reset.password.errors = list(reset.password.errors) + [
                    m for messages in identity_messages(exc).values() for m in messages]
            else:
                if generated:
                    return _password_shown(user, generated, created=False)
                flash(_("Password reset: the user is logged out everywhere and must choose a new password when "
                        "they next log in."), "success")
                return redirect(url_for("admin.edit_user", user_id=user_id))
    form = UserForm(formdata=None)
    form.username.data, form.name.data, form.role.data = user.username, user.name, user.role
    form.unit.data = user.unit.code if user.unit and not (user.role == "supervisor") else ""
    form.community.data = user.community.code if user.community else ""
    form.scope.data = _scope_text(user) or ("district" if user.role == "supervisor" else "")
    form.email.data = user.email or ""
    return _user_form_page(form, user, toggle=ActionForm(), reset=reset,
                           live_sessions=user_service.live_sessions(user.id)), 422


@bp.get("/towns/<code>/communities")
@common.roles("admin")
def town_communities(code):
    """The communities of a town, for the user form's script (JSON: code and name, in code order)."""
    town = db.session.scalar(select(Town).where(Town.code == code[:9]))
    if town is None:
        raise NotFound("no such town")
    rows = db.session.scalars(select(Community).where(Community.town_id == town.id).order_by(Community.code))
    return jsonify([{"code": c.code, "name": c.short_name} for c in rows])


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
        return render_template("admin/import.html", form=form), 422 if request.method == "POST" else 200
    upload = form.file.data
    try:  # read and check the file's encoding and header here; the lines are checked as they are imported
        rows = user_files.read(upload.read(user_files.MAX_BYTES + 1), filename=upload.filename)
    except user_service.ImportErrors as exc:
        return render_template("admin/import.html", form=form, problems=exc.problems, messages=import_messages), 422
    update = bool(form.update.data)
    total = len(rows)
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
                result = user_service.import_users(rows, update=update, progress=lambda n: events.put(("row", n)),
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
            yield render_template("admin/import_tail.html", kind=kind, value=value, total=total,
                                  problems=getattr(value, "problems", None), messages=import_messages)
            return

    return Response(stream_with_context(stream()), mimetype="text/html")


@bp.get("/import/template.<fmt>")
@common.roles("admin")
def import_template(fmt):
    """The import file to fill in: the header in the page's language and an example row; CSV
    with a BOM (Excel opens it as UTF-8) or XLSX."""
    if fmt not in ("csv", "xlsx"):
        raise NotFound("no such template")
    data = user_files.template(fmt, english=common.is_english())
    name = "users-template" if common.is_english() else "用户导入模板"
    mimetype = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = make_response(data)
    response.headers["Content-Type"] = mimetype
    response.headers["Content-Disposition"] = (f"attachment; filename=\"users-template.{fmt}\"; "
                                               f"filename*=UTF-8''{quote(name)}.{fmt}")
    return response


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
        "change_password": _("Change own password"),
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
