"""Privacy pages: the public privacy notice (`/privacy`), and "My data" (`/me/data`) where any
logged-in person sees what Baodao holds about them and downloads it — the same document as
`GET /api/v1/me/export` (workflow/services/personal_data.py)."""
from flask import Blueprint, Response, current_app, render_template

from workflow import runtime
from workflow.extensions import db
from workflow.services import personal_data

from . import common

bp = Blueprint("privacy", __name__)
common.page_blueprint_setup(bp)

EVERYONE = ("member", "staff", "supervisor", "liaison", "admin")


@bp.get("/privacy")
def notice():
    """Public: what is kept, why, for how long (the settings in effect), who sees it, a person's rights."""
    return render_template("privacy/notice.html", retention=runtime.current().policy.retention,
                           log_days=current_app.config.get("BAODAO_LOG_RETENTION_DAYS", 180),
                           contact=current_app.config.get("BAODAO_PRIVACY_CONTACT") or "")


@bp.get("/me/data")
@common.roles(*EVERYONE)
def my_data():
    document = personal_data.export(db.session, common.actor())
    return render_template("privacy/my_data.html", document=document, counts=personal_data.summary(document))


@bp.get("/me/data/export")
@common.roles(*EVERYONE)
def download():
    name, body = personal_data.as_file(personal_data.export(db.session, common.actor()))
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
