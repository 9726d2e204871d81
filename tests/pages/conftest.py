"""Helpers for the page tests: a logged-in test client that sends the form's CSRF token."""
import io
import re

import pytest
from PIL import Image

from tests.conftest import PASSWORD

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = TOKEN.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


class Browser:
    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.token = None

    # Each request in its own app context (as in a server): the test's outer context would
    # otherwise share `g` — the logged-in user and the CSRF token — between clients.
    def get(self, url, **kw):
        with self.app.app_context():
            response = self.client.get(url, **kw)
        if response.mimetype == "text/html" and b"csrf_token" in response.data:
            self.token = csrf_from(response.get_data(as_text=True))
        return response

    def post(self, url, data=None, *, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/login")
            data.setdefault("csrf_token", self.token)
        with self.app.app_context():
            return self.client.post(url, data=data, **kw)

    def login(self, username, password=PASSWORD):
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        self.get("/", follow_redirects=True)  # a fresh token for the new session
        return response


@pytest.fixture
def browse(app):
    def make(username=None):
        b = Browser(app)
        if username:
            b.login(username)
        return b
    return make


def photo_bytes(color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()
