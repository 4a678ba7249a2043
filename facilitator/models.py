"""Every table of the project in one metadata, for Alembic and for tests.

Each layer defines its own tables; importing them all here keeps the metadata
complete without any layer importing a higher one.
"""

from facilitator.core import events  # noqa: F401 - the event log
from facilitator.core.db import Base, Database
from facilitator.documents import exports  # noqa: F401 - rendered PDFs
from facilitator.domain import (  # noqa: F401
    accounts,
    agenda,
    board,
    organisations,
    plan,
    polls,
    signoff,
    stakeholders,
    workshops,
)
from facilitator.live import receipts  # noqa: F401 - idempotency receipts

metadata = Base.metadata


def create_all(database: Database) -> None:
    """Create every table at once (tests; Alembic owns the schema otherwise)."""
    if database.engine is None:
        raise RuntimeError("database not configured")
    metadata.create_all(database.engine)
