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
from collections.abc import Generator
from typing import Any

import pytest
import requests

from facilitator.actions import REGISTRY

from .faults import Screen, Store, comparable, differences
from .server_process import ServerProcess
from .support import ACTION_RE, action_id, csrf_from, join

pytestmark = pytest.mark.server

Step = tuple[str, str, dict[str, Any]]
Script = Generator[Step, dict[str, Any], None]


def workshop(stages: dict[str, int], me: dict[str, dict[str, Any]]) -> Script:
    """Every write action once, in an order that lets each one succeed: ``(client, name,
    params)`` steps, each sent the ack of the one before. ``stages`` are stage ids by
    key; ``me`` each phone's participant record."""
    # A draft, designed before anyone joins.
    programme = yield "console", "stage:add", {"type": "board", "title": "Extra"}
    extra = next(s["id"] for s in programme["stages"] if s["title"] == "Extra")
    yield "console", "stage:edit", {"stage_id": extra, "title": "Extra board"}
    yield "console", "stage:move", {"stage_id": extra, "position": 1}
    programme = yield "console", "stage:duplicate", {"stage_id": extra}
    copy = max(s["id"] for s in programme["stages"])
    yield "console", "stage:remove", {"stage_id": copy}
    yield "console", "workshop:schedule", {"starts_at": "09:00"}
    yield "console", "workshop:start", {}
    yield "join", "", {}  # the phones join here

    yield "amina", "participant:update", {"name": "Amina A."}
    yield "console", "display:set", {"share_of_voice": True}
    yield "console", "stage:next", {"from_stage_id": stages["welcome"]}

    yield "console", "stage:goto", {"stage_id": stages["context"]}
    note = (yield "amina", "note:create", {"text": "Vacant posts", "x": 10, "y": 10})["note"]
    other = (yield "bilal", "note:create", {"text": "Budget", "x": 300, "y": 10})["note"]
    edit = {"note_id": note["id"], "version": note["version"], "text": "Vacant rural posts"}
    yield "amina", "note:edit", edit
    yield "amina", "note:move", {"note_id": note["id"], "x": 20, "y": 40}
    group = (yield "console", "group:create", {"title": "Money", "x": 500, "y": 300})["group"]
    yield "console", "group:rename", {"group_id": group["id"], "title": "Finance"}
    yield "console", "group:move", {"group_id": group["id"], "x": 520, "y": 320}
    move = {"note_id": other["id"], "x": 530, "y": 340, "group_id": group["id"]}
    yield "console", "note:move", move
    yield "console", "board:focus", {"note_id": note["id"]}
    yield "console", "board:settings", {"private": True}
    hidden = yield "bilal", "note:create", {"text": "Private thought", "x": 700, "y": 10}
    yield "console", "board:reveal", {}
    yield "console", "group:delete", {"group_id": group["id"]}
    yield "bilal", "note:delete", {"note_id": hidden["note"]["id"]}

    yield "console", "stage:goto", {"stage_id": stages["stakeholders"]}
    proposal = (yield "amina", "stakeholder:add", {"name": "Teachers union"})["stakeholder"]
    card = (yield "console", "stakeholder:add", {"name": "Ministry of Finance"})["stakeholder"]
    yield "console", "stakeholder:accept", {"stakeholder_id": proposal["id"]}
    update = {"stakeholder_id": card["id"], "version": card["version"], "notes": "Holds budget"}
    yield "console", "stakeholder:update", update
    yield "console", "stakeholder:place", {"stakeholder_id": card["id"], "power": 9, "interest": 3}
    yield "console", "map:mode", {"participatory": True}
    for who, power in (("amina", 7), ("bilal", 5)):
        place = {"stakeholder_id": card["id"], "power": power, "interest": 6}
        yield who, "placement:set", place
    yield "console", "stakeholder:adopt", {"stakeholder_id": card["id"]}
    twin = (yield "console", "stakeholder:add", {"name": "MoF"})["stakeholder"]
    yield "console", "stakeholder:merge", {"stakeholder_id": twin["id"], "into_id": card["id"]}
    gone = (yield "console", "stakeholder:add", {"name": "Nobody"})["stakeholder"]
    yield "console", "stakeholder:remove", {"stakeholder_id": gone["id"]}

    yield "console", "stage:goto", {"stage_id": stages["priorities"]}
    first = (yield "amina", "agenda:propose", {"title": "Rural retention"})["item"]["id"]
    second = (yield "console", "agenda:propose", {"title": "Pay scales"})["item"]["id"]
    third = (yield "bilal", "agenda:propose", {"title": "Salaries"})["item"]["id"]
    promoted = (yield "amina", "agenda:promote", {"note_id": note["id"]})["item"]["id"]
    yield "console", "agenda:configure", {"dots": 3}
    yield "amina", "agenda:dot", {"dots": {str(first): 1, str(second): 1}}
    yield "bilal", "agenda:dot", {"dots": {str(second): 1, str(third): 1}}
    yield "console", "agenda:edit", {"item_id": first, "title": "Rural staff retention"}
    yield "console", "agenda:remove", {"item_id": third, "into_id": second}
    yield "console", "agenda:order", {"item_ids": [promoted, second, first]}
    yield "console", "agenda:order_by_dots", {}
    yield "console", "agenda:reveal", {}
    yield "console", "agenda:current", {"item_id": first}
    yield "console", "agenda:timer", {"command": "start"}

    yield "console", "stage:goto", {"stage_id": stages["confirm"]}
    made = yield "console", "poll:create", {"title": "Proceed?", "method": "consensus"}
    poll = made["poll"]["id"]
    yield "console", "poll:amend", {"poll_id": poll, "title": "Proceed with both?"}
    yield "console", "poll:open", {"poll_id": poll}
    yield "amina", "poll:vote", {"poll_id": poll, "choice": "agree"}
    yield "bilal", "poll:vote", {"poll_id": poll, "choice": "abstain"}
    yield "console", "poll:close", {"poll_id": poll}

    yield "console", "stage:goto", {"stage_id": stages["work-plans"]}
    fields = {"activity": "Review vacancies", "lead": me["bilal"]["organisation"]}
    row = (yield "console", "plan:add", {"fields": fields})["action"]
    yield "console", "plan:add_from", {"kind": "poll", "source_id": poll}
    mine = (yield "amina", "plan:add", {"fields": {"activity": "Map rural posts"}})["action"]
    edit = {
        "action": mine["id"],
        "changes": {"activity": "Map all rural posts"},
        "versions": {"activity": mine["versions"]["activity"]},
    }
    yield "amina", "plan:edit", edit
    yield "console", "plan:accept", {"action": mine["id"]}
    yield "amina", "plan:offer", {"action": row["id"], "role": "partner"}
    settle = {"action": row["id"], "organisation": me["amina"]["organisation"], "accept": True}
    yield "console", "plan:settle_offer", settle
    spare = (yield "bilal", "plan:add", {"fields": {"activity": "Spare"}})["action"]
    yield "bilal", "plan:remove", {"action": spare["id"]}
    version = (yield "console", "plan:freeze", {"override_reason": "Leads agreed later"})["version"]

    yield "console", "stage:goto", {"stage_id": stages["signoff"]}
    yield "console", "signoff:name", {"participant_id": me["bilal"]["id"]}
    sign = {
        "version_id": version["id"],
        "decision": "endorse",
        "full_name": "Bilal Khan",
        "title": "Director",
    }
    yield "bilal", "signoff:sign", sign
    yield "console", "stage:prev", {}
    yield "console", "participant:remove", {"participant_id": me["chen"]["id"]}
    yield "console", "workshop:close", {}
    yield "console", "workshop:reopen", {}
    yield "console", "workshop:close", {}


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
        http, workshop_id, code = server.create_workshop("dup", "dup password 1", draft=True)
        clients["console"] = Screen(server.base, workshop_id, "console", http).connect()
        stages = {s["key"]: s["id"] for s in clients["console"].snapshots[0]["stages"]}
        me: dict[str, dict[str, Any]] = {}

        def seq() -> int:
            return store.scalar("SELECT seq FROM workshops WHERE id = :w", w=workshop_id)

        done: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
        script = workshop(stages, me)
        ack: Any = None
        while True:
            try:
                who, name, params = script.send(ack)
            except StopIteration:
                break
            if who == "join":
                for person, sector in (
                    ("Amina", "Health"),
                    ("Bilal", "Finance"),
                    ("Chen", "Health"),
                ):
                    session = join(server.base, code, person, f"{person} Org", sector)
                    phone = Screen(server.base, workshop_id, "phone", session).connect()
                    clients[person.lower()] = phone
                    me[person.lower()] = phone.snapshots[0]["me"]
                dora = join_twice(server.base, code)
                ack = None
                continue
            client = clients[who]
            payload = {**params, "action_id": action_id()}
            before = seq()
            acks = twice_at_once(client, name, payload)
            assert acks[0]["ok"] and acks[1] == acks[0], (name, acks)
            ack = acks[0]
            # One action's events, numbered once; the ack names the last.
            assert seq() == ack.get("seq", before), (name, ack, before)
            saved = store.fingerprint()
            assert client.sio.call(name, payload, timeout=15) == ack, name
            assert store.fingerprint() == saved, name
            done.append((who, name, payload, ack))

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
        dora.close()
    finally:
        for client in clients.values():
            client.close()
        store.close()
        server.stop()
