"""Supervisor (督导) pages — read-only: dashboard, anomaly flags, chain verification, exports,
monthly feedback to units. Units and communities are compared by rates; no page ranks people."""
from flask import Blueprint, Response, flash, g, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import NotFound as HTTPNotFound

from workflow import audit
from workflow.clock import utcnow
from workflow.errors import Conflict, InvalidInput
from workflow.extensions import db
from workflow.models import Town
from workflow.services import anomalies as anomaly_service
from workflow.services import dashboard as dashboard_service
from workflow.services import exports
from workflow.services import points as points_service
from workflow.services import receipts, scope, security_log

from . import charts, common, messages
from .forms import ExportForm, FlagFilterForm, FlagReviewForm, SubjectForm

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")
common.page_blueprint_setup(bp)
READERS = ("supervisor", "admin")


@bp.get("/")
@common.roles(*READERS)
def dashboard():
    me = common.actor()
    data = dashboard_service.dashboard(db.session, me)
    town_ids = dict(db.session.execute(select(Town.name, Town.id)).all())
    towns = data.by_town[:15]
    # each bar opens the claims it counts (the drill-down: /supervisor/claims)
    chart = {
        "state": charts.bars([(common.state_label(s), n) for s, n in data.by_state], title=_("Claims by state"),
                             links=[url_for("supervisor.claims", state=s) for s, _n in data.by_state]),
        "town": charts.bars(towns, title=_("Claims by town"),
                            links=[url_for("supervisor.claims", town=town_ids.get(name)) for name, _n in towns]),
        "category": charts.bars(data.by_category, title=_("Claims by category"),
                                links=[url_for("supervisor.claims", category=c) for c, _n in data.by_category]),
    }
    return render_template("supervisor/dashboard.html", data=data, chart=chart, scope_label=common.scope_words(me))


@bp.get("/claims")
@common.roles(*READERS)
def claims():
    """The claims behind a dashboard bar: by state, town or category, in the caller's scope."""
    me = common.actor()
    state = (request.args.get("state") or "").strip()[:32] or None
    category = (request.args.get("category") or "").strip()[:64] or None
    town_id = common.query_int("town")
    page = common.query_int("page", 1, high=common.PAGE_MAX)
    rows, total = dashboard_service.claim_list(db.session, me, state=state, town_id=town_id, category=category,
                                               page=page, per_page=PER_PAGE)
    town = db.session.get(Town, town_id) if town_id is not None else None
    filters = [w for w in (common.state_label(state) if state else None, town.name if town else None, category) if w]
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    args = {k: v for k, v in (("state", state), ("town", town_id), ("category", category)) if v is not None}
    return render_template("supervisor/claims.html", rows=rows, total=total, filters=filters, page=page,
                           pages=pages, args=args)


PER_PAGE = 20


@bp.get("/anomalies")
@common.roles(*READERS)
def anomalies():
    return _anomalies_page(FlagFilterForm(request.args))


def _town_choices(me):
    towns = db.session.scalars(select(Town).order_by(Town.code)).all()
    if getattr(me, "scope_town_id", None) and me.role == "supervisor":
        towns = [t for t in towns if t.id == me.scope_town_id]
    return [("", _("All towns"))] + [(str(t.id), t.name) for t in towns]


def _anomalies_page(form, status: int = 200):
    me = common.actor()
    form.town.choices = _town_choices(me)
    lo = hi = town_id = None
    start, end = request.args.get("start") or None, request.args.get("end") or None
    try:
        lo, hi = exports.parse_dates(start, end)
    except InvalidInput as exc:  # a day that is no day: marked on its field, the flags unfiltered by date
        common.flash_errors(exc, form)
        status = 422
    town = request.args.get("town", "")
    if town:
        town_id = common.query_int("town")
        if str(town_id) not in {value for value, _label in form.town.choices}:
            form.town.errors = [messages.field_message("Not one of the options here.")]
            town_id, status = None, 422
    flags = anomaly_service.anomalies(db.session, me, start=lo, end=hi, town_id=town_id)
    return render_template("supervisor/anomalies.html", flags=flags, thresholds=anomaly_service.Thresholds(),
                           total=sum(len(v) for v in flags.values()), form=form,
                           reviewed=sum(1 for v in flags.values() for f in v if f.review is not None),
                           review_form=FlagReviewForm(formdata=None),
                           here=request.full_path.rstrip("?")), status


