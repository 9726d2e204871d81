"""Pages several roles share, each scoped by the services: a task, a claim (with its timeline
and the forms for the triggers the caller may fire), and photos.

What a caller sees depends on the services' scope rules: a member sees only their own
claims, staff their community's, supervisors their scope; anything else is the 404 page.
"""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from workflow import audit
from workflow.engine import registry
from workflow.errors import InvalidInput, NotFound
from workflow.extensions import db
from workflow.models import AuditEvent, Claim, Upload
from workflow.services import claims as claim_service
from workflow.services import household, scope
from workflow.services import tasks as task_service
from workflow.services import uploads as upload_service
from workflow.services.names import visible_names

from . import common
from .forms import ActionForm, CheckInForm, CommentForm, ReasonForm, ReportForm, SubjectForm, WithdrawForm

bp = Blueprint("shared", __name__)
common.page_blueprint_setup(bp)

TRIGGER_FORMS = {"check_in": CheckInForm, "submit_report": ReportForm, "withdraw": WithdrawForm,
                 "approve": CommentForm, "return": ReasonForm, "reject": ReasonForm}
DONE = {
    "check_in": _l("Checked in."), "submit_report": _l("Report submitted: community staff will verify it."),
    "withdraw": _l("Claim withdrawn."), "approve": _l("Approved: points awarded."),
    "return": _l("Returned to the member."), "reject": _l("Rejected."),
}


def timeline(subject_type: str, subject_id: int) -> list[tuple[AuditEvent, str]]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.seq)).all()
    # A member outside the reader's scope shows as a role (services/names.py; issue 16)
    names = visible_names(db.session, common.actor(), (e.actor_id for e in events), labels=common.person_labels())
    return [(e, names.get(e.actor_id, _("System"))) for e in events]


@bp.get("/tasks/<int:task_id>")
@common.roles("member", "staff", "supervisor", "admin")
def task(task_id):
    me = common.actor()
    the_task = task_service.get_task(db.session, me, task_id)
    refusal = mine = None
    if me.role == "member":
        mine = db.session.scalar(select(Claim).where(
            Claim.task_id == task_id, scope.claim_filter(me), Claim.state.in_(registry().live_states())))
        refusal = claim_service.claim_refusal(db.session, me, the_task)
    events = timeline("task", task_id) if me.role != "member" else []
    return render_template("member/task.html", task=the_task, refusal=refusal,
                           refusal_text=common.refusal_text(refusal), mine=mine, form=ActionForm(),
                           events=events, actions=task_service.task_actions(the_task))


def claim_context(me, the_claim):
    the_task = the_claim.task
    allowed = claim_service.allowed_triggers(db.session, me, the_claim, the_task)
    uploads = {u.id: u for u in db.session.scalars(select(Upload).where(Upload.claim_id == the_claim.id))}
    return {"claim": the_claim, "task": the_task, "allowed": allowed, "uploads": uploads,
            "events": timeline("claim", the_claim.id)}


@bp.get("/claims/<int:claim_id>")
@common.roles("member", "staff", "supervisor", "admin")
def claim(claim_id):
    me = common.actor()
    the_claim = claim_service.get_claim(db.session, me, claim_id)
    ctx = claim_context(me, the_claim)
    chain = None
    if me.role in ("supervisor", "admin", "staff"):
        chain = audit.verify(db.session, subject=f"claim:{claim_id}")
    forms = {t: TRIGGER_FORMS[t](formdata=None) for t in ctx["allowed"] if t in ("approve", "return", "reject")}
    return render_template("member/claim.html", chain=chain, forms=forms, verify_form=SubjectForm(
        subject=f"claim:{claim_id}"), **ctx)


def _photos(field, me) -> list[int]:
    """Store the form's photos (all or none: one bad photo stores nothing) and note them on the
    request, so that a refused transition takes them back (`_take_back_photos`)."""
    blobs = [item.read() for item in field.data or [] if getattr(item, "filename", "")]
    if not blobs:
        return []
    ids = [u.id for u in upload_service.save_uploads(me, blobs, current_app.config["BAODAO_UPLOAD_DIR"])]
    g.setdefault("page_uploads", []).extend(ids)
    return ids


