"""Member (党员) pages: open tasks near me, my claims, my points ledger."""
from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import case, select

from workflow import runtime
from workflow.extensions import db
from workflow.models import CATEGORIES, Claim, Community, Task
from workflow.services import claims as claim_service
from workflow.services import household
from workflow.services import points as points_service
from workflow.services import scope

from . import common
from .actions import actions
from .forms import ActionForm

bp = Blueprint("member", __name__)
common.page_blueprint_setup(bp)


def member_home():
    me = common.actor()
    category = request.args.get("category")
    category = category if category in CATEGORIES else None
    everywhere = request.args.get("all") == "1"
    my_town = db.session.scalar(select(Community.town_id).where(Community.id == me.community_id))
    query = (select(Task).join(Community, Community.id == Task.community_id)
             .where(scope.task_filter(me), Task.status == "open"))
    if not everywhere:
        query = query.where(Community.town_id == my_town)
    if category:
        query = query.where(Task.category == category)
    query = query.order_by(case((Task.community_id == me.community_id, 0),
                                (Community.town_id == my_town, 1), else_=2), Task.deadline, Task.id).limit(60)
    tasks = db.session.scalars(query).all()
    live = runtime.registry().live_states("claim")
    my_claims = db.session.execute(
        select(Claim, Task).join(Task, Task.id == Claim.task_id)
        .where(scope.claim_filter(me), Claim.state.in_(live)).order_by(Task.deadline)).all()
    claim_actions = {c.id: actions(me, "claim", c, {"task": t}) for c, t in my_claims}
    past = db.session.execute(
        select(Claim, Task).join(Task, Task.id == Claim.task_id)
        .where(scope.claim_filter(me), Claim.state.not_in(live)).order_by(Claim.updated_at.desc()).limit(10)).all()
    return render_template("member/home.html", tasks=tasks, my_claims=my_claims, actions=claim_actions, past=past,
                           categories=CATEGORIES, category=category, everywhere=everywhere)


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
