"""What one participant may add is bounded (facilitator/core/quotas.py): past the limit they
are told so, while the facilitator and the other participants carry on. The limits
are lowered here so that a test reaches them in a few actions."""

from __future__ import annotations

from typing import Any

import pytest

from facilitator.core import quotas

from .support import LiveClient, error_code, join


@pytest.fixture
def people(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    amina, bilal = (
        LiveClient(base, workshop.id, "phone", join(base, workshop.code, *p)).connect()
        for p in (("Amina", "Ministry of Health", "Health"), ("Bilal", "UNICEF", "Health"))
    )
    yield {"console": console, "amina": amina, "bilal": bilal}
    for client in (console, amina, bilal):
        client.close()


def goto(console: LiveClient, kind: str) -> dict[str, Any]:
    stage = next(s for s in console.snapshots[0]["stages"] if s["type"] == kind)
    assert console.call("stage:goto", {"stage_id": stage["id"]})["ok"]
    return stage


NOTE = {"text": "Too few midwives", "x": 10.0, "y": 10.0}
CASES = {
    # quota constant, stage type, action, payload, words in the refusal
    "notes": ("NOTES_PER_PARTICIPANT", "board", "note:create", NOTE, "notes on this board"),
    "stakeholders": (
        "STAKEHOLDERS_PER_PARTICIPANT",
        "stakeholder_map",
        "stakeholder:add",
        {"name": "District council"},
        "stakeholders proposed",
    ),
    "agenda items": (
        "AGENDA_ITEMS_PER_PARTICIPANT",
        "agenda",
        "agenda:propose",
        {"title": "Rural retention"},
        "agenda items proposed",
    ),
    "plan actions": (
        "ACTIONS_PER_PARTICIPANT",
        "action_plan",
        "plan:add",
        {"fields": {"activity": "Train midwives"}},
        "actions proposed",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_participant_is_told_when_they_reach_their_limit(people, monkeypatch, case) -> None:
    constant, kind, name, payload, words = CASES[case]
    monkeypatch.setattr(quotas, constant, 3)
    goto(people["console"], kind)
    for _ in range(3):
        assert people["amina"].call(name, payload)["ok"]
    refused = people["amina"].call(name, payload)
    assert error_code(refused) == "invalid"
    assert f"limit of 3 {words}" in refused["error"]["message"]
    assert refused["error"]["details"]["limit"] == 3
    # Others are not held back by Amina's limit, nor is the facilitator.
    assert people["bilal"].call(name, payload)["ok"]
    if name != "plan:add":  # a facilitator's row needs more fields; not a quota matter
        assert people["console"].call(name, payload)["ok"]


def test_participants_create_groups_while_the_board_has_fewer_than_the_limit(
    people, monkeypatch
) -> None:
    monkeypatch.setattr(quotas, "GROUPS_PER_BOARD", 2)
    console = people["console"]
    stage = goto(console, "board")
    ack = console.call(
        "stage:edit", {"stage_id": stage["id"], "config": {"participants_group": True}}
    )
    assert ack["ok"], ack
    group = {"title": "Retention", "x": 10.0, "y": 10.0}
    assert people["amina"].call("group:create", group)["ok"]
    assert people["bilal"].call("group:create", group)["ok"]
    refused = people["amina"].call("group:create", group)
    assert "limit of 2 groups on this board" in refused["error"]["message"]
    assert console.call("group:create", group)["ok"]
