"""A fresh PostgreSQL database per test, on the server at 127.0.0.1:5432.

Tests that need it are skipped, with the reason printed, when no server answers;
with FACILITATOR_REQUIRE_SERVICES=1 (as in CI) that is a failure instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from .conftest import require_services

HOST = os.environ.get("FACILITATOR_TEST_PG_HOST", "127.0.0.1")
PORT = int(os.environ.get("FACILITATOR_TEST_PG_PORT", "5432"))
USER = os.environ.get("FACILITATOR_TEST_PG_USER", "postgres")
ADMIN_DB = os.environ.get("FACILITATOR_TEST_PG_DB", "test")


def _admin():  # type: ignore[no-untyped-def]
    import pg8000.native

    return pg8000.native.Connection(USER, host=HOST, port=PORT, database=ADMIN_DB, timeout=5)


def unavailable() -> str | None:
    """Why PostgreSQL cannot be used here, or None."""
    try:
        _admin().close()
    except Exception as exc:  # any failure to connect means: not here
        return f"PostgreSQL at {HOST}:{PORT} (user {USER}, database {ADMIN_DB}): {exc}"
    return None


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of an empty database, dropped after the test."""
    reason = unavailable()
    if reason:
        if require_services():
            pytest.fail(f"{reason} (FACILITATOR_REQUIRE_SERVICES=1)", pytrace=False)
        pytest.skip(f"needs PostgreSQL: {reason}")
    name = f"facilitator_test_{secrets.token_hex(4)}"
    admin = _admin()
    admin.run(f"CREATE DATABASE {name}")
    admin.close()
    try:
        yield f"postgresql://{USER}@{HOST}:{PORT}/{name}"
    finally:
        admin = _admin()
        admin.run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name",
            name=name,
        )
        admin.run(f"DROP DATABASE IF EXISTS {name}")
        admin.close()
