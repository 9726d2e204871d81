"""Member (党员) pages: finding a task, my claims, my points ledger, my service record and its
certificates."""
from datetime import date

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from workflow import runtime
from workflow.errors import InvalidInput
from workflow.extensions import db
from workflow.models import CATEGORIES, Claim, Task
from workflow.services import certificates, finding, household, service_record
from workflow.services import claims as claim_service
from workflow.services import points as points_service
from workflow.services import scope

from . import common, links, messages
from .actions import actions
from .forms import ActionForm, CertificateForm

bp = Blueprint("member", __name__)
common.page_blueprint_setup(bp)


def member_home():
    """My live claims apart, then the open tasks I could take on: search, filters, pages."""
    me = common.actor()
    filters = finding.TaskFilters.parse(request.args)
    page_number = request.args.get("page", "1")
    page_number = int(page_number) if page_number.isdigit() and len(page_number) <= 6 else 1
    result = finding.open_tasks(db.session, me, filters, page=page_number)
    my_claims = finding.live_claims(db.session, me)
    claim_actions = {c.id: actions(me, "claim", c, {"task": t}) for c, t in my_claims}
    live = runtime.registry().live_states("claim")
    past = db.session.execute(
        select(Claim, Task).join(Task, Task.id == Claim.task_id)
        .where(scope.claim_filter(me), Claim.state.not_in(live)).order_by(Claim.updated_at.desc()).limit(10)).all()
    return render_template("member/home.html", page=result, filters=filters, args=filters.as_args(),
                           my_claims=my_claims, actions=claim_actions, past=past, categories=CATEGORIES,
                           towns=finding.towns(db.session), my_community=me.community)


@bp.post("/tasks/<int:task_id>/claim")
@common.roles("member")
def claim(task_id):
    form = ActionForm()
    if not form.validate_on_submit():
        return common.error_page(400)
    new = claim_service.start_claim(task_id, common.actor(), request_id=common.request_id())
    trigger = runtime.registry().get(*new.subject.definition_key).definition.creating_triggers[0]
    flash(trigger.done_en if common.is_english() else trigger.done, "success")
    return redirect(url_for("shared.claim", claim_id=new.id))


@bp.post("/claims/<int:claim_id>/household/phone")
@common.roles("member")
def household_phone(claim_id):
    """The claimant's explicit tap on "show phone": the whole note, logged as a read of its own."""
    if not ActionForm().validate_on_submit():
        return common.error_page(400)
    me = common.actor()
    the_claim = claim_service.get_claim(db.session, me, claim_id)
    back = common.safe_next(request.form.get("next"),
                            url_for("actions.fire", path="claims", subject_id=claim_id, trigger="check_in"))
    try:
        text = household.reveal_household_note(me, the_claim.task, purpose="phone", request_id=common.request_id())
    except household.HouseholdReadLimit as exc:
        flash(_("You have opened %(n)s household notes in the last 24 hours, the most a day allows. "
                "Please ask the community's staff, or try again later.", n=exc.limit), "error")
        return redirect(back)
    response = make_response(render_template("member/household.html", claim=the_claim, task=the_claim.task,
                                             note=text, back=back))
    response.headers["Cache-Control"] = "no-store"  # personal data: never from a cache
    return response


@bp.get("/me/points")
@common.roles("member")
def my_points():
    me = common.actor()
    entries, total = points_service.ledger(db.session, me.id)
    claims = {c.id: c for c in db.session.scalars(
        select(Claim).where(Claim.id.in_([e.claim_id for e in entries if e.claim_id] or [-1]),
                            scope.claim_filter(me)))}
    return render_template("member/points.html", entries=list(reversed(entries)), total=total, claims=claims)


@bp.get("/me/record")
@common.roles("member")
def record():
    """My verified service by year and month, with hours and points; certificates to download."""
    me = common.actor()
    found = service_record.record(db.session, me.id)
    form = CertificateForm()
    if found.total.entries:
        form.first.data = form.first.data or found.total.entries[-1].month
        form.last.data = form.last.data or found.total.entries[0].month
    return _record_page(me, found, form)


def _record_page(me, found, form, status=200):
    issued = certificates.own_certificates(db.session, me.id)
    return render_template("member/record.html", record=found, form=form, issued=issued,
                           spaced=certificates.spaced_code), status


@bp.post("/me/certificates")
@common.roles("member")
def issue_certificate():
    me = common.actor()
    form = CertificateForm()
    if form.validate_on_submit():
        try:
            made = certificates.issue(
                me, first_month=_month(form.first.data), last_month=_month(form.last.data),
                district=current_app.config["BAODAO_DISTRICT_NAME"], key_path=current_app.config["BAODAO_CHECKPOINT_KEY"],
                request_id=common.request_id())
        except InvalidInput as exc:
            db.session.rollback()
            for texts in (exc.errors or {}).values():
                form.last.errors = list(form.last.errors or []) + [messages.field_message(str(t)) for t in texts]
        else:
            flash(_("Certificate %(code)s issued: download it below.", code=certificates.spaced_code(made.code)),
                  "success")
            return redirect(url_for("member.record", _anchor=f"cert-{made.code}"))
    return _record_page(me, service_record.record(db.session, me.id), form, 422)


def _month(text: str) -> date:
    year, month = text.split("-")
    return date(int(year), int(month), 1)


@bp.get("/me/certificates/<code>.pdf")
@common.roles("member")
def certificate_file(code):
    me = common.actor()
    made = certificates.own_certificate(db.session, me, code) if certificates.normalise_code(code) == code else None
    if made is None:
        return common.error_page(404)
    # ReportLab is imported by the first certificate a worker draws, not by every worker at start
    from . import certificate_pdf

    pdf = certificate_pdf.render(made.statement, links.public_url(url_for("verify.certificate", code=made.code)))
    response = current_app.response_class(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="certificate-{made.code}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
