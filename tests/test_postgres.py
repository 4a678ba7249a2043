"""PostgreSQL (needs the server at 127.0.0.1:5432): the migrations build the models'
schema, and under eventlet one client's slow query does not hold up the others."""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from facilitator.core.db import engine_url
from facilitator.core.migrate import current, upgrade
from facilitator.models import metadata

from .postgres import pg_url  # noqa: F401 - fixture
from .server_process import ServerProcess
from .support import LiveClient, join

pytestmark = pytest.mark.server


def test_migrations_build_exactly_the_models_schema_on_postgresql(pg_url):  # noqa: F811
    engine = create_engine(engine_url(pg_url))
    try:
        upgrade(engine)
        assert current(engine) is not None
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_processes_starting_together_upgrade_the_schema_in_turn(pg_url):  # noqa: F811
    """Three processes upgrade a fresh database at once: one builds the schema, the
    others wait for it and find it done (without the lock, one's CREATE TABLE collided
    with another's and that process failed to start)."""
    script = (
        "import sys; from sqlalchemy import create_engine;"
        " from facilitator.core.db import engine_url;"
        " from facilitator.core.migrate import upgrade;"
        " upgrade(create_engine(engine_url(sys.argv[1])))"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, pg_url], stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], errors
    engine = create_engine(engine_url(pg_url))
    try:
        assert current(engine) is not None
    finally:
        engine.dispose()


def test_a_slow_query_stalls_only_its_own_client(pg_url, tmp_path):  # noqa: F811
    """A transaction outside the server holds workshop A's row lock, so the facilitator
    of A waits on the database; meanwhile the clients of workshop B keep getting their
    answers and events at once. With a driver that blocked the process they would all
    wait for A."""
    import pg8000.native

    server = ServerProcess(tmp_path, env={"FACILITATOR_DATABASE_URL": pg_url}).start()
    clients: list[LiveClient] = []
    blocker = None
    try:
        http_a, workshop_a, _ = server.create_workshop("alpha", "alpha password 1")
        http_b, workshop_b, code_b = server.create_workshop("bravo", "bravo password 1")
        console_a = LiveClient(server.base, workshop_a, "console", http_a).connect()
        console_b = LiveClient(server.base, workshop_b, "console", http_b).connect()
        phone_b = LiveClient(
            server.base, workshop_b, "phone", join(server.base, code_b, "Bilal", "WHO", "Health")
        ).connect()
        clients = [console_a, console_b, phone_b]
        for name_ in ("stage:next", "stage:prev"):  # warm up B's path before measuring
            assert console_b.call(name_, {})["ok"]

        name = pg_url.rsplit("/", 1)[1]
        blocker = pg8000.native.Connection("postgres", host="127.0.0.1", database=name)
        blocker.run("BEGIN")
        blocker.run("SELECT id FROM workshops WHERE id = :id FOR UPDATE", id=workshop_a)

        slow: dict = {}
        waiting = threading.Thread(
            target=lambda: slow.update(console_a.call("stage:next", {}, timeout=30))
        )
        started = time.monotonic()
        waiting.start()
        time.sleep(0.3)  # A's action is now waiting on the row lock inside the server
        assert not slow, "workshop A's action should wait for the lock"

        # A holds one pooled connection while it waits: B's first action opens another
        # (a new PostgreSQL session costs tens of ms), then the pool serves it warm.
        assert console_b.call("stage:next", {})["ok"]
        latencies, delivered = [], []
        for step in range(6):
            sent = time.monotonic()
            ack = console_b.call("stage:prev" if step % 2 == 0 else "stage:next", {})
            latencies.append((time.monotonic() - sent) * 1000)
            assert ack["ok"], ack
            phone_b.wait_for(
                lambda seq=ack["seq"]: any(e["seq"] == seq for e in phone_b.events),
                f"event {ack['seq']} on B's phone",
                timeout=2,
            )
            delivered.append((time.monotonic() - sent) * 1000)
        assert not slow, "A must still be waiting while B is served"
        assert max(delivered) < 100, (latencies, delivered)

        blocker.run("COMMIT")
        waiting.join(10)
        assert slow.get("ok"), slow
        assert time.monotonic() - started > 0.3
        print(
            f"B while A waits: ack median {statistics.median(latencies):.1f} ms, "
            f"events delivered {[round(d) for d in delivered]} ms"
        )
    finally:
        if blocker is not None:
            blocker.close()
        for client in clients:
            client.close()
        server.stop()
