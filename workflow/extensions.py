"""The database handle shared by the models and services, e-mail, and the app's own runtime.

Flask-SQLAlchemy gives us the scoped session bound to the application context; the
models declare themselves against `db.Model`. The SQLite-specific connection setup
(WAL, busy timeout, immediate write transactions) lives in `workflow.db_setup`.
"""
from flask import current_app
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations can refer to them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
# E-mail (services/channels.py), configured from BAODAO_SMTP_URL by create_app.
mail = Mail()


def app_extension(name: str):
    """What the app whose context is active keeps under `name` in its extensions (its runtime:
    workflow/runtime.py). The one place the domain reaches the app, as the session does."""
    return current_app.extensions[name]
