"""Duplicates and reordering, for every write action, against the real eventlet server on
SQLite: each action of a whole workshop is sent twice at once with the same action id,
then once more; after every socket has been cut and has reconnected (the workshop closed
meanwhile), every action is sent again. Each repeat is answered with the stored receipt
and changes nothing (the database is compared whole), each action numbers at most its
own events, and the events that reached the screens live, in whatever order, are the log.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from facilitator.actions.spec import REGISTRY

from .faults import Room, Screen, Store, comparable, differences
from .server_process import ServerProcess
from .support import ACTION_RE, csrf_from

pytestmark = pytest.mark.server


def twice_at_once(client: Screen, name: str, payload: dict[str, Any]) -> list[Any]:
    """The same action sent twice at the same moment (a double tap, a retry racing the
    answer), from two threads over one socket."""
    acks: list[Any] = [None, None]
    start = threading.Barrier(2)

    def send(index: int) -> None:
        start.wait()
        acks[index] = client.sio.call(name, payload, timeout=15)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return acks


def join_twice(base: str, code: str) -> requests.Session:
    """participant:join over HTTP, the form posted twice with its action id: one person."""
    http = requests.Session()
    page = http.get(f"{base}/j/{code}", timeout=10)
    match = ACTION_RE.search(page.text)
    assert match
    form = {
        "csrf_token": csrf_from(page.text),
        "action_id": match.group(1),
        "name": "Dora",
        "organisation": "Nurses Association",
        "sector": "Civil society",
    }
    for _ in range(2):
        assert http.post(f"{base}/j/{code}", data=form, timeout=10).status_code == 200
    return http


def test_every_write_action_repeated_with_its_id_is_answered_from_its_receipt(
    app: Any,  # the registry of actions, complete
    tmp_path: Any,
) -> None:
    server = ServerProcess(tmp_path).start()
    store = Store(server.database_url)
    clients: dict[str, Screen] = {}
    started = time.monotonic()
    try:
        room = Room(server, "dup")
        clients = room.clients
        workshop_id = room.workshop_id

        def seq() -> int:
            return store.scalar("SELECT seq FROM workshops WHERE id = :w", w=workshop_id)

        def twice_then_again(client: Screen, name: str, payload: dict[str, Any]) -> Any:
            before = seq()
            acks = twice_at_once(client, name, payload)
            assert acks[0]["ok"] and acks[1] == acks[0], (name, acks)
            # One action's events, numbered once; the ack names the last.
            assert seq() == acks[0].get("seq", before), (name, acks[0], before)
            saved = store.fingerprint()
            assert client.sio.call(name, payload, timeout=15) == acks[0], name
            assert store.fingerprint() == saved, name
            return acks[0]

        dora: list[requests.Session] = []
        room.play(twice_then_again, joined=lambda: dora.append(join_twice(server.base, room.code)))
        done = room.done

        sent = {name for _, name, _, _ in done}
        writes = {name for name, spec in REGISTRY.items() if spec.writes}
        assert writes - sent == {"participant:join"}  # over HTTP, by join_twice
        dora_count = store.scalar(
            "SELECT COUNT(*) FROM participants WHERE workshop_id = :w AND name = 'Dora'",
            w=workshop_id,
        )
        assert dora_count == 1

        # The events that reached the console live (handled out of order or not) are the log.
        console = clients["console"]
        live = {e["seq"]: e for e in console.events}
        first = console.snapshots[0]["seq"] + 1
        assert sorted(live) == list(range(first, seq() + 1))
        replay = console.call("sync:request", {"since": first - 1}, with_id=False)["events"]
        assert [live[e["seq"]] for e in replay] == replay

        # Every socket cut; they reconnect (not the removed one) to a closed workshop,
        # and every action is sent again: the same answers, nothing changed.
        clients.pop("chen").close()
        final = store.fingerprint()
        for client in clients.values():
            count = len(client.snapshots)
            assert client.drop()
            client.wait_for(lambda c=client, n=count: len(c.snapshots) > n, "a reconnection")
        for who, name, payload, ack in done:
            if who != "chen":
                assert clients[who].send(name, payload) == ack, (name, payload)
        assert store.fingerprint() == final
        for client in clients.values():
            client.wait_for(lambda c=client: c.settled(seq()), "the last event")
            fresh = client.call("sync:request", {}, with_id=False)["snapshot"]
            found = differences(client.view(), comparable(fresh))
            assert not found, (client.auth, found)
        assert store.problems() == []
        print(
            f"\nduplicates: {len(done)} actions ({len(sent)} kinds), each sent twice at once,"
            f" once more, and again after a reconnection: {3 * len(done)} repeats,"
            f" 0 applied twice; {time.monotonic() - started:.1f}s"
        )
        dora[0].close()
    finally:
        for client in clients.values():
            client.close()
        store.close()
        server.stop()
