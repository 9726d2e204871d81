"""Admin pages: users (create, edit, deactivate, CSV import with progress), places and units,
and the workflow definitions loaded, each drawn as a state diagram."""
import queue
import threading

from flask import (Blueprint, Response, current_app, flash, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from workflow import runtime
from workflow.engine.diagram import mermaid
from workflow.errors import DomainError, InvalidInput, NotFound
from workflow.extensions import db
from workflow.models import Community, Town, Unit, User
from workflow.services import users as user_service

from . import common, diagram
from .forms import ActionForm, ImportForm, UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
common.page_blueprint_setup(bp)
PAGE = 50


@bp.get("/")
@common.roles("admin")
def users():
    q = (request.args.get("q") or "").strip()
    role = request.args.get("role")
    page = max(request.args.get("page", 1, type=int), 1)
    query = select(User)
    if q:
        like = f"%{q}%"
        query = query.where(or_(User.username.ilike(like), User.name.ilike(like)))
    if role in ("member", "staff", "supervisor", "admin"):
        query = query.where(User.role == role)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(User.username).offset((page - 1) * PAGE).limit(PAGE)).all()
    return render_template("admin/users.html", users=rows, q=q, role=role, page=page, total=total, per_page=PAGE,
                           form=ActionForm())


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
                user_service.create_user(username=form.username.data.strip(), name=form.name.data,
                                         role=form.role.data, password=form.password.data, unit=form.unit.data,
                                         community=form.community.data, scope=form.scope.data,
                                         email=form.email.data)
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "error")
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
                                     password=form.password.data or None, email=form.email.data)
        except InvalidInput as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            flash(_("User saved."), "success")
            return redirect(url_for("admin.users", q=user.username))
    return render_template("admin/user_form.html", form=form, user=user, toggle=ActionForm())


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
    user = user_service.set_active(user_id, not user.active)
    flash(_("User reactivated.") if user.active else _("User deactivated: they can no longer log in."), "success")
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
    events: queue.Queue = queue.Queue()

    def work():
        # The import runs in its own thread (one transaction, all or nothing) and reports
        # its progress through the queue; the response streams it as it goes.
        with app.app_context():
            try:
                result = user_service.import_users(text, update=update, progress=lambda n: events.put(("row", n)))
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
    town_id = request.args.get("town", type=int)
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
