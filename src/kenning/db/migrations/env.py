"""Alembic's environment for Kenning: always run through kenning.db.migrate, which hands
over an open connection (one SQLAlchemy URL for SQLite and PostgreSQL alike)."""

from alembic import context

from kenning.db.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite",
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
