"""The public page a certificate's QR code opens: is this certificate genuine, and what does
it state? No login: whoever holds the paper (a unit's office, an employer) may check it.
It shows only what the certificate itself states about the person — name, period, hours,
issue date — checked against the signature and the member's audit chain
(services/certificates.py)."""
from flask import Blueprint, current_app, redirect, render_template, request, url_for

from workflow.checkpoint_signing import load_or_create_key
from workflow.extensions import db
from workflow.services import certificates

from . import common

bp = Blueprint("verify", __name__)
common.page_blueprint_setup(bp)


@bp.get("/verify")
def lookup():
    """A code typed in by hand (from the printed address's end)."""
    code = (request.args.get("code") or "").strip()
    if code:
        return redirect(url_for("verify.certificate", code=code[:40]))
    return render_template("verify.html", verdict=None, spaced=certificates.spaced_code)


@bp.get("/verify/<code>")
def certificate(code):
    public = load_or_create_key(current_app.config["BAODAO_CHECKPOINT_KEY"]).public_key()
    verdict = certificates.verify(db.session, code[:40], public)
    status = {"genuine": 200, "altered": 200, "unknown": 404, "malformed": 404}[verdict.status]
    response = current_app.make_response((render_template("verify.html", verdict=verdict,
                                                          spaced=certificates.spaced_code), status))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
