"""Staff (社区工作人员) pages: my community's tasks (create and edit here; publish, close and
cancel are the task definition's actions: api/pages/actions.py) and the verification queue
(reported claims, oldest first, each with the staff's actions on it)."""
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
from .actions import actions
from .forms import TaskForm

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
    here = url_for("staff.tasks", status=status)
    return render_template("staff/tasks.html", tasks=rows, status=status,
                           actions={t.id: actions(me, "task", t, {}, next_url=here) for t in rows})


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
            created = task_service.create_task(common.actor(), _task_data(form), request_id=common.request_id())
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
            task_service.edit_task(task_id, me, _task_data(form, note), request_id=common.request_id())
        except InvalidInput as exc:
            db.session.rollback()
            common.flash_errors(exc, form)
        else:
            flash(_("Task saved."), "success")
            return redirect(url_for("shared.task", task_id=task_id))
    return render_template("staff/task_form.html", form=form, task=the_task), 422 if request.method == "POST" else 200


@bp.get("/queue")
@common.roles("staff")
def queue():
    me = common.actor()
    rows = db.session.scalars(
        select(Claim).where(scope.claim_filter(me), Claim.state == "reported")
        .order_by(Claim.updated_at, Claim.id).limit(30)).all()
    uploads = {u.id: u for u in db.session.scalars(
        select(Upload).where(Upload.claim_id.in_([c.id for c in rows] or [-1])))}
    here = url_for("staff.queue")
    return render_template("staff/queue.html", claims=rows, uploads=uploads,
                           actions={c.id: actions(me, "claim", c, {"task": c.task}, next_url=here) for c in rows})
