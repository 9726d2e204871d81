"""Registration (报到) pages.

- member: 我的报到 — apply by choosing a town, then a community (no codes typed); the state,
  grid and the staff who accepted; withdraw, end or renew (the definition's actions); a
  printable receipt (报到回执) for the unit's files;
- staff: 报到审核 — applications waiting, each with accept (its own page: a grid picker) and
  decline; the community's roster by grid, with moving a member to another grid; the grids
  themselves (add, rename; a grid with members cannot be deleted);
- unit supervisors and admins (and district supervisors): the unit's receipt report, the
  unregistered first, with CSV/XLSX export; town and district supervisors: registration
  rates per community and per unit (rates, never a ranking of people).

Every rule is the services' (registrations, grids, receipts, scope); the views parse a form,
call one service and render. The trigger pages (accept, move_grid, end, …) are the engine's
(api/pages/actions.py), made from the definition.
"""
from datetime import timedelta, timezone

from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import select
from werkzeug.exceptions import NotFound as HTTPNotFound
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from workflow import audit, runtime
from workflow.clock import DISTRICT_TZ
from workflow.errors import Conflict, InvalidInput, NotFound, TransitionNotAllowed
from workflow.extensions import db
from workflow.models import Registration, Town, Unit
from workflow.services import exports, grids, receipts, registrations, transitions
from workflow.services import points as points_service
from workflow.services.subjects import kind as subject_kind

from . import common, messages, trigger_forms
from .actions import PAGES, actions
from .forms import ActionForm, SubjectForm
from .shared import events

bp = Blueprint("registration", __name__)
common.page_blueprint_setup(bp)
SUBJECT = "registration"
BEIJING_OFFSET = timedelta(hours=8)


class GridForm(FlaskForm):
    name = StringField(_l("Grid name"), validators=[DataRequired(), Length(max=grids.NAME_LENGTH)])


def _date(value, last_day=False):
    """A stored UTC time as its Beijing date; `last_day`: the day before (a term's last day)."""
    if value is None:
        return ""
    if last_day:
        value = value - timedelta(seconds=1)
    return common.fmt_dt(value, "yyyy-MM-dd")


@bp.app_template_global()
def term_text(registration) -> str:
    """"2026年度（至 2026-12-31）" / "2026 (to 2026-12-31)"; empty until accepted."""
    if registration is None or registration.term_year is None:
        return ""
    return _("%(year)s (to %(day)s)", year=registration.term_year, day=_date(registration.term_ends_at, True))


def _state_zh(state: str) -> str:
    """A state in the definition's Chinese words: the receipt export is for the unit's files."""
    try:
        return runtime.current().active(SUBJECT).definition.state(state).label
    except KeyError:
        return state


# -- member: 我的报到 ---------------------------------------------------------------------------

def _apply_form(town):
    """The definition's apply form, its community picker narrowed to `town`'s communities."""
    definition = runtime.current().active(SUBJECT).definition
    trigger = definition.creating_triggers[0]
    form = trigger_forms.form_class(definition, trigger, common.is_english())()
    trigger_forms.fill_choices(form, trigger, lambda spec: subject_kind(SUBJECT).choices(
        db.session, None, {"town_id": town.id}, spec))
    return trigger, form


