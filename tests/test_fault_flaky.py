"""Flaky networks: a short workshop (details, a board, the stakeholder map, agenda dots, a
vote, the action plan) run by a console, a projector and ten phones whose sockets are all
cut at random intervals throughout, against the real eventlet server on SQLite.

The issue asks for a cut every 5-15 s per client; this runs ten times faster, every
0.5-1.5 s, so a workshop of about half a minute sees some 20-40 cuts per client. Every
client keeps its state as the screens do (snapshot, events, resync; its own acks) and
retries each action with the same id until answered. At the end each client's state
equals a fresh snapshot of the server for its role, and nothing was applied twice.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from .faults import Flakiness, Screen, Store, comparable, differences, join_many
from .server_process import ServerProcess

pytestmark = pytest.mark.server

PHONES = 10


def ok(ack: dict[str, Any]) -> dict[str, Any]:
    assert ack["ok"], ack
    return ack


def everyone(phones: list[Screen], act: Any) -> list[Any]:
    """``act(index, phone)`` for every phone at once; their results in order."""
    with ThreadPoolExecutor(max_workers=len(phones)) as pool:
        return list(pool.map(act, range(len(phones)), phones))


def welcome(i: int, phone: Screen) -> None:
    ok(phone.send("participant:update", {"name": f"P{i} (edited)"}))


def board(i: int, phone: Screen) -> int:
    """Three notes, two edits, three moves; the id of the note left as written."""
    made = [
        ok(phone.send("note:create", {"text": f"note {i}.{k}", "x": 40 * i, "y": 100 * y}))["note"]
        for y, k in enumerate("abc")
    ]
    for note in made[:2]:
        edit = {"note_id": note["id"], "version": note["version"], "text": f"{note['text']} edited"}
        ok(phone.send("note:edit", edit))
    for note, y in ((made[0], 500), (made[2], 600), (made[0], 650)):
        ok(phone.send("note:move", {"note_id": note["id"], "x": 40 * i + 5, "y": y}))
    return made[2]["id"]


def stakeholder(i: int, phone: Screen) -> int:
    return ok(phone.send("stakeholder:add", {"name": f"Stakeholder {i}"}))["stakeholder"]["id"]


def test_every_client_ends_with_the_servers_state_through_cut_connections(tmp_path: Any) -> None:
    seed = int(os.environ.get("FAULT_SEED") or time.time_ns() % 2**31)
    server = ServerProcess(tmp_path).start()
    store = Store(server.database_url)
    clients: list[Screen] = []
    started = time.monotonic()
    try:
        http, workshop_id, code = server.create_workshop("flaky", "flaky password 1")
        console = Screen(server.base, workshop_id, "console", http).connect()
        projector = Screen(server.base, workshop_id, "projector", http).connect()
        phones = [
            Screen(server.base, workshop_id, "phone", h).connect()
            for h in join_many(server.base, code, PHONES)
        ]
        clients = [console, projector, *phones]
        for phone in phones:
            phone.think = (0.05, 0.4)
        stages = {s["key"]: s for s in console.snapshots[0]["stages"]}

        def goto(key: str) -> None:
            ok(console.send("stage:goto", {"stage_id": stages[key]["id"]}))

        with Flakiness(clients, 0.5, 1.5, seed):
            everyone(phones, welcome)

            goto("context")
            group = ok(console.send("group:create", {"title": "Staffing", "x": 600, "y": 50}))
            seconds = everyone(phones, board)
            for note_id in seconds[:3]:
                ok(
                    console.send(
                        "note:move",
                        {"note_id": note_id, "x": 620, "y": 80, "group_id": group["group"]["id"]},
                    )
                )
            ok(console.send("note:delete", {"note_id": seconds[3]}))

            goto("stakeholders")
            proposed = everyone(phones, stakeholder)
            for stakeholder_id in proposed:
                ok(console.send("stakeholder:accept", {"stakeholder_id": stakeholder_id}))
            ok(console.send("map:mode", {"participatory": True}))
            everyone(
                phones,
                lambda i, p: [
                    ok(
                        p.send(
                            "placement:set",
                            {"stakeholder_id": s, "power": (i + j) % 11, "interest": i % 11},
                        )
                    )
                    for j, s in enumerate(proposed[:3])
                ],
            )

            goto("priorities")
            items = everyone(
                phones,
                lambda i, p: ok(p.send("agenda:propose", {"title": f"Topic {i}"}))["item"]["id"],
            )
            everyone(
                phones,
                lambda i, p: ok(
                    p.send("agenda:dot", {"dots": {str(items[i]): 1, str(items[(i + 1) % 3]): 1}})
                ),
            )
            ok(console.send("agenda:reveal", {}))
            ok(console.send("agenda:order_by_dots", {}))

            goto("confirm")
            poll = next(
                e["poll"]
                for e in console.view()["polls"]
                if e["poll"]["stage_id"] == stages["confirm"]["id"]
            )
            ok(console.send("poll:open", {"poll_id": poll["id"]}))
            for choice in (lambda i: 1 + i % 7, lambda i: 1 + (i + 3) % 7, lambda i: 1 + i % 3):
                everyone(
                    phones,
                    lambda i, p, c=choice: ok(
                        p.send("poll:vote", {"poll_id": poll["id"], "choice": c(i)})
                    ),
                )
            closed = ok(console.send("poll:close", {"poll_id": poll["id"]}))
            assert closed["round"]["outcome"]["turnout"] == PHONES

            goto("work-plans")
            rows = [
                ok(
                    console.send(
                        "plan:add",
                        {"fields": {"activity": f"Activity {k}", "lead": "Organisation 1"}},
                    )
                )["action"]["id"]
                for k in range(2)
            ]
            proposals = everyone(
                phones,
                lambda i, p: ok(p.send("plan:add", {"fields": {"activity": f"Proposal {i}"}}))[
                    "action"
                ]["id"],
            )
            everyone(
                phones,
                lambda i, p: ok(p.send("plan:offer", {"action": rows[i % 2], "role": "partner"})),
            )
            ok(console.send("plan:accept", {"action": proposals[0]}))
            workshop_s = time.monotonic() - started

        seq = store.scalar("SELECT seq FROM workshops WHERE id = :w", w=workshop_id)
        for client in clients:
            client.wait_for(lambda c=client: c.settled(seq), f"{client.auth} at seq {seq}", 30)
        assert [c.mismatches for c in clients] == [[]] * len(clients), seed
        for client in clients:
            fresh = client.call("sync:request", {}, with_id=False)["snapshot"]
            assert fresh["seq"] == seq
            found = differences(client.view(), comparable(fresh))
            assert not found, (client.auth, found, seed)

        # Nothing twice, whatever was resent.
        def count(sql: str) -> Counter[str]:
            return Counter(r[0] for r in store.rows(sql, w=workshop_id))

        notes = count("SELECT text FROM notes WHERE workshop_id = :w")
        assert notes == Counter(
            [f"note {i}.{k} edited" for i in range(PHONES) for k in "ab"]
            + [f"note {i}.c" for i in range(PHONES) if i != 3]
        )
        proposals_made = "SELECT name FROM stakeholders WHERE workshop_id = :w AND name LIKE 'S%'"
        assert count(proposals_made) == Counter(f"Stakeholder {i}" for i in range(PHONES))
        assert count("SELECT title FROM agenda_items WHERE workshop_id = :w") == Counter(
            f"Topic {i}" for i in range(PHONES)
        )
        assert sum(count("SELECT id FROM plan_actions WHERE workshop_id = :w").values()) == 12
        assert store.problems() == []

        drops = sum(c.drops for c in clients)
        print(
            f"\nflaky seed={seed} clients={len(clients)} cuts={drops}"
            f" (per client {min(c.drops for c in clients)}-{max(c.drops for c in clients)})"
            f" snapshots={sum(len(c.snapshots) for c in clients)}"
            f" (checked against the state built before: {sum(c.checks for c in clients)})"
            f" resyncs={sum(c.resyncs for c in clients)}"
            f" actions acked={sum(c.acked for c in clients)}"
            f" resent={sum(c.retries for c in clients)} events={seq}; workshop {workshop_s:.1f}s,"
            f" total {time.monotonic() - started:.1f}s; every state equal to the server's"
        )
        assert min(c.drops for c in clients) >= 5, "too few cuts to mean anything"
    finally:
        for client in clients:
            client.close()
        store.close()
        server.stop()
