"""In-process checks, both backends: the 503 mapping in one place, and the fault hook off by default."""
import pytest
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from tests.faults import pause_hook
from workflow import faults
from workflow.extensions import db
from workflow.services import tx


class _DriverError(Exception):
    pass


def _outage(*args, **kwargs):
    raise sa_exc.OperationalError("SELECT 1", {}, _DriverError("connection refused"))


def _disconnect(*args, **kwargs):
    raise sa_exc.DBAPIError("SELECT 1", {}, _DriverError("server closed the connection"), connection_invalidated=True)


def _bug(*args, **kwargs):
    raise sa_exc.IntegrityError("INSERT", {}, _DriverError("duplicate key"))


@pytest.mark.parametrize("failure", [_outage, _disconnect])
def test_api_answers_503_with_retry_after_in_the_one_error_shape(app, world, monkeypatch, failure):
    from workflow.services import auth as auth_service

    token = auth_service.issue_token_for(world.member).token
    monkeypatch.setattr(auth_service, "resolve", failure)
    response = app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}",
                                                               "X-Request-ID": "outage-1"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = response.get_json()
    assert body["error"] == "database_unavailable" and body["code"] == 503 and body["request_id"] == "outage-1"
    assert body["retry_after"] == 5
    assert "Traceback" not in response.get_data(as_text=True) and "refused" not in response.get_data(as_text=True)


@pytest.fixture
def every_query_fails(app):
    """From now on every statement on the app's engine fails as if the server were gone."""
    def fail(*args, **kwargs):
        _outage()

    event.listen(db.engine, "before_cursor_execute", fail)
    yield
    event.remove(db.engine, "before_cursor_execute", fail)


def test_pages_answer_a_friendly_503_page(app, world, every_query_fails):
    client = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/login?lang=en", data={"username": "member_a1", "password": "whatever-123"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    html = response.get_data(as_text=True)
    assert "temporarily unavailable" in html and "Traceback" not in html
    with app.app_context():  # a request of its own (the locale is cached per app context)
        zh = client.post("/login?lang=zh_CN", data={"username": "member_a1", "password": "whatever-123"})
    assert zh.status_code == 503 and "服务暂时不可用" in zh.get_data(as_text=True)


def test_other_database_errors_stay_500(app, world, monkeypatch):
    from workflow.services import auth as auth_service

    token = auth_service.issue_token_for(world.member).token
    monkeypatch.setattr(auth_service, "resolve", _bug)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500 and response.get_json()["error"] == "internal_error"
    assert not faults.database_unavailable(sa_exc.IntegrityError("x", {}, _DriverError("dup")))
    assert faults.database_unavailable(sa_exc.TimeoutError("pool"))


def test_the_service_code_has_no_fault_hook():
    """The pause lives in the tests (pause_hook.py), installed only by the crash tests' app module."""
    import inspect

    source = inspect.getsource(tx) + inspect.getsource(faults)
    assert "sleep" not in source and "BAODAO_FAULT_HOOK" not in source and "before_commit" not in source


@pytest.mark.parametrize("spec, expected", [(None, None), ("", None), ("2", 2.0), ("0.25", 0.25)])
def test_pause_specs(spec, expected):
    assert pause_hook.parse_seconds(spec) == expected


@pytest.mark.parametrize("spec", ["x", "0", "600", "-1"])
def test_a_bad_pause_spec_stops_the_process(spec):
    with pytest.raises(RuntimeError, match="BAODAO_TEST_PAUSE"):
        pause_hook.parse_seconds(spec)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgres_connections_get_connect_and_statement_timeouts(app):
    from sqlalchemy import text

    db.engine.dispose()  # new connections, opened with the timeouts
    with db.engine.connect() as conn:
        assert conn.scalar(text("SHOW statement_timeout")) == "30s"
        assert conn.connection.driver_connection.info.get_parameters().get("connect_timeout") == "5"