@bp.post("/anomalies/review")
@common.roles(*READERS)
def review_flag():
    form = FlagReviewForm()
    back = common.safe_next(request.args.get("next"), url_for("supervisor.anomalies"))
    if not form.validate_on_submit():
        flash("; ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(back)
    try:
        anomaly_service.review_flag(common.actor(), form.kind.data, form.key.data, form.note.data or "",
                                    request_id=g.get("request_id"))
    except Conflict:
        flash(_("This flag has been reviewed already."), "error")
        return redirect(back)
    flash(_("Marked as reviewed."), "success")
    return redirect(back)


@bp.post("/verify")
@common.roles(*READERS)
def verify():
    form = SubjectForm()
    if not form.validate_on_submit():
        return common.error_page(400)
    subject = form.subject.data
    try:
        kind, ident = audit.parse_subject(subject)
    except ValueError:
        return common.error_page(404)
    if kind not in ("claim", "task", "registration", "pairing", "project"):  # the security log's chains: the
        return common.error_page(404)                   # admin pages; a member's record: verify-chain
    me = common.actor()
    if kind == "claim":
        scope.visible_claim(db.session, me, ident)
        target = url_for("shared.claim", claim_id=ident)
    elif kind == "task":
        scope.visible_task(db.session, me, ident)
        target = url_for("shared.task", task_id=ident)
    elif kind == "registration":
        scope.visible_registration(db.session, me, ident)
        target = url_for("registration.detail", registration_id=ident)
    elif kind == "pairing":
        scope.visible_pairing(db.session, me, ident)
        target = url_for("unit.pairing", pairing_id=ident)
    else:
        scope.visible_project(db.session, me, ident)
        target = url_for("unit.project", project_id=ident)
    result = audit.verify(db.session, subject=subject)
    if result.ok:
        flash(_("Chain verified: %(n)s events, every hash matches.", n=result.checked), "success")
    else:
        flash(_("Chain BROKEN: %(problem)s", problem=str(result.first_bad)), "error")
    return redirect(target)


@bp.get("/exports")
@common.roles(*READERS)
def exports_page():
    return _exports_page(ExportForm(request.args))


def _exports_page(form, *, month: str | None = None, unit_id: int | None = None, month_errors=()):
    return render_template("supervisor/exports.html", form=form,
                           units=dashboard_service.feedback_units(db.session, common.actor()),
                           month=month if month is not None else utcnow().strftime("%Y-%m"), unit_id=unit_id,
                           month_errors=list(month_errors))


@bp.get("/exports/download")
@common.roles(*READERS)
def download():
    me = common.actor()
    kind = request.args.get("kind", "claims")
    fmt = request.args.get("fmt", "csv")
    if kind not in exports.KINDS or fmt not in ("csv", "xlsx"):
        raise HTTPNotFound()
    try:
        lo, hi = exports.parse_dates(request.args.get("start"), request.args.get("end"))
    except InvalidInput as exc:  # a date that is no date, or out of range: the form again, with the field marked
        form = ExportForm(request.args)
        common.flash_errors(exc, form)
        return _exports_page(form), 422
    # The security log records every export before it is sent (services/security_log.py).
    security_log.record_export(me, "export", {"kind": kind, "format": fmt, "start": request.args.get("start") or None,
                                              "end": request.args.get("end") or None},
                               request_id=g.get("request_id"))
    locale = messages.page_locale()
    name, fallback = exports.download_name(kind, fmt, locale)
    headers = {"Content-Disposition": exports.content_disposition(name, fallback), "Cache-Control": "no-store",
               "Content-Language": "en" if locale == "en" else "zh-CN"}
    if fmt == "csv":
        body = exports.csv_chunks(exports.header(kind, locale), exports.rows(db.session, me, kind, lo, hi, locale))
        return Response(stream_with_context(body), mimetype="text/csv", headers=headers)
    path = exports.write_xlsx(exports.header(kind, locale), exports.rows(db.session, me, kind, lo, hi, locale),
                              sheet=exports.gettext(exports.FILE_TITLES[kind], locale=locale))
    return Response(exports.file_chunks(path), headers=headers,
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/feedback")
@common.roles(*READERS)
def feedback():
    me = common.actor()
    month = request.args.get("month") or utcnow().strftime("%Y-%m")
    unit_id = common.query_int("unit")
    if unit_id is None:
        return redirect(url_for("supervisor.exports_page"))
    unit = points_service.visible_unit(db.session, me, unit_id)
    try:
        report = points_service.unit_month(db.session, unit, month)
    except InvalidInput as exc:  # a month that is no month: the form again, the message under the month field
        texts = [messages.field_message(str(t)) for t in exc.errors.get("month", [])] or [common.domain_message(exc)]
        return _exports_page(ExportForm(formdata=None), month=month[:40], unit_id=unit.id, month_errors=texts), 422
    registration = receipts.month_section(db.session, unit, report.month)
    if request.args.get("format") == "xlsx":
        security_log.record_export(me, "download_feedback", {"unit": unit.code, "month": month},
                                   request_id=g.get("request_id"))
        locale = messages.page_locale()
        path = exports.feedback_xlsx(report, registration, locale)
        title = exports.gettext(exports.FILE_TITLES["feedback"], locale=locale)
        name = f"{unit.name}-{exports.month_words(month, locale)}-{title}.xlsx"
        return Response(exports.file_chunks(path),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": exports.content_disposition(
                            name, f"feedback-{unit.code}-{month}.xlsx"), "Cache-Control": "no-store"})
    return render_template("supervisor/feedback.html", report=report, month=month, registration=registration,
                           title=exports.feedback_title(report.unit.name, month, messages.page_locale()))
