"""Hardening of the HTTP layer, pages and API alike (see docs/reliability.md).

- **Failed logins** are limited with Flask-Limiter on `POST /api/v1/auth/token` and
  `POST /login` together (shared scopes): only failures (401) count, over a moving window.
  Per (account, client address) pair: 5 in 15 minutes, then that address is refused for that
  account — an attacker elsewhere never locks the owner out; per address: 20 in 15 minutes
  across accounts; per account across addresses: no lock, but once the account has had 10
  failures in 15 minutes (the login records say so) every address may try it only once a
  minute (workflow/services/auth.py explains the decision). The account is the username's
  case- and width-insensitive key, so `Admin` and `admin` share one count. Storage:
  `memory://` by default, Redis when `REDIS_URL` is set (then the limits hold across gunicorn
  workers and app nodes; with the memory store each worker counts on its own). If Redis stops
  answering, the limiter falls back to memory rather than failing logins.
- **Page sessions** are server-side records (`workflow.services.auth.start_session`): a
  fresh session token at every login, checked on every page request, revoked at logout,
  so a copied cookie stops working at once; ended after BAODAO_SESSION_IDLE_MINUTES (30)
  without a request and BAODAO_SESSION_MAX_HOURS (12) after login.
- **Cookies**: HttpOnly, SameSite=Lax; `Secure` per `BAODAO_SECURE_COOKIES` (`1`/`0`;
  default `auto`: Secure whenever the request came over HTTPS — behind a TLS proxy that
  gunicorn trusts, via X-Forwarded-Proto).
- **Headers on every response**: CSP (no inline scripts; `frame-ancestors 'none'`),
  `X-Content-Type-Options: nosniff`, `Referrer-Policy`, `X-Frame-Options`; served photos
  also get `Content-Disposition`.
- **Text no field may hold**: NUL and other control characters, lone surrogates, and
  bidirectional override/isolate controls (U+202A–U+202E, U+2066–U+2069: "Trojan source"
  spoofing) anywhere in a JSON body, a form or a query string are refused with field
  messages; so are JSON integers outside the 32-bit range (every integer column is).
"""
import base64
import hashlib
import os
import re
import time

from flask import current_app, g, has_request_context, jsonify, make_response, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from workflow.identity import username_key
from workflow.services import auth as auth_service

from .requests import MALFORMED, is_api_request, json_value

PAGE_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
            "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"
REFERRER_POLICY = "same-origin"
UPLOAD_ENDPOINTS = {"v1_uploads.get_upload", "shared.upload", "shared.thumb"}
SWAGGER_UI_ENDPOINT = "api-docs.openapi_swagger_ui"
INT32 = (-2**31, 2**31 - 1)
# C0 controls but tab, newline and carriage return; DEL; lone surrogates; bidi embeddings,
# overrides and isolates. (The plain marks U+200E/U+200F are ordinary text and allowed.)
BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
# Forms and query strings are decoded with replacement characters: U+FFFD there means bytes that
# were not UTF-8 (a lone surrogate, say), so it is refused too. (A JSON body that is not UTF-8 is a 400.)
BAD_FORM_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufffd]")


def _setting(name: str, default: str) -> str:
    return os.environ.get(name, default).strip().lower()


# -- failed-login limits (Flask-Limiter) --------------------------------------------------------

limiter = Limiter(key_func=get_remote_address, strategy="moving-window")


def _is_api() -> bool:
    return is_api_request()


def _login_name() -> str:
    name = None
    if request.mimetype == "application/json" or _is_api():
        body = request.get_json(silent=True, cache=True)
        name = body.get("username") if isinstance(body, dict) else None
    else:
        name = request.form.get("username")
    return name.strip()[:64] if isinstance(name, str) else ""


def _prefix() -> str:
    # Our own namespace in the key (Flask-Limiter keeps the first app's key prefix for the process).
    return current_app.config["BAODAO_RATELIMIT_PREFIX"]


def _pair_key() -> str:
    """(account, address): the account by its case- and width-insensitive key."""
    return f"{_prefix()}:pair:{username_key(_login_name())}:{client_address()}"


