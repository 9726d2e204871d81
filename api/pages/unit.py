"""The unit's 报到 pages: pairings (结对共建), projects (项目清单) and the unit's resources (资源清单).

- liaison: the unit's home — pairings with their state and term, projects taken and their
  progress, the resource list (add, edit, retire), links to the receipt report and the unit's
  printable page for the year; proposing a pairing (town, then community); the open projects;
- staff: proposals to accept or decline, the paired units and their resources (each turned into
  a project or a task with one action, prefilled), the community's projects (publish, review);
- supervisors: pairings and projects per unit and per community (counts and rates, no ranking),
  any project's page with its full timeline, exports with Chinese headers;
- a pairing's and a project's own page: details, reports and linked tasks, the caller's actions
  (the definition's: api/pages/actions.py), the timeline, the chain status.

Every rule is the services' (pairings, projects, resources, unit_work, scope); the views parse a
form, call one service and render.
"""
from datetime import timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.exceptions import NotFound as HTTPNotFound
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from workflow import audit, runtime
from workflow.clock import district_date, district_year, utcnow
from workflow.errors import InvalidInput, TransitionNotAllowed
from workflow.extensions import db
from workflow.models import RESOURCE_CATEGORIES, ProjectReport, Town, Unit, Upload
from workflow.services import pairings, projects, resources, unit_work
from workflow.services.pairing_views import linked_tasks
from workflow.services.subjects import kind as subject_kind

from . import common, trigger_forms
from .actions import actions
from .forms import ActionForm, SubjectForm
from .shared import events

bp = Blueprint("unit", __name__)
common.page_blueprint_setup(bp)
READERS = ("supervisor", "admin")
EVERYONE_BUT_MEMBERS = ("staff", "supervisor", "liaison", "admin")


class ResourceForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    category = SelectField(_l("Category"), choices=[(c, c) for c in RESOURCE_CATEGORIES])
    description = TextAreaField(_l("What the unit offers"), validators=[Optional(), Length(max=2000)])
    frequency = StringField(_l("How often it can be offered"), validators=[Optional(), Length(max=100)])
    contact = StringField(_l("Contact (shown only to the communities paired with the unit)"),
                          validators=[Optional(), Length(max=200)])


def _definition(subject: str):
    return runtime.current().active(subject).definition


def _done_text(trigger) -> str:
    return (trigger.done_en if common.is_english() else trigger.done) or _("Done.")


def _creating_form(subject: str, *, data=None, choices_related=None):
    """The definition's creating trigger as a form (propose, publish), its `ref` selects filled."""
    definition = _definition(subject)
    trigger = definition.creating_triggers[0]
    form = trigger_forms.form_class(definition, trigger, common.is_english())(data=data)
    kind = subject_kind(subject)
    trigger_forms.fill_choices(form, trigger, lambda spec: kind.choices(db.session, None, choices_related or {}, spec))
    return trigger, form


def _fields(trigger, me):
    """The creating trigger's fields a person fills in: an admin names the unit, a liaison does not."""
    return [spec for spec in trigger.fields if spec.name != "unit_id" or me.role == "admin"]


# -- the liaison's home ---------------------------------------------------------------------------

@bp.get("/liaison/")
@common.roles("liaison")
def home():
    me = common.actor()
    view = unit_work.overview(db.session, me)
    lines = resources.unit_resources(db.session, me, me.unit_id)
    return render_template("unit/home.html", view=view, resources=lines, form=ActionForm(),
                           propose_label=common.creating_label("pairing"))


@bp.get("/liaison/projects")
@common.roles("liaison")
def open_projects():
    me = common.actor()
    rows = unit_work.open_projects(db.session, me)
    return render_template("unit/open_projects.html", rows=rows,
                           actions={r.project.id: actions(me, "project", r.project, next_url=url_for(
                               "unit.open_projects")) for r in rows if r.paired})


