"""Alembic environment: the engine comes from the application (see migrate.py)."""

from alembic import context
from sqlalchemy import text

from facilitator.models import metadata

#: Several server processes started together (``facilitator@5001``, ``@5002``) each
#: upgrade the schema on start: on PostgreSQL they take turns, and the later ones find
#: it done. Any fixed number, the same in every process.
UPGRADE_LOCK = 0x46_61_63_69  # "Faci"

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # Released with the transaction that holds the whole upgrade (DDL is transactional).
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
