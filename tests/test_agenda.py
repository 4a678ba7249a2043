"""The agenda over the real server: proposals, merging, dots hidden until revealed,
the dot order, time boxes and the timer; every action allowed and forbidden."""

from __future__ import annotations

import pytest

from .support import LiveClient, action_id, error_code, join


@pytest.fixture
def agenda_room(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    projector = LiveClient(base, workshop.id, "projector", key=workshop.projector_key).connect()
    phones = [
        LiveClient(
            base, workshop.id, "phone", join(base, workshop.code, n, "Org " + n, "Health")
        ).connect()
        for n in ("Amina", "Bilal", "Chen")
    ]
    stage = next(s for s in console.snapshots[0]["stages"] if s["type"] == "agenda")
    assert console.call("stage:goto", {"stage_id": stage["id"]})["ok"]
    yield {"console": console, "projector": projector, "phones": phones, "stage": stage, **room}
    for client in (console, projector, *phones):
        client.close()


def propose(client, title):
    ack = client.call("agenda:propose", {"title": title})
    assert ack["ok"], ack
    return ack["item"]


def agenda_state(client, stage):
    return client.call("sync:request", {}, with_id=False)["snapshot"]["agendas"][str(stage["id"])]


def test_dots_are_hidden_until_revealed_and_give_the_starting_order(agenda_room):
    console, phones, stage = agenda_room["console"], agenda_room["phones"], agenda_room["stage"]
    pay, training, housing = (
        propose(p, t) for p, t in zip(phones, ("Pay on time", "Training", "Housing"), strict=True)
    )
    assert phones[0].call("agenda:dot", {"dots": {str(housing["id"]): 2, str(pay["id"]): 1}})["ok"]
    assert phones[1].call("agenda:dot", {"dots": {str(housing["id"]): 3}})["ok"]
    assert phones[2].call("agenda:dot", {"dots": {str(training["id"]): 1}})["ok"]
    # Changing one's mind replaces the earlier dots.
    assert phones[2].call("agenda:dot", {"dots": {str(pay["id"]): 2}})["ok"]
    assert "totals" not in agenda_state(agenda_room["projector"], stage)
    assert "totals" not in agenda_state(console, stage)
    agenda_room["projector"].wait_for(
        lambda: any(
            t["type"] == "agenda:count" and t["data"]["voters"] == 3
            for t in agenda_room["projector"].transients
        ),
        "three voters counted",
    )
    revealed = console.call("agenda:reveal", {})
    assert revealed["totals"] == {str(housing["id"]): 5, str(pay["id"]): 3}
    assert console.call("agenda:order_by_dots", {})["order"] == [
        housing["id"],
        pay["id"],
        training["id"],
    ]
    assert error_code(phones[0].call("agenda:dot", {"dots": {str(pay["id"]): 1}})) == "conflict"


def test_dots_beyond_the_allowance_or_stacked_when_not_allowed_are_refused(agenda_room):
    console, amina = agenda_room["console"], agenda_room["phones"][0]
    item = propose(console, "Deployment")
    ack = amina.call("agenda:dot", {"dots": {str(item["id"]): 4}})
    assert error_code(ack) == "invalid" and "You have 3 dots" in ack["error"]["message"]
    assert console.call("agenda:configure", {"dots": 2, "stacking": False})["ok"]
    assert error_code(amina.call("agenda:dot", {"dots": {str(item["id"]): 2}})) == "invalid"
    assert amina.call("agenda:dot", {"dots": {str(item["id"]): 1}})["ok"]
    # Once dots are placed the rules are fixed.
    assert error_code(console.call("agenda:configure", {"dots": 5})) == "conflict"
    assert error_code(amina.call("agenda:dot", {"dots": {"999999": 1}})) == "not_found"


def test_merging_a_duplicate_moves_its_dots(agenda_room):
    console, amina, bilal = agenda_room["console"], *agenda_room["phones"][:2]
    first, duplicate = propose(amina, "Retention"), propose(bilal, "Retaining staff")
    amina.call("agenda:dot", {"dots": {str(duplicate["id"]): 2}})
    bilal.call("agenda:dot", {"dots": {str(first["id"]): 1, str(duplicate["id"]): 2}})
    assert console.call("agenda:remove", {"item_id": duplicate["id"], "into_id": first["id"]})["ok"]
    totals = console.call("agenda:reveal", {})["totals"]
    assert totals == {str(first["id"]): 4}  # Amina's 2 moved; Bilal keeps his larger stack


def test_order_time_box_current_item_and_timer(agenda_room):
    console, stage = agenda_room["console"], agenda_room["stage"]
    a, b = propose(console, "A"), propose(console, "B")
    assert error_code(console.call("agenda:order", {"item_ids": [b["id"]]})) == "invalid"
    assert console.call("agenda:order", {"item_ids": [b["id"], a["id"]]})["ok"]
    assert console.call("agenda:edit", {"item_id": b["id"], "minutes": 15})["item"]["minutes"] == 15
    assert error_code(console.call("agenda:timer", {"command": "start"})) == "conflict"
    assert console.call("agenda:current", {"item_id": b["id"]})["ok"]
    started = console.call("agenda:timer", {"command": "start"})["settings"]["timer"]
    assert started["duration"] == 900 and started["started_at"] is not None
    paused = console.call("agenda:timer", {"command": "pause"})["settings"]["timer"]
    assert paused["started_at"] is None and paused["elapsed"] >= 0
    extended = console.call("agenda:timer", {"command": "extend", "seconds": 300})["settings"][
        "timer"
    ]
    assert extended["duration"] == 1200
    state = agenda_state(agenda_room["phones"][0], stage)
    assert [i["id"] for i in sorted(state["items"], key=lambda i: i["position"])] == [
        b["id"],
        a["id"],
    ]
    assert state["settings"]["current_item_id"] == b["id"]


def test_a_board_note_can_be_promoted(agenda_room):
    console, amina = agenda_room["console"], agenda_room["phones"][0]
    board = next(s for s in console.snapshots[0]["stages"] if s["type"] == "board")
    console.call("stage:goto", {"stage_id": board["id"]})
    note = amina.call("note:create", {"text": "Salaries paid late", "x": 1, "y": 1})["note"]
    console.call("stage:goto", {"stage_id": agenda_room["stage"]["id"]})
    item = amina.call("agenda:promote", {"note_id": note["id"]})["item"]
    assert item["title"] == "Salaries paid late" and item["note_id"] == note["id"]
    assert (
        error_code(agenda_room["phones"][1].call("agenda:promote", {"note_id": note["id"]}))
        == "invalid"
    )


def test_agenda_controls_are_the_facilitators(agenda_room):
    console, projector, amina = (
        agenda_room["console"],
        agenda_room["projector"],
        agenda_room["phones"][0],
    )
    item = propose(amina, "Housing")
    for client in (amina, projector):
        for name, payload in (
            ("agenda:edit", {"item_id": item["id"], "title": "X"}),
            ("agenda:remove", {"item_id": item["id"]}),
            ("agenda:order", {"item_ids": [item["id"]]}),
            ("agenda:order_by_dots", {}),
            ("agenda:configure", {"dots": 2}),
            ("agenda:reveal", {}),
            ("agenda:current", {"item_id": item["id"]}),
            ("agenda:timer", {"command": "start"}),
        ):
            assert error_code(client.call(name, payload)) == "forbidden", name
    assert error_code(projector.call("agenda:propose", {"title": "P"})) == "forbidden"
    assert error_code(console.call("agenda:dot", {"dots": {}})) == "forbidden"
    payload = {"action_id": action_id(), "title": "Once"}
    assert amina.call("agenda:propose", payload) == amina.call("agenda:propose", payload)
    console.call("stage:next", {})
    assert error_code(amina.call("agenda:propose", {"title": "Late"})) == "wrong_stage"
