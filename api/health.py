"""Liveness: the process answers. (Readiness, with the database, comes with operations.)
Also `/favicon.ico`, which browsers ask for at the root whatever the page says: no login, no database."""
from flask import Blueprint, current_app, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/favicon.ico")
def favicon():
    """The icon (static/favicon.ico, made by scripts/make_favicon.py); pages also name the SVG."""
    return current_app.send_static_file("favicon.ico")
