"""Pages several roles share, each scoped by the services: a task, a claim (with its timeline
and the actions the caller may take: api/pages/actions.py), and photos.

What a caller sees depends on the services' scope rules: a member sees only their own
claims, staff their community's, supervisors their scope; anything else is the 404 page.
"""
from flask import Blueprint, current_app, jsonify, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from workflow import audit, runtime
from workflow.errors import InvalidInput
from workflow.extensions import db
from workflow.models import Claim, Upload
from workflow.services import claims as claim_service
from workflow.services import scope, timeline
from workflow.services import tasks as task_service
from workflow.services import uploads as upload_service

from . import common, links
from .actions import actions
from .forms import ActionForm, SubjectForm
from .messages import field_message

bp = Blueprint("shared", __name__)
common.page_blueprint_setup(bp)


def events(subject_type: str, subject_id: int) -> list[dict]:
    """The subject's timeline (services/timeline.py), the system named in the page's words."""
    # a member outside the reader's scope is shown by role (services/names.py; issue 16)
    out = timeline.events(db.session, subject_type, subject_id, common.actor(), labels=common.person_labels())
    for event in out:
        if event["actor"]["name"] is None:
            event["actor"]["name"] = _("System")
    return out


bp.add_app_template_global(links.map_url, "map_url")


@bp.get("/tasks/<int:task_id>")
@common.roles("member", "staff", "supervisor", "liaison", "admin")
def task(task_id):
    me = common.actor()
    the_task = task_service.get_task(db.session, me, task_id)
    refusal = mine = None
    roster = []
    if me.role == "member":
        mine = db.session.scalar(select(Claim).where(
            Claim.task_id == task_id, scope.claim_filter(me),
            Claim.state.in_(runtime.registry().live_states("claim"))))
        refusal = claim_service.claim_refusal(db.session, me, the_task)
    else:
        # Who claimed it (staff, admins; supervisors within their scope): the claims the reader may see.
        roster = db.session.scalars(select(Claim).where(Claim.task_id == task_id, scope.claim_filter(me))
                                    .order_by(Claim.created_at, Claim.id).limit(200)).all()
    shown = events("task", task_id) if me.role not in ("member", "liaison") else []
    task_actions = actions(me, "task", the_task, {}) if me.role in ("staff", "admin") else []
    return render_template("member/task.html", task=the_task, refusal=refusal,
                           refusal_text=common.refusal_text(refusal), mine=mine, form=ActionForm(),
                           events=shown, actions=task_actions, roster=roster,
                           claim_label=common.creating_label("claim"))


@bp.get("/share/tasks/<int:task_id>")
@common.roles("member", "staff", "supervisor", "liaison", "admin")
def share_task(task_id):
    """A card to pass a task on to a WeChat group: its essentials, its address and a QR code
    of it (a screenshot of the card, or the QR code saved as a picture, is what is shared)."""
    the_task = task_service.get_task(db.session, common.actor(), task_id)
    address = links.public_url(url_for("shared.task", task_id=task_id))
    return render_template("member/share.html", task=the_task, address=address,
                           qr=links.qr_svg(address, the_task.title))


@bp.get("/share/tasks/<int:task_id>/qr.png")
@common.roles("member", "staff", "supervisor", "liaison", "admin")
def share_task_qr(task_id):
    task_service.get_task(db.session, common.actor(), task_id)  # scope: 404 outside it
    data = links.qr_png(links.public_url(url_for("shared.task", task_id=task_id)))
    response = current_app.response_class(data, mimetype="image/png")
    response.headers["Content-Disposition"] = f'inline; filename="task-{task_id}-qr.png"'
    return response


def claim_context(me, the_claim, *, next_url=None):
    the_task = the_claim.task
    uploads = {u.id: u for u in db.session.scalars(select(Upload).where(Upload.claim_id == the_claim.id))}
    return {"claim": the_claim, "task": the_task, "uploads": uploads, "events": events("claim", the_claim.id),
            "actions": actions(me, "claim", the_claim, {"task": the_task}, next_url=next_url)}


@bp.get("/claims/<int:claim_id>")
@common.roles("member", "staff", "supervisor", "admin")
def claim(claim_id):
    me = common.actor()
    the_claim = claim_service.get_claim(db.session, me, claim_id)
    ctx = claim_context(me, the_claim)
    chain = None
    if me.role in ("supervisor", "admin", "staff"):
        chain = audit.verify(db.session, subject=f"claim:{claim_id}")
    return render_template("member/claim.html", chain=chain, verify_form=SubjectForm(
        subject=f"claim:{claim_id}"), **ctx)


@bp.post("/uploads")
@common.roles("member", "staff", "liaison")
def new_upload():
    """A photo chosen in a form, uploaded at once by the page's script (so a form sent back
    with an error keeps it): JSON with its id and thumbnail address, or the field error."""
    file = common.request_file("file")
    if file is None:
        return jsonify(error=_("Choose a photo.")), 422
    try:
        saved = upload_service.save_upload(common.actor(), file.read(upload_service.MAX_BYTES + 1),
                                           current_app.config["BAODAO_UPLOAD_DIR"])
    except InvalidInput as exc:
        db.session.rollback()
        messages = [m for ms in (exc.errors or {}).values() for m in ms] or [exc.message]
        return jsonify(error="; ".join(field_message(m) for m in messages)), exc.http_status
    return jsonify(id=saved.id, thumb=url_for("shared.thumb", upload_id=saved.id)), 201


def _visible_upload(upload_id):
    me = common.actor()
    upload = upload_service.visible_upload(db.session, me, upload_id)
    return upload, upload_service.read_upload(upload, current_app.config["BAODAO_UPLOAD_DIR"])


@bp.get("/uploads/<int:upload_id>")
@common.roles("member", "staff", "supervisor", "liaison", "admin")
def upload(upload_id):
    item, data = _visible_upload(upload_id)
    response = current_app.response_class(data, mimetype=item.content_type)
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/uploads/<int:upload_id>/thumb")
@common.roles("member", "staff", "supervisor", "liaison", "admin")
def thumb(upload_id):
    """A small JPEG for lists (slow networks): the full photo is one tap away."""
    item, data = _visible_upload(upload_id)
    response = current_app.response_class(upload_service.thumbnail(data), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
