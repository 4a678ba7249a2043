"""Database engine, declarative base and the unit of work.

Domain operations receive a ``Session`` and flush; they never commit. The edge
(:mod:`facilitator.actions.writing`) owns the transaction: commit once, roll back on
error, publish only after commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

#: How long a SQLite write waits for a lock held by another program, by default.
BUSY_SECONDS = 10.0
#: Execution option of the connection of a unit of work (:meth:`Database.transaction`).
WRITES = "facilitator_writes"
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _sqlite_pragmas(busy_ms: int, dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, say when transactions begin (below), so reads
    # see one snapshot and SAVEPOINTs work: the recipe in SQLAlchemy's SQLite notes.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms:d}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A unit of work takes the write lock when it begins (waiting up to the busy
    # timeout): begun as a reader, it would fail at once, without waiting, if another
    # writer committed between its first read and its first write (SQLITE_BUSY_SNAPSHOT).
    writes = connection.get_execution_options().get(WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def engine_url(url: str) -> str:
    """The URL with the PostgreSQL driver the server uses when none is named.

    pg8000 is pure Python: it talks to PostgreSQL through the standard socket
    module, which eventlet makes cooperative, so one client's slow query never
    stalls the other clients of the process (C drivers block the whole process
    under eventlet). Under ``threading`` it works the same. A URL naming its own
    driver (``postgresql+psycopg://``) is used as given.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+pg8000://" + url[len(prefix) :]
    return url


class Database:
    """Holds the engine and session factory; bound to an app in :meth:`init_app`."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    def configure(self, url: str, busy_seconds: float = BUSY_SECONDS) -> None:
        """``busy_seconds``: how long a SQLite write waits for another program's lock
        before it is refused as "database is busy"."""
        url = engine_url(url)
        options: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            options["connect_args"] = {"check_same_thread": False, "timeout": busy_seconds}
        else:
            options.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine = create_engine(url, **options)
        if url.startswith("sqlite"):
            event.listen(
                self.engine, "connect", partial(_sqlite_pragmas, round(busy_seconds * 1000))
            )
            event.listen(self.engine, "begin", _sqlite_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def init_app(self, app: Any) -> None:
        self.configure(
            app.config["DATABASE_URL"], app.config.get("SQLITE_BUSY_SECONDS", BUSY_SECONDS)
        )
        app.extensions["facilitator.db"] = self

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One short unit of work: commit on success, roll back on any error."""
        if self._sessions is None:
            raise RuntimeError("database not configured")
        with self._sessions() as session, session.begin():
            session.connection(execution_options={WRITES: True})
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads; nothing it does is committed.

        Closing it (rather than rolling back) keeps loaded objects readable
        after the block, detached, for templates and answers.
        """
        if self._sessions is None:
            raise RuntimeError("database not configured")
        with self._sessions() as session:
            yield session

    def dispose(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


db = Database()
