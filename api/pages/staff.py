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
from workflow.models import CATEGORIES, Task, Upload
from workflow.services import household, places, review, scope, unit_work
from workflow.services import tasks as task_service

from . import common, messages
from .actions import actions, batch_triggers, decision
from .forms import CommunityForm, TaskForm
from .unit import resource_prefill_for_task

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


def _project_choices(form, me) -> None:
    """The task form's project select: the community's projects that are not cancelled."""
    form.project_id.choices = [("", "—")] + [(str(p.id), p.title) for p in
                                             unit_work.projects_of_community(db.session, me.community_id)]


def _task_data(form, note_before=None) -> dict:
    deadline = to_utc(form.deadline.data) if form.deadline.data else None
    activity = to_utc(form.activity_at.data) if form.activity_at.data else None
    data = {"title": form.title.data, "category": form.category.data, "description": form.description.data or "",
            "address": form.address.data or "", "capacity": form.capacity.data, "points": form.points.data,
            "deadline": deadline.isoformat() + "Z" if deadline else None,
            "activity_at": activity.isoformat() + "Z" if activity else None,
            "project_id": int(form.project_id.data) if form.project_id.data else None}
    note = (form.household_note.data or "").strip() or None
    if note != note_before:
        data["household_note"] = note
    return data


@bp.route("/tasks/new", methods=["GET", "POST"])
@common.roles("staff")
def new_task():
    """A new draft; `?project=` starts it as a job of that project, `?resource=` from a paired unit's
    resource line (its title and description, and its category when tasks have it)."""
    me = common.actor()
    form = TaskForm()
    _project_choices(form, me)
    if request.method == "GET":
        form.deadline.data = to_user_timezone(utcnow() + timedelta(days=14)).replace(tzinfo=None, second=0,
                                                                                       microsecond=0)
        project = common.query_int("project")
        if project is not None and str(project) in {value for value, _label in form.project_id.choices}:
            form.project_id.data = str(project)
        prefill = resource_prefill_for_task(me)
        if prefill:
            form.title.data, form.description.data = prefill["title"], prefill["description"]
            if prefill["category"] in CATEGORIES:
                form.category.data = prefill["category"]
            flash(_("Prefilled from the resource “%(title)s” of %(unit)s.", title=prefill["title"],
                    unit=prefill["unit"]), "success")
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
    _project_choices(form, me)
    if request.method == "GET":
        form.project_id.data = str(the_task.project_id) if the_task.project_id else ""
        form.household_note.data = note or ""
        form.deadline.data = common.local_input_time(the_task.deadline)
        form.activity_at.data = common.local_input_time(the_task.activity_at)
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


@bp.route("/community", methods=["GET", "POST"])
@common.roles("staff")
def community():
    """Our community's contact and location, which members see on each task (a call, a map link)."""
    me = common.actor()
    place = me.community
    form = CommunityForm(obj=None if request.method == "POST" else place)
    if form.validate_on_submit():
        data = {"contact_name": form.contact_name.data or None, "contact_phone": form.contact_phone.data or None}
        if form.clear_location.data:
            data.update(lat=None, lon=None)
        elif form.lat.data and form.lon.data:
            data.update(lat=form.lat.data, lon=form.lon.data)
        try:
            places.update_contact(me, data)
        except InvalidInput as exc:
            db.session.rollback()
            for name, texts in (exc.errors or {}).items():
                target = form["lat"] if name == "lon" else (form[name] if name in form else None)
                words = [messages.field_message(str(t)) for t in texts]
                if target is not None:
                    target.errors = list(target.errors or []) + words
                else:
                    flash("; ".join(words), "error")
        else:
            flash(_("Saved. Members see it on your tasks."), "success")
            return redirect(url_for("staff.community"))
    return render_template("staff/community.html", form=form, place=place)


@bp.get("/queue")
@common.roles("staff")
def queue():
    """Reported claims, oldest first, each one form with the staff's decisions as buttons
    (api/pages/actions.py: Decision), its age and what changed since a return; filters,
    pages, and the main decision for several at once."""
    me = common.actor()
    filters = review.QueueFilters.parse(request.args)
    page_number = request.args.get("page", "1")
    page_number = int(page_number) if page_number.isdigit() and len(page_number) <= 6 else 1
    result = review.queue(db.session, me, filters, page=page_number)
    claims = [item.claim for item in result.items]
    photo_ids = {pid for c in claims for pid in [*(p for v in c.visits for p in v.photo_ids or []),
                                                  *(p for r in c.reports for p in r.photo_ids or [])]}
    uploads = {u.id: u for u in db.session.scalars(select(Upload).where(Upload.id.in_(photo_ids or [-1])))}
    here = request.full_path.rstrip("?")
    claim_actions = {c.id: actions(me, "claim", c, {"task": c.task}, next_url=here) for c in claims}
    decisions = {c.id: decision(claim_actions[c.id], "claim", c.id, next_url=here) for c in claims}
    args = {k: v for k, v in (("category", filters.category), ("q", filters.q),
                              ("resubmitted", "1" if filters.resubmitted else None),
                              ("overdue", "1" if filters.overdue else None)) if v}
    return render_template("staff/queue.html", page=result, filters=filters, args=args, uploads=uploads,
                           actions=claim_actions, decisions=decisions, categories=CATEGORIES,
                           batch=batch_triggers(claim_actions), here=here)
