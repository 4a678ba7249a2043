"""End to end against the real eventlet server: join, follow stages, survive SIGKILL."""

from __future__ import annotations

import pytest

from .postgres import pg_url  # noqa: F401 - fixture
from .server_process import ServerProcess
from .support import LiveClient, join

pytestmark = pytest.mark.server

PEOPLE = [
    ("Amina", "Ministry of Health", "Health"),
    ("Bilal", "Provincial Education Dept", "Education"),
    ("Chen", "WHO country office", "Development partners"),
    ("Dora", "Nurses Association", "Civil society"),
]


def consecutive(seqs: list[int]) -> bool:
    return seqs == list(range(seqs[0], seqs[0] + len(seqs)))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_env(request) -> dict[str, str]:
    """The embedded default (SQLite in the instance folder), then PostgreSQL."""
    if request.param == "sqlite":
        return {}
    return {"FACILITATOR_DATABASE_URL": request.getfixturevalue("pg_url")}


def test_clients_follow_stages_and_nothing_acknowledged_is_lost_after_sigkill(
    tmp_path, database_env
):
    server = ServerProcess(tmp_path, env=database_env).start()
    clients: list[LiveClient] = []
    try:
        http, workshop_id, code = server.create_workshop("e2e", "e2e password 1")
        phones_http = [join(server.base, code, *person) for person in PEOPLE]
        console = LiveClient(server.base, workshop_id, "console", http).connect()
        phones = [LiveClient(server.base, workshop_id, "phone", h).connect() for h in phones_http]
        clients = [console, *phones]
        assert console.snapshots[0]["presence"]["total"] == len(PEOPLE)
        assert {p["name"] for p in console.snapshots[0]["participants"]} == {p[0] for p in PEOPLE}

        # Participants correct their details in the welcome stage; every change is acked.
        acked = []
        for phone, (name, _, _) in zip(phones, PEOPLE, strict=True):
            ack = phone.call("participant:update", {"name": f"{name} (edited)"})
            assert ack["ok"], ack
            acked.append(ack["seq"])
        # The facilitator moves through three stages.
        stage_acks = []
        for _ in range(3):
            ack = console.call("stage:next", {})
            assert ack["ok"], ack
            stage_acks.append(ack)
        last_seq = stage_acks[-1]["seq"]
        for client in clients:
            client.wait_for(
                lambda c=client: c.events and c.events[-1]["seq"] == last_seq, f"seq {last_seq}"
            )
            seqs = [e["seq"] for e in client.events]
            assert consecutive(seqs), seqs
            assert seqs[0] == client.snapshots[0]["seq"] + 1
            assert [e["type"] for e in client.events][-3:] == ["stage:changed"] * 3

        server.kill()
        server.start()  # same port, same database

        # Every client reconnects by itself and receives a fresh snapshot.
        for client in clients:
            client.wait_for(
                lambda c=client: len(c.snapshots) >= 2, "a snapshot after restart", timeout=20
            )
        for client in clients:
            state = client.snapshots[-1]
            assert state["seq"] == last_seq
            assert state["current_stage_id"] == stage_acks[-1]["stage_id"]
        names = {p["name"] for p in console.snapshots[-1]["participants"]}
        assert names == {f"{p[0]} (edited)" for p in PEOPLE}
        for phone, (name, _, _) in zip(phones, PEOPLE, strict=True):
            assert phone.snapshots[-1]["me"]["name"] == f"{name} (edited)"

        # Numbering continues without a gap after the restart.
        ack = console.call("stage:prev", {})
        assert ack["ok"] and ack["seq"] == last_seq + 1
        for client in clients:
            event = client.wait_for(
                lambda c=client: next((e for e in c.events if e["seq"] == last_seq + 1), None),
                "the first event after restart",
            )
            assert event["type"] == "stage:changed"
            assert event["data"]["stage_id"] == ack["stage_id"]
    finally:
        for client in clients:
            client.close()
        server.stop()