@bp.route("/me/registration", methods=["GET", "POST"])
@common.roles("member")
def mine():
    me = common.actor()
    here = url_for("registration.mine")
    live = registrations.live_registration(db.session, me.id)
    towns = db.session.scalars(select(Town).order_by(Town.code)).all()
    town = next((t for t in towns if t.code == request.values.get("town")), None)
    trigger = form = None
    status = 200
    if live is None and town is not None:
        trigger, form = _apply_form(town)
        if request.method == "POST":
            if form.validate_on_submit():
                data, _files = trigger_forms.input_data(form, trigger)
                try:
                    registrations.apply(me, data, request_id=common.request_id())
                except InvalidInput as exc:
                    db.session.rollback()
                    for text in trigger_forms.show_errors(form, exc.errors):
                        flash(text, "error")
                    status = 422
                except TransitionNotAllowed:
                    db.session.rollback()  # an application of theirs got in first (another tab)
                    return redirect(here)
                else:
                    flash(trigger.done_en if common.is_english() else trigger.done, "success")
                    return redirect(here)
            else:
                flash(_("Please correct the marked fields."), "error")
                status = 422
    elif request.method == "POST":
        if live is not None:
            flash(_("You are already registered with %(community)s. To move, end that registration first.",
                    community=live.community.short_name), "error")
        return redirect(here)
    past = db.session.scalars(select(Registration).where(
        Registration.member_id == me.id, Registration.state.not_in(registrations.live_states()))
        .order_by(Registration.id.desc()).limit(10)).all()
    return render_template(
        "registration/mine.html", live=live, towns=towns, town=town, form=form, trigger=trigger, past=past,
        actions=actions(me, SUBJECT, live, next_url=here) if live is not None else [],
        apply_label=common.creating_label(SUBJECT)), status


# -- one registration: its page and its receipt ---------------------------------------------------

@bp.get("/registrations/<int:registration_id>")
@common.roles("member", "staff", "supervisor", "liaison", "admin")
def detail(registration_id):
    me = common.actor()
    registration = registrations.get_registration(db.session, me, registration_id)
    chain = None
    if me.role in ("supervisor", "admin", "staff"):
        chain = audit.verify(db.session, subject=f"registration:{registration_id}")
    return render_template("registration/detail.html", r=registration, events=events(SUBJECT, registration_id),
                           actions=actions(me, SUBJECT, registration), chain=chain,
                           verify_form=SubjectForm(subject=f"registration:{registration_id}"))


@bp.get("/registrations/<int:registration_id>/receipt")
@common.roles("member", "staff", "supervisor", "liaison", "admin")
def receipt(registration_id):
    """报到回执: printable, for the unit's files; only for a registration that was accepted."""
    registration = registrations.get_registration(db.session, common.actor(), registration_id)
    if registration.accepted_at is None:
        raise NotFound(f"registration {registration_id} has no receipt: it was never accepted")
    return render_template("registration/receipt.html", r=registration)


# -- staff: 报到审核, the roster by grid, the grids --------------------------------------------------

@bp.get("/staff/registrations")
@common.roles("staff")
def review():
    me = common.actor()
    here = url_for("registration.review")
    waiting = receipts.pending(db.session, me.community_id)
    return render_template("registration/review.html", waiting=waiting,
                           actions={r.id: actions(me, SUBJECT, r, next_url=here) for r in waiting},
                           grid_count=len(grids.grid_rows(db.session, me.community_id)))


@bp.get("/staff/roster")
@common.roles("staff")
def roster():
    me = common.actor()
    here = url_for("registration.roster")
    parts = receipts.roster(db.session, me.community_id)
    # The page offers one action per member, moving them to another grid, where the engine allows it:
    # asked per registration, its link made once (a large community has hundreds on its roster).
    link = url_for("actions.fire", path=PAGES[SUBJECT].path, subject_id=987654321, trigger="move_grid", next=here)
    english, labels, moves = common.is_english(), {}, {}
    for r in (line.registration for part in parts for line in part.lines):
        if "move_grid" in transitions.allowed_triggers(db.session, me, SUBJECT, r):
            if r.definition_key not in labels:  # the words of the registration's own definition version
                spec = runtime.registry().get(*r.definition_key).definition.trigger("move_grid")
                labels[r.definition_key] = spec.label_en if english else spec.label
            moves[r.id] = (link.replace("987654321", str(r.id)), labels[r.definition_key])
    return render_template("registration/roster.html", parts=parts, moves=moves, day=Days())


