"""Liveness: the process answers. (Readiness, with the database, comes with operations.)"""
from flask import Blueprint, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")