def _take_back_photos(me) -> None:
    """Uploads made by a request that failed are not kept (issue 16). If even that fails (the
    database is gone), the scheduled purge-uploads removes them a day later."""
    ids = g.pop("page_uploads", [])
    try:
        db.session.rollback()  # end the failed transaction first
        upload_service.discard_unattached(me, ids, current_app.config["BAODAO_UPLOAD_DIR"])
    except SQLAlchemyError:
        current_app.logger.warning("could not take back uploads %s of a failed request; purge-uploads will", ids)


def _number(text):
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def trigger_data(trigger: str, form, me) -> dict:
    if trigger == "check_in":
        data = {"note": form.note.data}
        lat, lon = _number(form.lat.data), _number(form.lon.data)
        if lat is not None and lon is not None:
            data.update(lat=lat, lon=lon)
        photos = _photos(form.photos, me)
        if photos:
            data["photos"] = photos
        return data
    if trigger == "submit_report":
        data = {"summary": form.summary.data, "hours": float(form.hours.data),
                "households": int(form.households.data or 0)}
        photos = _photos(form.photos, me)
        if photos:
            data["photos"] = photos
        return data
    if trigger == "approve":
        return {"comment": form.comment.data} if form.comment.data else {}
    if trigger == "withdraw":
        return {"reason": form.reason.data} if form.reason.data else {}
    return {"reason": form.reason.data}


@bp.route("/claims/<int:claim_id>/<trigger>", methods=["GET", "POST"])
@common.roles("member", "staff")
def fire(claim_id, trigger):
    me = common.actor()
    if trigger not in TRIGGER_FORMS:
        raise NotFound(f"no page for {trigger}")
    the_claim = claim_service.get_claim(db.session, me, claim_id)
    form = TRIGGER_FORMS[trigger]()
    back = common.safe_next(request.values.get("next"), url_for("shared.claim", claim_id=claim_id))
    if form.validate_on_submit():
        try:
            claim_service.fire(claim_id, trigger, me, trigger_data(trigger, form, me),
                               request_id=request.headers.get("X-Request-Id"))
        except Exception as exc:
            _take_back_photos(me)
            if not isinstance(exc, InvalidInput):
                raise
            common.flash_errors(exc, form)
        else:
            flash(str(DONE[trigger]), "success")
            return redirect(back)
    elif request.method == "POST":
        flash(_("Please correct the marked fields."), "error")
    ctx = claim_context(me, claim_service.get_claim(db.session, me, claim_id))
    if trigger not in ctx["allowed"]:
        flash(_("This action is not possible in the claim's current state."), "error")
        return redirect(url_for("shared.claim", claim_id=claim_id))
    note = None
    if trigger == "check_in":
        note = household.open_household_note(me, the_claim.task, purpose="check-in page")  # member/_household.html
    status = 422 if request.method == "POST" else 200
    return render_template("member/trigger.html", trigger=trigger, form=form, household_note=note, back=back,
                           **ctx), status


def _visible_upload(upload_id):
    me = common.actor()
    upload = upload_service.visible_upload(db.session, me, upload_id)
    return upload, upload_service.read_upload(upload, current_app.config["BAODAO_UPLOAD_DIR"])


@bp.get("/uploads/<int:upload_id>")
@common.roles("member", "staff", "supervisor", "admin")
def upload(upload_id):
    item, data = _visible_upload(upload_id)
    response = current_app.response_class(data, mimetype=item.content_type)
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/uploads/<int:upload_id>/thumb")
@common.roles("member", "staff", "supervisor", "admin")
def thumb(upload_id):
    """A small JPEG for lists (slow networks): the full photo is one tap away."""
    item, data = _visible_upload(upload_id)
    response = current_app.response_class(upload_service.thumbnail(data), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
