"""Snapshots share their role-wide parts while the workshop's sequence number stands
still: a wave of reconnecting phones reads them once, and none gets a stale state."""

from __future__ import annotations

from typing import Any

from facilitator import state
from facilitator.actions import Caller, perform
from facilitator.sockets import build_snapshot

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
    state.configure(share=False)
    try:
        one, two = build_snapshot(caller), build_snapshot(caller)
        assert one["presence"] == two["presence"] and one["presence"] is not two["presence"]
    finally:
        state.configure(share=True)