@bp.route("/liaison/resources/new", methods=["GET", "POST"])
@common.roles("liaison")
def new_resource():
    me = common.actor()
    form = ResourceForm()
    if form.validate_on_submit():
        try:
            resources.add_resource(me, me.unit_id, _resource_data(form), request_id=common.request_id())
        except InvalidInput as exc:
            db.session.rollback()
            common.flash_errors(exc, form)
        else:
            flash(_("Resource added."), "success")
            return redirect(url_for("unit.home") + "#resources")
    return render_template("unit/resource_form.html", form=form, resource=None), \
        422 if request.method == "POST" else 200


def _resource_data(form) -> dict:
    return {name: (getattr(form, name).data or "").strip() for name in
            ("title", "category", "description", "frequency", "contact")}


@bp.route("/liaison/resources/<int:resource_id>/edit", methods=["GET", "POST"])
@common.roles("liaison")
def edit_resource(resource_id):
    me = common.actor()
    line = resources.visible_resource(db.session, me, resource_id)
    form = ResourceForm(obj=None if request.method == "POST" else line)
    if form.validate_on_submit():
        try:
            resources.edit_resource(me, line.unit_id, resource_id, _resource_data(form),
                                    request_id=common.request_id())
        except InvalidInput as exc:
            db.session.rollback()
            common.flash_errors(exc, form)
        else:
            flash(_("Resource saved."), "success")
            return redirect(url_for("unit.home") + "#resources")
    return render_template("unit/resource_form.html", form=form, resource=line), \
        422 if request.method == "POST" else 200


@bp.post("/liaison/resources/<int:resource_id>/retire")
@common.roles("liaison")
def retire_resource(resource_id):
    """Take a line off the list, or (when it is retired) put it back."""
    me = common.actor()
    if not ActionForm().validate_on_submit():
        return common.error_page(400)
    line = resources.visible_resource(db.session, me, resource_id)
    retire = line.retired_at is None
    resources.edit_resource(me, line.unit_id, resource_id, {"retired": retire}, request_id=common.request_id())
    flash(_("Resource retired: communities no longer see it.") if retire else _("Resource offered again."), "success")
    return redirect(url_for("unit.home") + "#resources")


@bp.get("/liaison/year")
@common.roles("liaison")
def yearbook():
    """The unit's page to print for the year: communities paired, projects done, members
    registered and not, hours."""
    me = common.actor()
    year = common.query_int("year", district_year(utcnow()), low=2000, high=2100)
    book = unit_work.yearbook(db.session, db.session.get(Unit, me.unit_id), year)
    return render_template("unit/yearbook.html", book=book)


# -- proposing a pairing ------------------------------------------------------------------------------

@bp.route("/pairings/new", methods=["GET", "POST"])
@common.roles("liaison", "admin")
def propose():
    """Propose a pairing: choose the town, then the community (no codes typed), what the two sides
    agree to do, until when; an admin also names the unit."""
    me = common.actor()
    towns = db.session.scalars(select(Town).order_by(Town.code)).all()
    town = next((t for t in towns if t.code == request.values.get("town")), None)
    trigger = form = None
    status = 200
    if town is not None:
        default_end = district_date(utcnow()) + timedelta(days=365)
        trigger, form = _creating_form("pairing", data={"ends_on": default_end} if request.method == "GET" else None,
                                       choices_related={"town_id": town.id})
        if me.role != "admin":
            del form["unit_id"]
        if request.method == "POST":
            if form.validate_on_submit():
                data, _files = trigger_forms.input_data(form, _Only(trigger, _fields(trigger, me)))
                try:
                    created = pairings.propose(me, data, request_id=common.request_id())
                except InvalidInput as exc:
                    db.session.rollback()
                    for text in trigger_forms.show_errors(form, exc.errors):
                        flash(text, "error")
                    status = 422
                except TransitionNotAllowed as exc:
                    db.session.rollback()
                    flash(common.domain_message(exc), "error")
                    status = 409
                else:
                    flash(_done_text(trigger), "success")
                    return redirect(url_for("unit.pairing", pairing_id=created.id))
            else:
                flash(_("Please correct the marked fields."), "error")
                status = 422
    return render_template("unit/propose.html", towns=towns, town=town, form=form, trigger=trigger,
                           fields=_fields(trigger, me) if trigger else [],
                           label=common.creating_label("pairing")), status


