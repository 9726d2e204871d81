"""GET /api/v1/claims/{id}/household_note: the whole household note, phone numbers shown.

A member's `GET /claims/{id}` and `GET /tasks/{id}` carry the note with its numbers masked; this
is the explicit tap that shows them, logged as its own read ("api:phone"). The daily limit of
notes a member may open applies (429 `household_read_limit` with Retry-After). See
workflow/services/household.py.
"""
from flask_smorest import Blueprint

from workflow.extensions import db
from workflow.services import claims as claims_service
from workflow.services import household

from . import http
from .schemas import HouseholdNoteSchema

blp = Blueprint("v1_household", __name__, url_prefix="/api/v1/claims",
                description="The household note of a claim's task, in full (personal data; every read logged)")


@blp.route("/<int(max=2147483647):claim_id>/household_note", methods=["GET"])
@blp.doc(description="The whole household note of the claim's task, phone numbers shown: for the claimant while "
                     "the claim is live, the community's staff and admins (others 403). Logged as a read with "
                     "purpose `api:phone`. Members may open a limited number of different notes a day "
                     "(BAODAO_HOUSEHOLD_READS_PER_DAY, default 10): beyond it 429 `household_read_limit` with "
                     "`retry_after`. 404 when the task has no note.")
@blp.response(200, HouseholdNoteSchema)
def household_note(claim_id):
    actor = http.actor()
    claim = claims_service.get_claim(db.session, actor, claim_id)
    text = household.reveal_household_note(actor, claim.task, purpose="api:phone", request_id=http.request_id())
    return {"claim_id": claim.id, "task_id": claim.task_id, "household_note": text}