@bp.route("/staff/grids", methods=["GET", "POST"])
@common.roles("staff")
def grid_list():
    me = common.actor()
    form = GridForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                grids.add_grid(me, me.community_id, form.name.data)
            except InvalidInput as exc:
                db.session.rollback()
                for text in trigger_forms.show_errors(form, exc.errors):  # in the page's language
                    flash(text, "error")
                status = 422
            else:
                flash(_("Grid added."), "success")
                return redirect(url_for("registration.grid_list"))
        else:
            status = 422
    rows = grids.grid_rows(db.session, me.community_id)
    return render_template("registration/grids.html", form=form, rows=rows, action_form=ActionForm(),
                           rename_forms={row.id: GridForm(formdata=None, name=row.name) for row in rows}), status


@bp.post("/staff/grids/<int:grid_id>/rename")
@common.roles("staff")
def rename_grid(grid_id):
    form = GridForm()
    if not form.validate_on_submit():
        flash(_("A grid needs a name of at most %(n)s characters.", n=grids.NAME_LENGTH), "error")
        return redirect(url_for("registration.grid_list"))
    try:
        grids.rename_grid(common.actor(), grid_id, form.name.data)
    except InvalidInput as exc:
        db.session.rollback()
        for texts in exc.errors.values():
            flash("; ".join(messages.field_message(t) for t in texts), "error")
    else:
        flash(_("Grid renamed."), "success")
    return redirect(url_for("registration.grid_list"))


@bp.post("/staff/grids/<int:grid_id>/delete")
@common.roles("staff")
def delete_grid(grid_id):
    if not ActionForm().validate_on_submit():
        return common.error_page(400)
    try:
        grids.delete_grid(common.actor(), grid_id)
    except Conflict:
        db.session.rollback()
        flash(_("This grid has members (or is named by tasks or past registrations): move them first, or rename "
                "it instead."), "error")
    else:
        flash(_("Grid deleted."), "success")
    return redirect(url_for("registration.grid_list"))


# -- supervisors and admins: the unit's receipt report, rates --------------------------------------

READERS = ("supervisor", "admin")


def _report_unit(me):
    """The unit whose receipt report is asked for: `?unit=`, else a unit supervisor's or a
    liaison's own (a liaison reads no other unit's: 404)."""
    unit_id = request.args.get("unit", type=int)
    if me.role == "liaison":
        if unit_id not in (None, me.unit_id):
            raise NotFound(f"unit {unit_id} not found")
        return db.session.get(Unit, me.unit_id)
    if unit_id is None and me.role == "supervisor" and me.unit_id and not me.scope_town_id:
        unit_id = me.unit_id
    if unit_id is None:
        return None
    return points_service.visible_unit(db.session, me, unit_id)


class Days:
    """Stored UTC times as `|dt('yyyy-MM-dd')` prints them, each calendar day formatted once (a page of
    hundreds or thousands of lines): Beijing time has been UTC+8 all year since 1992 (summer time ended in
    1991); earlier times go through the zone's rules, and a time the zone cannot hold through fmt_dt's
    own fallback."""

    def __init__(self):
        self.seen = {}

    def __call__(self, value):
        if value is None:
            return ""
        try:
            d = (value + BEIJING_OFFSET).date() if value.year >= 1992 else \
                value.replace(tzinfo=timezone.utc).astimezone(DISTRICT_TZ).date()
        except OverflowError:
            return escape(common.fmt_dt(value, "yyyy-MM-dd"))
        text = self.seen.get(d)
        if text is None:
            text = self.seen[d] = Markup(f"{d.year:04d}-{d.month:02d}-{d.day:02d}")
        return text


