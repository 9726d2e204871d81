"""GET /api/v1/audit/verify: recompute hash chains (one subject, or all of them)."""
from flask_smorest import Blueprint

from workflow import audit
from workflow.extensions import db
from workflow.services import auth as auth_service

from . import http
from .schemas import VerifyQuerySchema, VerifySchema

blp = Blueprint("v1_audit", __name__, url_prefix="/api/v1/audit", description="Audit log verification")


@blp.route("/verify", methods=["GET"])
@blp.doc(description="Recompute the hash chain of `subject` (claim:<id> or task:<id>) — supervisors and staff "
                     "in scope, admins — or, without a subject, every chain against the latest checkpoint "
                     "(district supervisors and admins).")
@blp.arguments(VerifyQuerySchema, location="query")
@blp.response(200, VerifySchema)
def verify(args):
    actor = http.actor()
    subject = args.get("subject")
    auth_service.check_verify_access(db.session, actor, subject)
    result = audit.verify(db.session, subject=subject)
    bad = result.first_bad
    return {"ok": result.ok, "checked": result.checked, "subjects": result.subjects, "head": result.head,
            "personal": result.personal, "erased": result.erased,
            "first_bad": None if bad is None else {"subject": bad.subject, "seq": bad.seq, "event_id": bad.event_id,
                                                   "what": bad.what}}
