"""Two server processes on one PostgreSQL database, joined by Redis (needs both, at
127.0.0.1:5432 and :6379): people connected to either see each other's notes and
votes, in sequence order, with no gap."""

from __future__ import annotations

import secrets

import pytest

from .conftest import require_services
from .postgres import pg_url  # noqa: F401 - fixture
from .server_process import ServerProcess
from .support import LiveClient, join

pytestmark = pytest.mark.server

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_timeout=3).ping()
    except Exception as exc:  # any failure to answer means: not here
        reason = f"Redis at {REDIS}: {exc}"
        if require_services():
            pytest.fail(f"{reason} (FACILITATOR_REQUIRE_SERVICES=1)", pytrace=False)
        pytest.skip(f"needs Redis: {reason}")
    return REDIS


def consecutive(seqs: list[int]) -> bool:
    return seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_two_processes_share_one_workshop_in_order(pg_url, redis_url, tmp_path):  # noqa: F811
    env = {
        "FACILITATOR_DATABASE_URL": pg_url,
        "FACILITATOR_MESSAGE_QUEUE": redis_url,
        # Both processes sign cookies with the same key, as behind one proxy.
        "FACILITATOR_SECRET_KEY": secrets.token_hex(32),
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = ServerProcess(tmp_path / "a", env=env).start()
    b = ServerProcess(tmp_path / "b", env=env).start()
    clients: list[LiveClient] = []
    try:
        http, workshop_id, code = a.create_workshop("scale", "scale password 1")
        console = LiveClient(b.base, workshop_id, "console", http).connect()  # on B
        phone_a = LiveClient(
            a.base, workshop_id, "phone", join(a.base, code, "Amina", "MoH", "Health")
        ).connect()
        phone_b = LiveClient(
            b.base, workshop_id, "phone", join(b.base, code, "Bilal", "WHO", "Health")
        ).connect()
        clients = [console, phone_a, phone_b]
        board = next(s for s in console.snapshots[0]["stages"] if s["type"] == "board")
        assert console.call("stage:goto", {"stage_id": board["id"]})["ok"]

        texts = []
        for i in range(6):
            phone = (phone_a, phone_b)[i % 2]
            text = f"note {i} from {'A' if phone is phone_a else 'B'}"
            assert phone.call("note:create", {"text": text, "x": 10 * i, "y": 10})["ok"]
            texts.append(text)
        vote = next(s for s in console.snapshots[0]["stages"] if s["type"] == "vote")
        assert console.call("stage:goto", {"stage_id": vote["id"]})["ok"]
        poll = console.call("poll:create", {"title": "Go?", "method": "consensus"})["poll"]
        opened = console.call("poll:open", {"poll_id": poll["id"]})
        assert opened["ok"]
        assert phone_a.call("poll:vote", {"poll_id": poll["id"], "choice": "agree"})["ok"]
        assert phone_b.call("poll:vote", {"poll_id": poll["id"], "choice": "abstain"})["ok"]
        closed = console.call("poll:close", {"poll_id": poll["id"]})
        last = closed["seq"]
        for client in clients:
            client.wait_for(lambda c=client: any(e["seq"] == last for e in c.events), f"seq {last}")
            seqs = [e["seq"] for e in client.events]
            assert consecutive(seqs), seqs
            assert seqs[0] == client.snapshots[0]["seq"] + 1
            notes = [
                e["data"]["note"]["text"] for e in client.events if e["type"] == "note:created"
            ]
            assert notes == texts
            final = next(e for e in client.events if e["type"] == "poll:closed")
            assert final["data"]["round"]["outcome"]["tally"]["counts"] == {
                "agree": 1,
                "abstain": 1,
                "disagree": 0,
                "block": 0,
            }
    finally:
        for client in clients:
            client.close()
        a.stop()
        b.stop()
