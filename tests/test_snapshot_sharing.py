"""Snapshots share their role-wide parts while the workshop's sequence number stands
still: a wave of reconnecting phones reads them once, and none gets a stale state."""

from __future__ import annotations

from typing import Any

from facilitator.actions.pipeline import perform
from facilitator.actions.spec import Caller
from facilitator.edges.sockets import build_snapshot
from facilitator.live import snapshot

from .support import LiveClient, action_id, join


def test_phones_at_one_seq_share_parts_and_a_change_is_in_the_next_snapshot(
    room: dict[str, Any],
) -> None:
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    people = [join(base, workshop.code, f"P{i}", "Org", "Health") for i in range(3)]
    phones = [LiveClient(base, workshop.id, "phone", http).connect() for http in people[:2]]
    try:
        first, second = (p.snapshots[-1] for p in phones)
        assert first["seq"] == second["seq"]
        for part in ("workshop", "stages", "current_stage_id", "presence", "plan", "signoff"):
            assert first[part] == second[part]
        assert first["me"]["name"] == "P0" and second["me"]["name"] == "P1"
        assert first["presence"]["total"] == 3

        # A change appends an event: the next snapshot reads the parts again.
        target = next(s for s in first["stages"] if s["id"] != first["current_stage_id"])
        assert console.call("stage:goto", {"stage_id": target["id"]})["ok"]
        join(base, workshop.code, "P3", "Org", "Finance")
        late = LiveClient(base, workshop.id, "phone", people[2]).connect()
        phones.append(late)
        snap = late.snapshots[-1]
        assert snap["seq"] > first["seq"]
        assert snap["current_stage_id"] == target["id"]
        assert snap["presence"]["total"] == 4 and snap["me"]["name"] == "P2"
        # The console's own role-wide parts (the participant list) are its own.
        names = {
            p["name"]
            for p in console.call("sync:request", {}, with_id=False)["snapshot"]["participants"]
        }
        assert names == {"P0", "P1", "P2", "P3"}
    finally:
        for client in (console, *phones):
            client.close()


def test_a_personal_part_is_never_shared(factory: Any) -> None:
    user_id, _ = factory.user()
    workshop = factory.workshop(user_id)
    visitor = Caller("visitor", workshop.id, visitor_id="v" * 12)
    ids = []
    for name in ("Amina", "Bilal"):
        ack = perform(
            visitor,
            "participant:join",
            {"action_id": action_id(), "name": name, "organisation": "MoH", "sector": "Health"},
        )
        ids.append(ack["participant"]["id"])
    amina, bilal = (
        build_snapshot(Caller("participant", workshop.id, participant_id=i)) for i in ids
    )
    assert amina["seq"] == bilal["seq"]
    assert amina["me"]["name"] == "Amina" and bilal["me"]["name"] == "Bilal"
    assert amina["presence"] is bilal["presence"]  # read once, shared
    projector = build_snapshot(Caller("projector", workshop.id))
    assert "me" not in projector and "participants" not in projector
    facilitator = build_snapshot(Caller("facilitator", workshop.id, user_id=user_id))
    assert {p["name"] for p in facilitator["participants"]} == {"Amina", "Bilal"}


def test_sharing_can_be_turned_off_for_several_processes(factory: Any) -> None:
    user_id, _ = factory.user()
    workshop = factory.workshop(user_id)
    caller = Caller("projector", workshop.id)
    snapshot.configure(share=False)
    try:
        one, two = build_snapshot(caller), build_snapshot(caller)
        assert one["presence"] == two["presence"] and one["presence"] is not two["presence"]
    finally:
        snapshot.configure(share=True)


def test_boards_maps_polls_and_agendas_are_shared_and_what_is_mine_stays_mine(
    factory: Any,
) -> None:
    """Two phones at one seq: the same board, map, polls and agenda objects, read once;
    each its own ballot, and the room's counts kept out of nobody's view."""
    user_id, _ = factory.user()
    workshop = factory.workshop(user_id)
    console = Caller("facilitator", workshop.id, user_id=user_id)
    visitor = Caller("visitor", workshop.id, visitor_id="v" * 12)
    ids = [
        perform(
            visitor,
            "participant:join",
            {"action_id": action_id(), "name": name, "organisation": "MoH", "sector": "Health"},
        )["participant"]["id"]
        for name in ("Amina", "Bilal")
    ]
    amina_caller, bilal_caller = (
        Caller("participant", workshop.id, participant_id=i) for i in ids
    )
    stages = build_snapshot(console)["stages"]
    vote = next(s for s in stages if s["type"] == "vote")

    def act(caller: Caller, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack = perform(caller, event, {"action_id": action_id(), **payload})
        assert ack["ok"], ack
        return ack

    act(console, "stage:goto", {"stage_id": vote["id"]})
    poll = act(console, "poll:create", {"title": "T", "proposal": "P", "method": "consensus"})
    act(console, "poll:open", {"poll_id": poll["poll"]["id"]})
    act(amina_caller, "poll:vote", {"poll_id": poll["poll"]["id"], "choice": "agree"})

    amina, bilal = build_snapshot(amina_caller), build_snapshot(bilal_caller)
    assert amina["seq"] == bilal["seq"]
    (mine,), (theirs,) = amina["polls"], bilal["polls"]
    assert mine["my_ballot"]["choice"] == "agree" and theirs["my_ballot"] is None
    assert mine["rounds"] is theirs["rounds"]  # read once, shared
    assert amina["boards"].keys() == bilal["boards"].keys()
    assert amina["agendas"].keys() == bilal["agendas"].keys()
    for agenda in amina["agendas"].values():
        assert agenda["mine"] == {} and "server_time" in agenda
    assert amina["stakeholders"]["summaries"] == {} and amina["stakeholders"]["mine"] == {}
    # The projector's view is the room's: no ballot, and the shared entries untouched.
    projector = build_snapshot(Caller("projector", workshop.id))
    assert "my_ballot" not in projector["polls"][0] and "mine" not in projector["stakeholders"]
    assert projector["polls"][0]["count"]["turnout"] == 1
