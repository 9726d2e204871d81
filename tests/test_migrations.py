"""The migrations build exactly the schema the models declare, on both databases."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from workflow.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
