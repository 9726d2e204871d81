from api.config import normalise_database_url


def test_healthz_answers(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_every_postgres_url_uses_psycopg3():
    assert normalise_database_url("postgresql://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    assert normalise_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("postgresql+psycopg2://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_dead_connection_when_the_session_closes_is_not_an_error(app, monkeypatch):
    """A ROLLBACK on a connection the database just terminated must not fail the request's end."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    from api import _end_session
    from workflow.extensions import db

    db.session.execute(text("SELECT 1"))  # a read transaction is open, as after a response was rendered
    failures = []
    original_close = Session.close

    def terminated(self):
        if not failures:
            failures.append(self)
            raise OperationalError("ROLLBACK", {}, Exception("terminating connection due to administrator command"))
        return original_close(self)

    monkeypatch.setattr(Session, "close", terminated)
    _end_session(None)  # must not raise
    assert failures
    assert db.session.execute(text("SELECT 1")).scalar() == 1  # a fresh session and connection work
