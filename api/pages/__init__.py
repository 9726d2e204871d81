"""The pages: server-rendered HTML for members, staff, supervisors and admins.

`init_pages(app)` wires what the pages need — Flask-Login sessions, Flask-WTF CSRF on every
page POST (the bearer-token JSON API under /api is exempt), Flask-Babel with zh_CN by default
— and registers one blueprint per role. Views stay thin: they parse a form, call a service
in `workflow.services`, and render. See docs/pages.md.
"""
from flask import request
from flask_wtf.csrf import CSRFProtect

from ..config import PROJECT_ROOT
from ..requests import is_api_request
from . import common

csrf = CSRFProtect()


def init_pages(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh_CN")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PROJECT_ROOT / "translations"))
    # A member may fill a check-in form slowly, outdoors: the token lives as long as the session.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    # CSRF is checked by our own hook below so that bearer-token API blueprints are exempt
    # whatever order they are registered in.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)

    csrf.init_app(app)

    @app.before_request
    def _csrf_for_pages():
        if is_api_request():
            return
        # Page forms may carry several photos: raise the body limit before the form is parsed.
        request.max_content_length = common.PAGE_MAX_CONTENT_LENGTH
        if app.config.get("WTF_CSRF_ENABLED", True) and request.method in app.config["WTF_CSRF_METHODS"]:
            csrf.protect()

    common.init_babel(app)
    common.init_login(app)
    common.init_errors(app, is_api_request)
    common.init_templates(app)

    from . import (actions, admin, auth, member, notifications, privacy, registration, shared, staff, supervisor, unit,
                   verify)
    for module in (auth, member, shared, actions, staff, supervisor, admin, registration, unit, verify, notifications,
                   privacy):
        app.register_blueprint(module.bp)
    notifications.init_app(app)  # the bell on every page; opening an object reads its notifications
