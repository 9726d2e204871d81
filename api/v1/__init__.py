"""The JSON API, /api/v1, on flask-smorest: OpenAPI 3 at /api/v1/openapi.json, Swagger UI
at /api/v1/docs (its files served from the swagger-ui-bundle package, not a CDN).

`init_app(app)` wires it into the app factory. Everything under /api/v1 gets an
X-Request-ID, no session cookie, bearer authentication (except the token endpoint and
the docs), and the one JSON error shape of `errors.py` — also for unknown paths and
wrong methods, via a fallback route that answers 404/405 itself.
"""
import os

from flask import Blueprint as FlaskBlueprint
from flask import current_app, request, send_from_directory
from flask_smorest import Api
from werkzeug.routing import Map, Rule

from workflow import runtime
from workflow.schemas import ReasonSchema, TaskEditSchema, TaskInputSchema
from workflow.services import notifications as notification_service
from workflow.services import resources as resource_service

from . import (audit, auth, claims, communities, errors, household, http, me, notifications, pairings, projects,
               registrations, tasks, triggers, units, uploads, workflows)
from .schemas import ErrorSchema, GridInputSchema, LoginSchema, PasswordChangeSchema

# Blueprints that are the same for every app, and those made per app because their routes
# follow the app's definitions (a subject's trigger routes).
RESOURCES = (auth, me, notifications, household, uploads, audit, units, workflows, communities)
PER_APP_RESOURCES = (tasks, claims, registrations, pairings, projects)
DEFAULT_TOKEN_TTL = 12 * 3600


class BaodaoApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # Not app-wide (the pages have their own error pages): each API blueprint gets the
        # JSON handler; the docs blueprint and hooks fall back to the ApiError handler below.
        self._app.register_error_handler(errors.ApiError, errors.handle)


def _swagger_ui_dir() -> str | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:  # then /api/v1/docs needs the files from elsewhere; openapi.json still works
        return None
    return swagger_ui_path


fallback = FlaskBlueprint("api_v1_fallback", __name__)
errors.register(fallback)


@fallback.route("/api/v1/docs/static/<path:filename>")
@http.public
def swagger_static(filename):
    folder = _swagger_ui_dir()
    if folder is None:
        raise errors.ApiError(404, "Swagger UI files are not installed (pip install swagger-ui-bundle)")
    return send_from_directory(folder, filename)


@fallback.route("/api/v1", defaults={"path": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@fallback.route("/api/v1/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@http.public
def unmatched(path):
    """No API route took the request: answer 404 or 405 as the real routes would, in JSON."""
    probe = current_app.extensions.get("baodao_api_probe")
    if probe is None:
        # With the app's converters: its `int` is the bounded id (api/routing.py).
        probe = Map([Rule(r.rule, endpoint=r.endpoint, methods=r.methods)
                     for r in current_app.url_map.iter_rules()
                     if r.rule.startswith(http.PREFIX) and not r.endpoint.startswith("api_v1_fallback.")],
                    converters=current_app.url_map.converters)
        current_app.extensions["baodao_api_probe"] = probe
    probe.bind("localhost").match(request.path, method=request.method)  # raises NotFound / MethodNotAllowed
    raise errors.ApiError(404, "not found")


def init_app(app) -> Api:
    app.config.setdefault("BAODAO_API_TOKEN_TTL", int(os.environ.get("BAODAO_API_TOKEN_TTL", DEFAULT_TOKEN_TTL)))
    # A ceiling for every request body (an upload's 10 MB plus its envelope); the API
    # sets tighter per-request limits and refuses by Content-Length before reading.
    app.config.setdefault("MAX_CONTENT_LENGTH", http.UPLOAD_BODY_LIMIT)
    app.config.update({
        "API_TITLE": "Baodao (报到) API", "API_VERSION": "v1", "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1", "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs", "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/static/",
        "API_SPEC_OPTIONS": {
            "info": {"description": "The dual-reporting (双报到) workflow over HTTP. See docs/api.md. Error "
                                    "messages (and notification texts) are in the language `Accept-Language` prefers: "
                                    "Chinese by default, English for `en`; the machine codes (`error`, `reason`, "
                                    "states, triggers) never change. A token of a "
                                    "user whose password an administrator set or reset is answered 403 "
                                    "`password_change_required` on every route but POST /api/v1/me/password "
                                    "(and DELETE /api/v1/auth/token) until they set their own."},
            "servers": [{"url": "/"}],
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/token"}}},
        },
    })
    api = BaodaoApi(app)
    spec = api.spec
    # The header carries JSON *text*; flask-smorest documents it as an object, which a header is not.
    spec.components.headers_lazy.pop("PAGINATION", None)
    spec.components.headers["PAGINATION"] = {
        "description": "Pagination metadata as JSON text: total, total_pages, first_page, last_page, page, "
                       "previous_page, next_page", "schema": {"type": "string"}}
    spec.components.schema("Login", schema=LoginSchema)
    spec.components.schema("PasswordChange", schema=PasswordChangeSchema)
    spec.components.schema("TaskInput", schema=TaskInputSchema)
    spec.components.schema("TaskEdit", schema=TaskEditSchema)
    spec.components.schema("Reason", schema=ReasonSchema)
    spec.components.schema("MarkRead", schema=notification_service.MarkReadInput)
    registry = app.extensions[runtime.EXTENSION].registry
    spec.components.schema("GridInput", schema=GridInputSchema)
    spec.components.schema("ResourceInput", schema=resource_service.ResourceInputSchema)
    spec.components.schema("ResourceEdit", schema=resource_service.ResourceEditSchema)
    triggers.register_components(spec, registry)
    registrations.register_components(spec, registry)  # POST /registrations: the creating trigger's input
    pairings.register_components(spec, registry)  # POST /pairings and /projects: their creating triggers' input

    blueprints = [module.make_blueprint(registry) for module in PER_APP_RESOURCES]
    blueprints += [module.blp for module in RESOURCES]
    for blp in blueprints:
        if not getattr(blp, "_baodao_hooks", False):  # module-level blueprints: add hooks once per process
            blp.before_request(http.authenticate)
            errors.register(blp)
            blp._baodao_hooks = True
        api.register_blueprint(blp)
    app.register_blueprint(fallback)
    app.before_request(http.before_api_request)
    app.after_request(http.after_api_request)
    return api