class _Only:
    """A trigger seen with only some of its fields (an admin-only field left out of a liaison's form)."""

    def __init__(self, trigger, fields):
        self.fields = tuple(fields)
        self.name = trigger.name


# -- one pairing, one project ---------------------------------------------------------------------------

def _chain(me, subject: str):
    if me.role in ("supervisor", "admin", "staff"):
        return audit.verify(db.session, subject=subject)
    return None


@bp.get("/pairings/<int:pairing_id>")
@common.roles(*EVERYONE_BUT_MEMBERS)
def pairing(pairing_id):
    me = common.actor()
    row = pairings.get_pairing(db.session, me, pairing_id)
    unit_resources = []
    if me.role == "staff" and row.state == "active":
        unit_resources = resources.unit_resources(db.session, me, row.unit_id, include_retired=False)
    return render_template("unit/pairing.html", p=row, events=events("pairing", pairing_id),
                           actions=actions(me, "pairing", row), chain=_chain(me, f"pairing:{pairing_id}"),
                           resources=unit_resources, verify_form=SubjectForm(subject=f"pairing:{pairing_id}"))


@bp.get("/projects/<int:project_id>")
@common.roles(*EVERYONE_BUT_MEMBERS)
def project(project_id):
    me = common.actor()
    row = projects.get_project(db.session, me, project_id)
    reports = db.session.scalars(select(ProjectReport).where(ProjectReport.project_id == project_id)
                                 .order_by(ProjectReport.id)).all()
    uploads = {u.id: u for u in db.session.scalars(select(Upload).where(Upload.project_id == project_id))}
    refusal = projects.take_refusal(db.session, me, row)
    return render_template("unit/project.html", p=row, reports=reports, uploads=uploads,
                           tasks=linked_tasks(db.session, me, project_id), events=events("project", project_id),
                           actions=actions(me, "project", row), chain=_chain(me, f"project:{project_id}"),
                           refusal=common.refusal_text(refusal), verify_form=SubjectForm(subject=f"project:{project_id}"),
                           unit=db.session.get(Unit, row.unit_id) if row.unit_id else None)


# -- staff -------------------------------------------------------------------------------------------------

@bp.get("/staff/pairings")
@common.roles("staff")
def staff_pairings():
    me = common.actor()
    here = url_for("unit.staff_pairings")
    waiting, active = unit_work.community_pairings(db.session, me)
    offered = dict(resources.paired_resources(db.session, me))
    return render_template("unit/staff_pairings.html", waiting=waiting, active=active,
                           offered={u.id: lines for u, lines in offered.items()},
                           actions={p.id: actions(me, "pairing", p, next_url=here) for p in waiting})


@bp.get("/staff/projects")
@common.roles("staff")
def staff_projects():
    me = common.actor()
    state = request.args.get("state")
    if state not in (None, "", *(s.name for s in _definition("project").states)):
        raise HTTPNotFound()
    rows = unit_work.community_projects(db.session, me, state or None)
    return render_template("unit/staff_projects.html", rows=rows, state=state or "",
                           states=[s for s in _definition("project").states if s.name != "new"],
                           publish_label=common.creating_label("project"))


def _from_resource(me) -> dict:
    """A resource line of a unit paired with the staff member's community, as a form's start."""
    resource_id = common.query_int("resource")
    if resource_id is None:
        return {}
    line = resources.visible_resource(db.session, me, resource_id)  # 404 unless paired with us
    return {"title": line.title, "description": "\n".join(t for t in (line.description, line.frequency and
                                                                       _("How often: %(f)s", f=line.frequency)) if t),
            "category": line.category, "unit": db.session.get(Unit, line.unit_id).name}


