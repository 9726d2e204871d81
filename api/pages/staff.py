"""Staff (社区工作人员) pages: my community's tasks (create, edit, publish, close, cancel) and
the verification queue (reported claims, oldest first)."""
from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import to_user_timezone, to_utc
from sqlalchemy import select

from workflow.clock import utcnow
from workflow.errors import InvalidInput
from workflow.extensions import db
from workflow.models import Claim, Task, Upload
from workflow.services import household, scope
from workflow.services import tasks as task_service

from . import common
from .forms import ActionForm, CommentForm, ReasonForm, TaskForm

bp = Blueprint("staff", __name__, url_prefix="/staff")
common.page_blueprint_setup(bp)


@bp.get("/tasks")
@common.roles("staff")
def tasks():
    me = common.actor()
    status = request.args.get("status")
    query = select(Task).where(scope.task_filter(me))
    if status in ("draft", "open", "full", "closed", "cancelled"):
        query = query.where(Task.status == status)
    rows = db.session.scalars(query.order_by(Task.status == "cancelled", Task.deadline.desc()).limit(100)).all()
    return render_template("staff/tasks.html", tasks=rows, status=status, form=ActionForm())


def _task_data(form, note_before=None) -> dict:
    deadline = to_utc(form.deadline.data) if form.deadline.data else None
    data = {"title": form.title.data, "category": form.category.data, "description": form.description.data or "",
            "address": form.address.data or "", "capacity": form.capacity.data, "points": form.points.data,
            "deadline": deadline.isoformat() + "Z" if deadline else None}
    note = (form.household_note.data or "").strip() or None
    if note != note_before:
        data["household_note"] = note
    return data


@bp.route("/tasks/new", methods=["GET", "POST"])
@common.roles("staff")
def new_task():
    form = TaskForm()
    if request.method == "GET":
        form.deadline.data = to_user_timezone(utcnow() + timedelta(days=14)).replace(tzinfo=None, second=0,
                                                                                       microsecond=0)
    if form.validate_on_submit():
        try:
            created = task_service.create_task(common.actor(), _task_data(form))
        except InvalidInput as exc:
            db.session.rollback()
            common.flash_errors(exc, form)
        else:
            flash(_("Draft saved. Publish it when it is ready."), "success")
            return redirect(url_for("shared.task", task_id=created.id))
    return render_template("staff/task_form.html", form=form, task=None), 422 if request.method == "POST" else 200


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@common.roles("staff")
def edit_task(task_id):
    me = common.actor()
    the_task = task_service.get_task(db.session, me, task_id)
    note = household.read_household_note(me, the_task, purpose="edit task")
    the_task = task_service.get_task(db.session, me, task_id)
    form = TaskForm(obj=None if request.method == "POST" else the_task)
    if request.method == "GET":
        form.household_note.data = note or ""
        form.deadline.data = common.local_input_time(the_task.deadline)
    if form.validate_on_submit():
        try:
            task_service.edit_task(task_id, me, _task_data(form, note))
        except InvalidInput as exc:
            db.session.rollback()
            common.flash_errors(exc, form)
        else:
            flash(_("Task saved."), "success")
            return redirect(url_for("shared.task", task_id=task_id))
    return render_template("staff/task_form.html", form=form, task=the_task), 422 if request.method == "POST" else 200


@bp.post("/tasks/<int:task_id>/<action>")
@common.roles("staff")
def task_action(task_id, action):
    services = {"publish": task_service.publish_task, "close": task_service.close_task}
    if action not in services or not ActionForm().validate_on_submit():
        return common.error_page(404 if action not in services else 400)
    services[action](task_id, common.actor())
    flash(_("Task published.") if action == "publish" else _("Task closed."), "success")
    return redirect(common.safe_next(request.form.get("next"), url_for("shared.task", task_id=task_id)))


@bp.route("/tasks/<int:task_id>/cancel", methods=["GET", "POST"])
@common.roles("staff")
def cancel_task(task_id):
    me = common.actor()
    the_task = task_service.get_task(db.session, me, task_id)
    form = ReasonForm()
    if form.validate_on_submit():
        task_service.cancel_task(task_id, me, {"reason": form.reason.data})
        flash(_("Task cancelled; its open claims were cancelled with it."), "success")
        return redirect(url_for("staff.tasks"))
    return render_template("staff/cancel.html", form=form, task=the_task)


@bp.get("/queue")
@common.roles("staff")
def queue():
    me = common.actor()
    rows = db.session.scalars(
        select(Claim).where(scope.claim_filter(me), Claim.state == "reported")
        .order_by(Claim.updated_at, Claim.id).limit(30)).all()
    uploads = {u.id: u for u in db.session.scalars(
        select(Upload).where(Upload.claim_id.in_([c.id for c in rows] or [-1])))}
    return render_template("staff/queue.html", claims=rows, uploads=uploads, comment_form=CommentForm(formdata=None),
                           reason_form=ReasonForm(formdata=None))