def client_address() -> str:
    """The client's address: behind a trusted proxy (FORWARDED_ALLOW_IPS, as gunicorn's; default
    127.0.0.1) the last X-Forwarded-For entry, which that proxy appended; otherwise the peer.
    Without this every client behind nginx would share nginx's address — and one client's
    failures would lock everybody out."""
    peer = request.remote_addr or "unknown"
    trusted = {a.strip() for a in os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1").split(",")}
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and (peer in trusted or "*" in trusted):
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return peer


def _address_key() -> str:
    return f"{_prefix()}:address:{client_address()}"


def _pair_limit() -> str:
    """5 failures per 15 minutes for one account from one address; and while the account is under
    attack from many addresses, also at most one failure a minute (the slow-down)."""
    limit = (f"{auth_service.MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS} per "
             f"{int(auth_service.WINDOW.total_seconds())} seconds")
    if auth_service.account_under_attack(_login_name()):
        limit += "; 1 per 60 seconds"
    return limit


def _address_limit() -> str:
    return f"{auth_service.MAX_FAILURES_PER_ADDRESS} per {int(auth_service.WINDOW.total_seconds())} seconds"


def _failed(response) -> bool:
    return response.status_code == 401


def _breach(request_limit, *, api_message="too many failed logins; try again later", page_message=None):
    """The 429 response (Flask-Limiter raises RateLimitExceeded carrying it; raising here instead
    would be taken for a storage failure). API: the one error shape; pages: the error page."""
    retry_after = max(1, int(request_limit.reset_at - time.time()) + 1)
    if _is_api():
        from .v1.errors import payload
        response = jsonify(payload(429, api_message, error="too_many_attempts", retry_after=retry_after))
        response.status_code = 429
    else:
        from flask_babel import gettext as _
        minutes = max(1, (retry_after + 59) // 60)
        message = (page_message(minutes) if page_message else
                   _("Too many failed logins. Please wait %(minutes)s minutes and try again.", minutes=minutes))
        response = make_response(render_template("errors/error.html", status=429, message=message), 429)
    response.headers["Retry-After"] = str(retry_after)
    return response


_login_decorators = (
    limiter.shared_limit(_pair_limit, scope="login-pair", key_func=_pair_key, methods=["POST"],
                         deduct_when=_failed, on_breach=_breach),
    limiter.shared_limit(_address_limit, scope="login-address", key_func=_address_key, methods=["POST"],
                         deduct_when=_failed, on_breach=_breach),
)


def limit_logins(view):
    """Decorate a login view (API token or page login) with the failed-login limits."""
    for decorate in _login_decorators:
        view = decorate(view)
    return view


# -- wrong own passwords (changing one's password) ----------------------------------------------
# Whoever holds a session or a token can change its password only by giving the current one: a
# stolen session must not be able to guess it. So wrong current passwords count per account,
# from anywhere (the caller is already signed in as the account): the same 5 per 15 minutes as a
# login's, shared by the page and the API. A wrong one is also a failed login record (users.py).

def _password_check_key() -> str:
    from flask_login import current_user

    actor = g.get("actor")  # the API's token holder (http.authenticate); a page's user otherwise
    if actor is None and current_user.is_authenticated:
        actor = current_user
    return f"{_prefix()}:password-check:{getattr(actor, 'id', None) or 'nobody'}"


def _password_check_limit() -> str:
    return (f"{auth_service.MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS} per "
            f"{int(auth_service.WINDOW.total_seconds())} seconds")


def _password_was_wrong(response) -> bool:
    return bool(g.get("wrong_password"))


def _password_breach(request_limit):
    from flask_babel import gettext as _

    from workflow.messages import WRONG_PASSWORDS

    return _breach(request_limit, api_message=WRONG_PASSWORDS,
                   page_message=lambda minutes: _("Too many wrong passwords. Please wait %(minutes)s minutes "
                                                  "and try again.", minutes=minutes))


def limit_password_checks(view):
    """Decorate a view that checks the caller's own password; the view sets g.wrong_password when
    it was wrong (see `password_was_wrong`)."""
    return limiter.shared_limit(_password_check_limit, scope="password-check", key_func=_password_check_key,
                                methods=["POST"], deduct_when=_password_was_wrong, on_breach=_password_breach)(view)


def password_was_wrong() -> None:
    """Count this request against the account's limit of wrong passwords (limit_password_checks)."""
    g.wrong_password = True


def _only_the_decorated_limits(app) -> None:
    """The only limits are the login views' decorators, which check themselves when those views
    run (Flask-Limiter's wrapper, `in_middleware=False`). With no default, application-wide,
    blueprint or meta limit configured, Flask-Limiter's before-request check of every request
    finds nothing to check (about 3 % of a transition's CPU), so it is taken out again. Its
    after-request hook (which deducts a failed login: `deduct_when`) and its teardown stay.
    Configure such a limit and the check stays in."""
    manager = limiter.limit_manager
    if manager.default_limits or manager.application_limits or manager._blueprint_limits or limiter._meta_limits:
        return
    hooks = app.before_request_funcs.get(None, [])
    app.before_request_funcs[None] = [hook for hook in hooks if hook != limiter._check_request_limit]


def rate_limited_response(exc):
    """Error handler for RateLimitExceeded: the response `_breach` built."""
    return exc.get_response()


def login_succeeded() -> None:
    """A successful login clears the account's failures from this address (not the address's own)."""
    for current in limiter.current_limits:
        if any(":pair:" in str(arg) for arg in current.request_args):
            limiter.limiter.clear(current.limit, *current.request_args)


# -- page sessions and cookies ------------------------------------------------------------------

SESSION_TOKEN_KEY = "_sid"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, `Secure` per BAODAO_SECURE_COOKIES (auto: on HTTPS requests)."""

    def get_cookie_secure(self, app) -> bool:
        setting = app.config.get("BAODAO_SECURE_COOKIES", "auto")
        if setting == "auto":
            return bool(has_request_context() and request.is_secure)
        return bool(setting)


def start_page_session(user) -> None:
    """At page login, after the old session was cleared: a fresh server-side session token."""
    session[SESSION_TOKEN_KEY] = auth_service.start_session(
        user, ttl=current_app.config["BAODAO_SESSION_MAX"], address=client_address())


def page_session_token_id() -> int | None:
    """The api_tokens row of this request's page session (kept when the user changes their password)."""
    token = session.get(SESSION_TOKEN_KEY)
    return auth_service.token_id(token) if token else None


# Pages a user who must change their password may still open: the change itself, logging out,
# the language switch, and what needs no login anyway.
FORCED_CHANGE_OPEN = {"static", "auth.change_password", "auth.logout", "auth.language", "privacy.notice",
                      "verify.lookup", "verify.certificate"}


def _forced_password_change():
    """After an administrator set the password (a new user, a reset), the person reaches only the
    change-password page until they choose their own (migration 0014). The API's rule is in
    api/v1/http.py (403 password_change_required)."""
    if _is_api() or request.endpoint in FORCED_CHANGE_OPEN or request.endpoint is None:
        return None
    from flask_login import current_user
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    from flask import redirect, url_for
    return redirect(url_for("auth.change_password"), 303)  # the page itself says why


def end_page_session() -> None:
    auth_service.end_session(session.get(SESSION_TOKEN_KEY))


def _check_page_session():
    if _is_api() or request.endpoint == "static" or "_user_id" not in session:
        return
    state = auth_service.page_session(session.get(SESSION_TOKEN_KEY), idle=current_app.config["BAODAO_SESSION_IDLE"])
    if state.user_id is None or str(state.user_id) != str(session.get("_user_id")):
        session.clear()  # logged out elsewhere, idle, expired, deactivated, or a cookie from before
        if state.ended in ("idle", "expired", "revoked"):
            from flask import flash
            from flask_babel import gettext as _
            flash({"idle": _("You were logged out after %(minutes)s minutes without activity. Please log in again.",
                             minutes=int(current_app.config["BAODAO_SESSION_IDLE"].total_seconds() // 60)),
                   "expired": _("Your session has ended (sessions last at most %(hours)s hours). Please log in again.",
                                hours=int(current_app.config["BAODAO_SESSION_MAX"].total_seconds() // 3600)),
                   "revoked": _("Your session was ended. Please log in again.")}[state.ended], "info")


# -- text and numbers no field may hold ------------------------------------------------------------

def _describe(char: str) -> str:
    return f"Contains a character that is not allowed (U+{ord(char):04X})."


def _scan(value, path: str, found: dict, pattern=BAD_TEXT) -> None:
    if isinstance(value, str):
        m = pattern.search(value)
        if m:
            found.setdefault(path or "_body", []).append(_describe(m.group()))
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not INT32[0] <= value <= INT32[1]:
            found.setdefault(path or "_body", []).append("Number out of range.")
    elif isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and BAD_TEXT.search(key):
                found.setdefault(path or "_body", []).append(_describe(BAD_TEXT.search(key).group()))
                continue
            _scan(item, key_path, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _scan(item, f"{path}.{index}" if path else str(index), found)


def _bad_fields() -> dict:
    """{location: {field: [messages]}} for what no input may hold."""
    errors = {}
    query = {}
    for key, value in request.args.items(multi=True):
        _scan(key, "_key", query, BAD_FORM_TEXT)
        _scan(value, key, query, BAD_FORM_TEXT)
    if query:
        errors["query"] = query
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype == "application/json" or request.mimetype.endswith("+json"):
            body = json_value()  # the request's one parse, which the API's json_body() reads too
            if body is MALFORMED:
                body = None  # malformed: the API says 400 itself
            found = {}
            _scan(body, "", found)
            if found:
                errors["json"] = found
        elif not _is_api() and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            found = {}
            for key, value in request.form.items(multi=True):
                _scan(value, key, found, BAD_FORM_TEXT)
            if found:
                errors["form"] = found
    return errors


def _refuse_bad_text():
    if request.endpoint in (None, "static"):
        return None
    errors = _bad_fields()
    if not errors:
        return None
    if _is_api():
        from .v1.errors import ApiError
        raise ApiError(422, "the input holds characters or numbers no field accepts", error="invalid_input",
                       errors=errors)
    from flask_babel import gettext as _
    fields = ", ".join(sorted({name for located in errors.values() for name in located}))
    return make_response(render_template(
        "errors/error.html", status=400,
        message=_("The form holds a character that is not allowed (a control character or a text-direction "
                  "override) or a number that is too large: %(fields)s. Please correct it and try again.",
                  fields=fields)), 400)


def _api_routing_errors():
    """A path under /api/ that routing refused outright (a path outside /api/v1, a method no
    route has) gets the API's error shape, not the pages' handler's: found by the stateful
    schemathesis run. (Ids beyond 32 bits no longer get here: they do not match the bounded
    `int` converter, so the API's fallback route answers them; api/routing.py.)"""
    exc = request.routing_exception
    if exc is not None and _is_api() and isinstance(exc, HTTPException) and (exc.code or 0) >= 400:
        from .v1.errors import ApiError
        headers = {}
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        raise ApiError(exc.code, exc.name.lower(), headers=headers)


# -- headers ---------------------------------------------------------------------------------------

def _swagger_csp(response) -> str:
    """The Swagger UI page has one inline script (flask-smorest's template): allow exactly it."""
    body = response.get_data(as_text=True)
    hashes = [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
              for s in re.findall(r"<script>(.*?)</script>", body, flags=re.S)]
    return (f"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            f"script-src 'self' {' '.join(hashes)}; frame-ancestors 'none'")


def _headers(response):
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    if request.endpoint == SWAGGER_UI_ENDPOINT and response.status_code == 200:
        headers["Content-Security-Policy"] = _swagger_csp(response)
    elif response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", PAGE_CSP)
    else:
        headers.setdefault("Content-Security-Policy", OTHER_CSP)
    if request.endpoint in UPLOAD_ENDPOINTS and response.status_code == 200:
        ident = (request.view_args or {}).get("upload_id")
        ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(response.mimetype, "bin")
        headers.setdefault("Content-Disposition", f'inline; filename="upload-{ident}.{ext}"')
    return response


# -- wiring ----------------------------------------------------------------------------------------

def _secure_cookies_setting():
    value = _setting("BAODAO_SECURE_COOKIES", "auto")
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return "auto"


def _session_settings(app) -> None:
    """Idle and absolute limits of page sessions (whole minutes and hours; refused when not positive)."""
    from datetime import timedelta
    idle, most = app.config["BAODAO_SESSION_IDLE_MINUTES"], app.config["BAODAO_SESSION_MAX_HOURS"]
    if int(idle) <= 0 or int(most) <= 0:
        raise RuntimeError("BAODAO_SESSION_IDLE_MINUTES and BAODAO_SESSION_MAX_HOURS must be positive")
    from workflow.services import retention
    retention.check_days(int(app.config["BAODAO_LOG_RETENTION_DAYS"]))  # refuse to start with less than six months
    app.config["BAODAO_SESSION_IDLE"] = timedelta(minutes=int(idle))
    app.config["BAODAO_SESSION_MAX"] = timedelta(hours=int(most))
    # The cookie does not outlive the server-side session (the server decides either way).
    app.config["PERMANENT_SESSION_LIFETIME"] = app.config["BAODAO_SESSION_MAX"]


def init_app(app) -> None:
    """Call after the API and the pages are registered (their request-id and body-limit hooks first)."""
    _session_settings(app)
    app.config.setdefault("BAODAO_SECURE_COOKIES", _secure_cookies_setting())
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    # Flask's defaults hold the key with None, so setdefault would never set it (it did not before).
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config["BAODAO_SECURE_COOKIES"] is True)
    app.session_interface = SessionInterface()

    app.config.setdefault("RATELIMIT_STORAGE_URI", os.environ.get("REDIS_URL") or "memory://")
    app.config.setdefault("BAODAO_RATELIMIT_PREFIX", os.environ.get("BAODAO_RATELIMIT_PREFIX", "baodao"))
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    # Redis unreachable: count in this process's memory meanwhile rather than fail every login.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.register_error_handler(RateLimitExceeded, rate_limited_response)
    limiter.init_app(app)
    _only_the_decorated_limits(app)

    app.before_request(_api_routing_errors)
    app.before_request(_refuse_bad_text)
    app.before_request(_check_page_session)
    app.before_request(_forced_password_change)
    app.after_request(_headers)