@bp.route("/staff/projects/new", methods=["GET", "POST"])
@common.roles("staff")
def publish_project():
    """Publish a project: the definition's form; from a paired unit's resource line, prefilled."""
    me = common.actor()
    start = {}
    if request.method == "GET":
        today = district_date(utcnow())
        start = {"starts_on": today, "ends_on": today + timedelta(days=60)}
        prefill = _from_resource(me)
        start.update({k: v for k, v in prefill.items() if k in ("title", "description", "category")})
        if prefill:
            flash(_("Prefilled from the resource “%(title)s” of %(unit)s.", title=prefill["title"],
                    unit=prefill["unit"]), "success")
    trigger, form = _creating_form("project", data=start or None)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            data, _files = trigger_forms.input_data(form, trigger)
            try:
                created = projects.publish(me, data, request_id=common.request_id())
            except InvalidInput as exc:
                db.session.rollback()
                for text in trigger_forms.show_errors(form, exc.errors):
                    flash(text, "error")
                status = 422
            else:
                flash(_done_text(trigger), "success")
                return redirect(url_for("unit.project", project_id=created.id))
        else:
            flash(_("Please correct the marked fields."), "error")
            status = 422
    return render_template("unit/publish.html", form=form, trigger=trigger,
                           label=common.creating_label("project")), status


# -- supervisors -------------------------------------------------------------------------------------------

@bp.get("/supervisor/pairings")
@common.roles(*READERS)
def rates():
    me = common.actor()
    return render_template("unit/rates.html", rates=unit_work.rates(db.session, me),
                           projects=unit_work.projects_in_scope(db.session, me, limit=50))


@bp.get("/supervisor/pairings/download")
@common.roles(*READERS)
def rates_download():
    """Pairings and projects per unit or per community, CSV or XLSX with Chinese headers. (Counts
    only, no personal data: not an export the security log records.)"""
    from workflow.services import exports

    me = common.actor()
    by, fmt = request.args.get("by", "unit"), request.args.get("fmt", "csv")
    if by not in ("unit", "community") or fmt not in ("csv", "xlsx"):
        raise HTTPNotFound()
    figures = unit_work.rates(db.session, me)
    rows = unit_work.rate_rows(figures.units if by == "unit" else figures.communities)
    header = list(unit_work.RATE_COLUMNS)
    header[0], header[1] = ("单位", "单位代码") if by == "unit" else ("社区（村）", "所属镇（街道）")
    fallback = f"baodao-pairings-by-{by}-{district_date(utcnow()).isoformat()}.{fmt}"
    name = f"结对共建与项目情况-{'按单位' if by == 'unit' else '按社区'}-{district_date(utcnow()).isoformat()}.{fmt}"
    headers = {"Content-Disposition": exports.content_disposition(name, fallback), "Cache-Control": "no-store"}
    if fmt == "csv":
        return Response(stream_with_context(exports.csv_chunks(header, rows)), mimetype="text/csv", headers=headers)
    title = [["结对共建与项目情况（按单位）" if by == "unit" else "结对共建与项目情况（按社区）",
              district_date(utcnow()).isoformat()]]
    path = exports.write_xlsx(header, rows, sheet="结对共建", title_rows=title)
    return Response(exports.file_chunks(path), headers=headers,
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/supervisor/projects")
@common.roles(*READERS)
def project_list():
    me = common.actor()
    state = request.args.get("state")
    if state not in (None, "", *(s.name for s in _definition("project").states)):
        raise HTTPNotFound()
    return render_template("unit/project_list.html", state=state or "",
                           rows=unit_work.project_lines(db.session, unit_work.projects_in_scope(
                               db.session, me, state=state or None)),
                           states=[s for s in _definition("project").states if s.name != "new"])


def resource_prefill_for_task(me) -> dict:
    """For the staff's new-task form (api/pages/staff.py): a paired unit's resource line as the
    start of a task — title, description, and the category when tasks have it."""
    return _from_resource(me)


