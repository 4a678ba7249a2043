"""A small vote storm against the real eventlet server, on SQLite and PostgreSQL:
phones vote at once (so the server writes their ballots in shared batches), some
twice with the same action id, some refused; every ack is right and the tally exact."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from .postgres import pg_url  # noqa: F401 - fixture
from .server_process import ServerProcess
from .support import LiveClient, action_id, join

pytestmark = pytest.mark.server

CHOICES = ["agree", "disagree", "abstain"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_env(request: Any) -> dict[str, str]:
    if request.param == "sqlite":
        return {}
    return {"FACILITATOR_DATABASE_URL": request.getfixturevalue("pg_url")}


def calls_at_once(sends: list[tuple[LiveClient, dict[str, Any]]]) -> list[dict[str, Any]]:
    acks: list[Any] = [None] * len(sends)
    start = threading.Barrier(len(sends))

    def send(index: int) -> None:
        phone, payload = sends[index]
        start.wait()
        acks[index] = phone.sio.call("poll:vote", payload, timeout=30)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(sends))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    return acks


def test_a_storm_of_votes_is_counted_exactly_with_repeats_and_refusals(
    tmp_path: Any, database_env: dict[str, str]
) -> None:
    server = ServerProcess(tmp_path, env=database_env).start()
    clients: list[LiveClient] = []
    try:
        http, workshop_id, code = server.create_workshop("storm", "storm password 1")
        console = LiveClient(server.base, workshop_id, "console", http).connect()
        clients.append(console)
        phones = [
            LiveClient(
                server.base, workshop_id, "phone", join(server.base, code, f"P{i}", "Org", "Health")
            ).connect()
            for i in range(24)
        ]
        clients += phones
        stage = next(s for s in console.snapshots[0]["stages"] if s["type"] == "vote")
        assert console.call("stage:goto", {"stage_id": stage["id"]})["ok"]
        poll = console.call("poll:create", {"title": "T", "method": "consensus", "results": "live"})
        poll_id = poll["poll"]["id"]
        assert console.call("poll:open", {"poll_id": poll_id})["ok"]

        payloads = [
            {"action_id": action_id(), "poll_id": poll_id, "choice": CHOICES[i % 3]}
            for i in range(len(phones))
        ]
        sends = list(zip(phones, payloads, strict=True))
        sends += [(phones[i], payloads[i]) for i in range(4)]  # double taps
        refused = [
            (phones[4], {"action_id": action_id(), "poll_id": poll_id, "choice": "block"}),
            (phones[5], {"action_id": action_id(), "poll_id": poll_id, "choice": "maybe"}),
            (phones[6], {"action_id": payloads[6]["action_id"], "poll_id": poll_id, "choice": 1}),
        ]
        sends += refused
        acks = calls_at_once(sends)

        for index, ack in enumerate(acks[: len(phones)]):
            assert ack["ok"] and ack["choice"] == payloads[index]["choice"], ack
            assert ack["changed"] is False
        assert acks[len(phones) : len(phones) + 4] == acks[:4]
        codes = [a["error"]["code"] for a in acks[-3:]]
        # The last one reused an action id for another choice: a conflict, or (if it
        # landed first) invalid because 1 is no choice of consensus.
        assert codes[:2] == ["invalid", "invalid"] and codes[2] in ("conflict", "invalid")

        # A phone that lost its ack reconnects and resends: the same answer, counted once.
        phones[7].sio.disconnect()
        again = LiveClient(server.base, workshop_id, "phone")
        again.headers = phones[7].headers
        again.connect()
        clients.append(again)
        assert again.snapshots[-1]["polls"][-1]["my_ballot"]["choice"] == payloads[7]["choice"]
        assert again.call("poll:vote", payloads[7]) == acks[7]

        expected = Counter(p["choice"] for p in payloads)
        want = {c: expected.get(c, 0) for c in [*CHOICES, "block"]}
        console.wait_for(
            lambda: any(
                t["type"] == "poll:count" and t["data"].get("tally", {}).get("counts") == want
                for t in console.transients
            ),
            "the exact running count at the console",
        )
        outcome = console.call("poll:close", {"poll_id": poll_id})["round"]["outcome"]
        assert outcome["turnout"] == len(phones) and outcome["tally"]["counts"] == want
    finally:
        for client in clients:
            client.close()
        server.stop()
