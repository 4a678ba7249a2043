"""Two server processes on one PostgreSQL database, joined by Redis (needs both, at
127.0.0.1:5432 and :6379): people connected to either see each other's notes and
votes, in sequence order, with no gap; and the coalesced views (running counts, the
plan's accountability, dragged notes) computed where people act reach the other."""

from __future__ import annotations

import secrets
import time

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


def last_transient(client: LiveClient, kind: str) -> dict | None:
    return next((t["data"] for t in reversed(client.transients) if t["type"] == kind), None)


def settles_at(client: LiveClient, kind: str, expected, what: str, quiet: float = 1.5) -> None:
    """``client`` gets the ``kind`` transient whose data ``expected(data)`` accepts, and
    the last one it has after ``quiet`` seconds more (past phones' 1 s pace) is still
    accepted: the coalesced view ends at the right value, not at an older one."""
    client.wait_for(lambda: (d := last_transient(client, kind)) and expected(d), what)
    time.sleep(quiet)
    final = last_transient(client, kind)
    assert expected(final), (what, final)


def test_coalesced_transients_cross_processes(pg_url, redis_url, tmp_path):  # noqa: F811
    """Views the server coalesces instead of numbering - a poll's running count, an
    agenda's dot count, the plan's accountability (RefreshQueue) and dragged notes
    (TransientBuffer) - are computed by the process where people act (A) and reach the
    screens on the other process (B), ending at the final value."""
    env = {
        "FACILITATOR_DATABASE_URL": pg_url,
        "FACILITATOR_MESSAGE_QUEUE": redis_url,
        "FACILITATOR_SECRET_KEY": secrets.token_hex(32),
        "FACILITATOR_PDF_PREWARM": "0",
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = ServerProcess(tmp_path / "a", env=env).start()
    b = ServerProcess(tmp_path / "b", env=env).start()
    clients: list[LiveClient] = []
    try:
        http, workshop_id, code = a.create_workshop("coalesce", "coalesce password 1")
        console_b = LiveClient(b.base, workshop_id, "console", http).connect()
        console_a = LiveClient(a.base, workshop_id, "console", http).connect()
        watcher = LiveClient(  # a phone on B that only watches
            b.base, workshop_id, "phone", join(b.base, code, "Dina", "NGO", "Civil society")
        ).connect()
        amina, chen = (
            LiveClient(a.base, workshop_id, "phone", join(a.base, code, *who)).connect()
            for who in (("Amina", "MoH", "Health"), ("Chen", "Nursing Council", "Health"))
        )
        clients = [console_b, console_a, watcher, amina, chen]
        stages = {s["type"]: s for s in console_b.snapshots[0]["stages"]}

        # A poll's running count (to the console every 100 ms, to phones at most every 1 s).
        assert console_b.call("stage:goto", {"stage_id": stages["vote"]["id"]})["ok"]
        poll = console_b.call(
            "poll:create", {"title": "Go?", "method": "consensus", "results": "live"}
        )["poll"]
        assert console_b.call("poll:open", {"poll_id": poll["id"]})["ok"]
        for phone, choice in ((amina, "agree"), (chen, "disagree"), (chen, "agree")):
            assert phone.call("poll:vote", {"poll_id": poll["id"], "choice": choice})["ok"]
        final_count = {"agree": 2, "abstain": 0, "disagree": 0, "block": 0}

        def counted(data):
            return (
                data["poll_id"] == poll["id"]
                and data["turnout"] == 2
                and data["tally"]["counts"] == final_count
            )

        for screen in (console_b, watcher):
            settles_at(screen, "poll:count", counted, "the final poll:count on B")

        # The agenda's count of who placed dots.
        assert console_b.call("stage:goto", {"stage_id": stages["agenda"]["id"]})["ok"]
        pay, housing = (
            console_b.call("agenda:propose", {"title": title})["item"]
            for title in ("Pay on time", "Housing")
        )
        for phone in (amina, chen):
            assert phone.call("agenda:dot", {"dots": {str(pay["id"]): 1}})["ok"]
        assert amina.call("agenda:dot", {"dots": {str(housing["id"]): 1}})["ok"]  # a change
        for screen in (console_b, watcher):
            settles_at(screen, "agenda:count", lambda d: d["voters"] == 2, "two voters on B")

        # The plan's accountability view (facilitator and projector screens only).
        assert console_b.call("stage:goto", {"stage_id": stages["action_plan"]["id"]})["ok"]
        for activity, lead in (("Fill rural posts", "MoH"), ("Review training", "")):
            fields = {"activity": activity, "lead": lead, "sector": "Health"}
            assert console_a.call("plan:add", {"fields": fields})["ok"]
        settles_at(
            console_b,
            "plan:accountability",
            lambda d: d["actions"] == 2 and d["gaps"]["no_lead"] == ["A2"],
            "the accountability of two actions on B",
            quiet=0.5,
        )

        # A dragged note: the latest position, every 50 ms.
        assert console_b.call("stage:goto", {"stage_id": stages["board"]["id"]})["ok"]
        note = amina.call("note:create", {"text": "Housing", "x": 100, "y": 100})["note"]
        for x in range(101, 107):
            drag = {"note_id": note["id"], "x": x, "y": 100}
            assert amina.call("note:drag", drag, with_id=False)["ok"]
            time.sleep(0.06)  # within the drag rate limit (20 a second)

        def dragged_to(data):
            return any(i["note_id"] == note["id"] and i["x"] == 106 for i in data["items"])

        for screen in (console_b, watcher):
            settles_at(screen, "note:dragging", dragged_to, "the last drag on B", quiet=0.3)
    finally:
        for client in clients:
            client.close()
        a.stop()
        b.stop()


def test_each_installation_has_its_own_message_channel() -> None:
    """Rooms are named by workshop id and every fresh database starts at 1: two
    installations on one Redis must not share a channel; processes of one must."""
    from facilitator.edges.sockets import message_channel

    one = {"DATABASE_URL": "postgresql://db/one"}
    assert message_channel(one) == message_channel(dict(one))
    assert message_channel(one) != message_channel({"DATABASE_URL": "postgresql://db/two"})
    assert message_channel({**one, "MESSAGE_CHANNEL": "room-a"}) == "room-a"
