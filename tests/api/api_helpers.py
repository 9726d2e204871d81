"""Helpers for the JSON API tests (imported by name: tests/ is not a package)."""
import io
import json as jsonlib

from PIL import Image

from workflow.services import auth as auth_service

PASSWORD = "secret-pass-1"  # the world's users' password (tests/conftest.py)


class ApiClient:
    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self._tokens: dict[int, str] = {}

    def token(self, user) -> str:
        if user.id not in self._tokens:
            self._tokens[user.id] = auth_service.issue_token_for(user).token
        return self._tokens[user.id]

    def request(self, method, path, user=None, *, json=None, data=None, headers=None, content_type=None,
                raw=None):
        headers = dict(headers or {})
        if user is not None:
            headers.setdefault("Authorization", f"Bearer {self.token(user)}")
        kwargs = {}
        if json is not None:
            kwargs["data"] = jsonlib.dumps(json)
            kwargs["content_type"] = "application/json"
        if raw is not None:
            kwargs["data"] = raw
        if data is not None:
            kwargs["data"] = data
        if content_type is not None:
            kwargs["content_type"] = content_type
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, user=None, **kw):
        return self.request("GET", path, user, **kw)

    def post(self, path, user=None, **kw):
        return self.request("POST", path, user, **kw)

    def patch(self, path, user=None, **kw):
        return self.request("PATCH", path, user, **kw)

    def delete(self, path, user=None, **kw):
        return self.request("DELETE", path, user, **kw)

    def upload(self, user, content: bytes, *, filename="photo.jpg", headers=None):
        return self.client.post("/api/v1/uploads", headers={"Authorization": f"Bearer {self.token(user)}",
                                                            **(headers or {})},
                                data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def make_jpeg(size=(32, 24), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def assert_error(response, status: int, error: str | None = None):
    """The one error shape: code, status, message, errors, error, request_id."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    body = response.get_json()
    assert body is not None, response.get_data(as_text=True)[:200]
    assert body["code"] == status
    assert isinstance(body["status"], str) and isinstance(body["message"], str)
    assert isinstance(body["errors"], dict)
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.get_data(as_text=True)
    if error is not None:
        assert body["error"] == error, body
    return body
