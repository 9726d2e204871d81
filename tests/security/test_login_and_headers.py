"""Login hardening: scrypt hashes, failed-login limits (Flask-Limiter on memory and on Redis),
a new session id at login, logout and token revocation at once, cookie flags, and the
security headers on every response."""
import re
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from api import security
from tests.api.api_helpers import ApiClient
from tests.conftest import PASSWORD, _make_app
from workflow.extensions import db
from workflow.models import User
from workflow.services import auth as auth_service

ROOT = Path(__file__).resolve().parents[2]


def test_passwords_are_hashed_with_scrypt(app, world, session):
    hashes = session.query(User.password_hash).all()
    assert hashes and all(h.startswith("scrypt:") for (h,) in hashes)
    user = User(username="fresh", name="fresh", role="member")
    user.set_password("another-pass")
    assert user.password_hash.startswith("scrypt:") and "another-pass" not in user.password_hash


# -- failed-login limits -------------------------------------------------------------------------

def _redis_url():
    """The machine's Redis on 127.0.0.1:6379, or one started here on a free loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            if s.recv(16).startswith(b"+PONG"):
                return "redis://127.0.0.1:6379/0", None
    except OSError:
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no Redis on 127.0.0.1:6379 and no redis-server to start")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return f"redis://127.0.0.1:{port}/0", proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("redis-server did not start")


@pytest.fixture(params=["memory", "redis"])
def limited_app(request, app):
    """The test app, its failed-login limits on the memory store or on Redis (a fresh key prefix)."""
    if request.param == "memory":
        yield app
        return
    url, proc = _redis_url()
    sqlite_or_pg = app.config["SQLALCHEMY_DATABASE_URI"]
    other = _make_app(sqlite_or_pg, Path(app.config["BAODAO_UPLOAD_DIR"]).parent,
                      RATELIMIT_STORAGE_URI=url, BAODAO_RATELIMIT_PREFIX=f"baodao-test-{uuid.uuid4().hex}")
    assert type(security.limiter._storage).__name__.lower().startswith("redis")
    with other.app_context():
        yield other
    if proc is not None:
        proc.terminate()
        proc.wait(10)
    security.limiter.init_app(app)  # back to the memory store for the rest of this test's app


@pytest.mark.parametrize("backend", ["sqlite"])
def test_failed_logins_are_limited_on_api_and_pages_together(limited_app, world, browse):
    client = limited_app.test_client()
    for attempt in range(auth_service.MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS - 1):
        r = client.post("/api/v1/auth/token", json={"username": "staff_a", "password": f"wrong{attempt}"})
        assert r.status_code == 401
    # The page login shares the account's count: the fifth failure is on the page.
    from tests.pages.conftest import Browser
    page = Browser(limited_app)
    page.get("/login")
    assert page.post("/login", {"username": "staff_a", "password": "wrong-again"}).status_code == 401
    # Now locked, even with the right password, on both.
    r = client.post("/api/v1/auth/token", json={"username": "staff_a", "password": PASSWORD})
    assert r.status_code == 429 and r.get_json()["error"] == "too_many_attempts"
    assert int(r.headers["Retry-After"]) >= 1 and r.get_json()["retry_after"] >= 1
    locked = page.post("/login", {"username": "staff_a", "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    assert "Too many failed logins" in locked.get_data(as_text=True) or "登录失败" in locked.get_data(as_text=True)
    # GET /login is never limited; another account is not locked; success clears an account's count.
    assert page.get("/login").status_code == 200
    for _ in range(2):
        client.post("/api/v1/auth/token", json={"username": "staff_b", "password": "wrong"})
    assert client.post("/api/v1/auth/token", json={"username": "staff_b", "password": PASSWORD}).status_code == 200
    for _ in range(auth_service.MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS - 1):
        assert client.post("/api/v1/auth/token", json={"username": "staff_b", "password": "x"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "staff_b", "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"])
def test_failed_logins_are_limited_per_address_across_accounts(limited_app, world, monkeypatch):
    monkeypatch.setattr(auth_service, "MAX_FAILURES_PER_ADDRESS", 4)
    client = limited_app.test_client()
    for name in ("ghost1", "ghost2", "ghost3", "ghost4"):
        assert client.post("/api/v1/auth/token", json={"username": name, "password": "x"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}).status_code == 429
    # Another address is not affected.
    other = client.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD},
                        environ_overrides={"REMOTE_ADDR": "127.0.0.9"})
    assert other.status_code == 200
    # Behind the proxy on loopback, clients are told apart by the X-Forwarded-For entry it appended.
    via_proxy = {"X-Forwarded-For": "203.0.113.7"}
    for name in ("ghost1", "ghost2", "ghost3", "ghost4"):
        client.post("/api/v1/auth/token", json={"username": name, "password": "x"}, headers=via_proxy)
    assert client.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD},
                       headers=via_proxy).status_code == 429
    assert client.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD},
                       headers={"X-Forwarded-For": "spoofed, 198.51.100.4"}).status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_unreachable_redis_does_not_break_logins(app, world):
    other = _make_app(app.config["SQLALCHEMY_DATABASE_URI"], Path(app.config["BAODAO_UPLOAD_DIR"]).parent,
                      RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    try:
        with other.app_context():
            r = other.test_client().post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD})
            assert r.status_code == 200, r.get_data(as_text=True)[:300]
    finally:
        security.limiter.init_app(app)


# -- sessions and tokens ---------------------------------------------------------------------------

def _session_cookie(response):
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("session="):
            return header
    return None


@pytest.mark.parametrize("backend", ["sqlite"])
def test_session_renewed_at_login_and_dead_at_logout_even_for_a_copied_cookie(app, world, browse):
    b = browse()
    b.get("/login")
    before = b.client.get_cookie("session")
    response = b.post("/login", {"username": "member_a1", "password": PASSWORD})
    assert response.status_code == 302
    after = b.client.get_cookie("session")
    assert before is None or before.value != after.value
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain http here
    assert b.get("/me/points").status_code == 200
    # Someone copied the cookie; the member logs out; the copy is dead at once.
    thief = app.test_client()
    thief.set_cookie("session", after.value)
    with app.app_context():
        assert thief.get("/me/points").status_code == 200
    b.get("/logout")
    assert b.post("/logout", {}).status_code == 302
    with app.app_context():
        assert thief.get("/me/points").status_code == 302  # to the login page
    # A second login gets another session token.
    first_sid = None
    for _ in range(2):
        c = browse("member_a1")
        with c.client.session_transaction() as s:
            assert s["_sid"] != first_sid
            first_sid = s["_sid"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_token_revocation_and_deactivation_work_at_once(app, world):
    api = ApiClient(app)
    token = auth_service.issue_token_for(world.member).token
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    assert api.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert api.get("/api/v1/me", headers=headers).status_code == 401
    # A page-session token is never a bearer token.
    sid = auth_service.start_session(world.member, ttl=app.config["BAODAO_SESSION_MAX"])
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {sid}"}).status_code == 401


@pytest.mark.parametrize("backend", ["sqlite"])
def test_secure_cookie_setting_and_auto_mode_behind_https(app, world):
    from tests.pages.conftest import Browser
    b = Browser(app)
    b.get("/login", base_url="https://baodao.example")
    r = b.post("/login", {"username": "staff_a", "password": PASSWORD}, base_url="https://baodao.example")
    assert "Secure" in _session_cookie(r)  # auto: the request came over HTTPS
    app.config["BAODAO_SECURE_COOKIES"] = True
    b2 = Browser(app)
    b2.get("/login")
    r = b2.post("/login", {"username": "staff_b", "password": PASSWORD})
    assert "Secure" in _session_cookie(r) and "HttpOnly" in _session_cookie(r)


# -- headers ---------------------------------------------------------------------------------------

def _assert_headers(response, where):
    h = response.headers
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("Referrer-Policy"), where
    csp = h.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, where
    assert "unsafe-inline" not in csp.split("script-src")[-1].split(";")[0], where


@pytest.mark.parametrize("backend", ["sqlite"])
def test_security_headers_on_every_kind_of_response(app, world, browse):
    b = browse("member_a1")
    api = ApiClient(app)
    responses = {
        "page": b.get("/"), "login page": app.test_client().get("/login"), "404 page": b.get("/nowhere"),
        "static": app.test_client().get("/static/css/baodao.css"), "healthz": app.test_client().get("/healthz"),
        "favicon": app.test_client().get("/favicon.ico"),
        "readyz": app.test_client().get("/readyz"), "api": api.get("/api/v1/me", world.member),
        "api 401": api.get("/api/v1/me"), "openapi": api.get("/api/v1/openapi.json"),
        "swagger": api.get("/api/v1/docs"),
    }
    for where, response in responses.items():
        _assert_headers(response, where)
    page_csp = responses["page"].headers["Content-Security-Policy"]
    assert "script-src 'self'" in page_csp and "default-src 'self'" in page_csp
    # Swagger UI's one inline script is allowed by its hash, nothing else inline.
    swagger = responses["swagger"]
    if swagger.status_code == 200:
        assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+'", swagger.headers["Content-Security-Policy"])


def test_templates_have_no_inline_scripts_handlers_or_styles():
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text()
        for m in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|javascript:", text):
            offenders.append(f"{path.relative_to(ROOT)}: {m.group()}")
    assert not offenders, offenders


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_old_db_counter_of_failures_is_gone(app, world, session):
    client = app.test_client()
    assert client.post("/api/v1/auth/token", json={"username": "staff_a", "password": "wrong"}).status_code == 401
    from sqlalchemy import inspect
    assert "login_failures" not in inspect(db.engine).get_table_names()  # dropped by migration 0004