def _receipt_rows(report) -> Markup:
    """The receipt table's rows, as HTML. A large unit has thousands of lines (1,700 at district scale):
    each state's label, each day and each term is worked out once, the links are made from one, and the
    rows are written here rather than by the template, which spent most of the page's time printing and
    escaping cell by cell. Every text from the database is escaped."""
    labels, terms, places, rows = {}, {}, {}, []
    day = Days()
    link = url_for("registration.receipt", registration_id=987654321)
    not_registered = escape(_("Not registered"))

    for line in report.lines:
        r = line.registration
        work = f'<td class="num">{line.verified_claims}'
        work += f'<br><span class="muted">{line.hours:g} h</span></td></tr>' if line.hours else "</td></tr>"
        if r is None:
            rows.append(f'<tr class="unregistered"><td>{escape(line.name)}<br><strong>{not_registered}</strong></td>'
                        f"<td></td><td></td>{work}")
            continue
        label_key = (r.state, r.definition_name, r.definition_version)
        if label_key not in labels:
            labels[label_key] = escape(common.state_label(*label_key, "registration"))
        name = escape(line.name)
        if r.accepted_at:
            name = f'<a href="{link.replace("987654321", str(r.id))}">{name}</a>'
            term_key = (r.term_year, r.term_ends_at)
            if term_key not in terms:
                terms[term_key] = escape(term_text(r))
            since = f'{day(r.accepted_at)}<br><span class="muted">{terms[term_key]}</span>'
        else:
            since = ""
        place_key = (r.community.id, r.grid.id if r.grid else None)
        if place_key not in places:
            grid = f" · {escape(r.grid.name)}" if r.grid else ""
            places[place_key] = (f'{escape(r.community.short_name)}{grid}<br>'
                                 f'<span class="muted">{escape(r.community.town.name)}</span>')
        rows.append(f'<tr><td>{name}<br><span class="badge {escape(r.state)}">{labels[label_key]}</span></td>'
                    f"<td>{places[place_key]}</td><td>{since}</td>{work}")
    return Markup("\n".join(rows))


@bp.get("/supervisor/receipts")
@common.roles(*READERS, "liaison")
def receipts_page():
    me = common.actor()
    unit = _report_unit(me)
    if unit is None:
        if me.role == "supervisor" and me.scope_town_id:
            raise NotFound("receipts go to units; a town's scope covers none")
        units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
        return render_template("registration/receipts.html", report=None, units=units)
    report = receipts.receipt(db.session, unit)
    return render_template("registration/receipts.html", report=report, rows=_receipt_rows(report), units=None)


@bp.get("/supervisor/receipts/download")
@common.roles(*READERS, "liaison")
def receipts_download():
    me = common.actor()
    fmt = request.args.get("fmt", "csv")
    if fmt not in ("csv", "xlsx"):
        raise HTTPNotFound()
    unit = _report_unit(me)
    if unit is None:
        raise HTTPNotFound()
    report = receipts.receipt(db.session, unit)
    rows = receipts.receipt_rows(report, _state_zh, _date)
    name = f"{unit.name}-党员到社区报到回执-{report.year}.{fmt}"  # the receipt is a Chinese document
    fallback = f"baodao-receipt-{unit.code}-{report.year}.{fmt}"
    headers = {"Content-Disposition": exports.content_disposition(name, fallback), "Cache-Control": "no-store"}
    if fmt == "csv":
        return Response(stream_with_context(exports.csv_chunks(receipts.RECEIPT_COLUMNS, rows)), mimetype="text/csv",
                        headers=headers)
    title = [f"{unit.name} 党员到社区报到回执", f"{report.year}年", f"未报到 {report.unregistered} 人"]
    path = exports.write_xlsx(receipts.RECEIPT_COLUMNS, rows, sheet=f"报到回执{report.year}", title_rows=[title])
    return Response(exports.file_chunks(path), headers=headers,
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/supervisor/registrations")
@common.roles(*READERS)
def rates():
    me = common.actor()
    if me.role == "supervisor" and me.unit_id and not me.scope_town_id:
        return redirect(url_for("registration.receipts_page"))  # a unit's supervisor reads its receipt
    return render_template("registration/rates.html", rates=receipts.rates(db.session, me))
