"""The stakeholder map: grid rules, participatory placement, and every action."""

from __future__ import annotations

import pytest

from facilitator.domain import stakeholders as sh

from .support import LiveClient, error_code, join

# -- the grid and the room's placements (pure functions) ---------------------------------


@pytest.mark.parametrize(
    ("power", "interest", "expected"),
    [
        (8, 9, "manage_closely"),
        (8, 2, "keep_satisfied"),
        (2, 9, "keep_informed"),
        (2, 2, "monitor"),
        (5, 5, "manage_closely"),
    ],
)
def test_quadrant_follows_power_and_interest(power, interest, expected):
    assert sh.quadrant(power, interest, 10) == expected


def test_salience_classes():
    assert sh.salience(9, True, True, 10) == "definitive"
    assert sh.salience(9, False, False, 10) == "dormant"
    assert sh.salience(1, True, True, 10) == "dependent"
    assert sh.salience(1, False, False, 10) == "none"


def test_median_and_spread_for_a_known_set_of_placements():
    # Four agree at (8, 8); one outlier at (0, 0) does not move the median.
    summary = sh.summarise([(8, 8), (8, 8), (8, 8), (8, 8), (0, 0)], 10)
    assert summary == {"count": 5, "power": 8, "interest": 8, "spread": 0.0}
    # A room split in two: median in the middle, spread = distance 5 / scale 10.
    split = sh.summarise([(0, 5), (10, 5), (0, 5), (10, 5)], 10)
    assert (split["power"], split["interest"], split["spread"]) == (5, 5, 0.5)
    # An even count takes the middle of the two central values.
    assert sh.summarise([(2, 4), (4, 6)], 10)["power"] == 3
    assert sh.summarise([], 10) == {"count": 0, "power": None, "interest": None, "spread": None}


# -- over the real server -------------------------------------------------------------------


@pytest.fixture
def stakes(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    projector = LiveClient(base, workshop.id, "projector", key=workshop.projector_key).connect()
    phones = [
        LiveClient(
            base, workshop.id, "phone", join(base, workshop.code, name, org, sector)
        ).connect()
        for name, org, sector in (
            ("Amina", "MoH", "Health"),
            ("Bilal", "UNICEF", "Development partners"),
            ("Chen", "WHO", "Development partners"),
        )
    ]
    stage = next(s for s in console.snapshots[0]["stages"] if s["type"] == "stakeholder_map")
    assert console.call("stage:goto", {"stage_id": stage["id"]})["ok"]
    yield {"console": console, "projector": projector, "phones": phones, **room}
    for client in (console, projector, *phones):
        client.close()


def add(client, name, **extra):
    ack = client.call("stakeholder:add", {"name": name, **extra})
    assert ack["ok"], ack
    return ack["stakeholder"]


def snapshot(client):
    return client.call("sync:request", {}, with_id=False)["snapshot"]["stakeholders"]


def test_facilitator_adds_and_places_a_card_and_its_quadrant_follows(stakes):
    card = add(stakes["console"], "Ministry of Finance", sector="Finance", power=9, interest=3)
    assert card["status"] == "accepted" and card["quadrant"] == "keep_satisfied"
    ack = stakes["console"].call(
        "stakeholder:place", {"stakeholder_id": card["id"], "power": 9, "interest": 8}
    )
    assert ack["stakeholder"]["quadrant"] == "manage_closely"
    seen = stakes["projector"].event_of("stakeholder:updated")["data"]["stakeholder"]
    assert seen["quadrant"] == "manage_closely"


def test_positions_outside_the_grid_are_refused(stakes):
    card = add(stakes["console"], "Nurses Council")
    ack = stakes["console"].call(
        "stakeholder:place", {"stakeholder_id": card["id"], "power": 11, "interest": 5}
    )
    assert error_code(ack) == "invalid" and "between 0 and 10" in ack["error"]["message"]


def test_participants_propose_and_the_facilitator_accepts(stakes):
    proposal = add(stakes["phones"][0], "Lady Health Workers")
    assert proposal["status"] == "proposed"
    assert (
        error_code(
            stakes["phones"][0].call("stakeholder:accept", {"stakeholder_id": proposal["id"]})
        )
        == "forbidden"
    )
    ack = stakes["console"].call("stakeholder:accept", {"stakeholder_id": proposal["id"]})
    assert ack["stakeholder"]["status"] == "accepted"


def test_the_facilitator_merges_a_duplicate(stakes):
    first = add(stakes["console"], "UNICEF")
    duplicate = add(stakes["phones"][1], "Unicef country office")
    ack = stakes["console"].call(
        "stakeholder:merge", {"stakeholder_id": duplicate["id"], "into_id": first["id"]}
    )
    assert ack["ok"]
    removed = stakes["projector"].event_of("stakeholder:removed")["data"]
    assert removed == {"stakeholder_id": duplicate["id"], "merged_into": first["id"]}
    assert [i["name"] for i in snapshot(stakes["console"])["items"]] == ["UNICEF"]


def test_stale_edits_of_a_card_are_refused(stakes):
    card = add(stakes["console"], "WHO")
    ok = stakes["console"].call(
        "stakeholder:update",
        {"stakeholder_id": card["id"], "version": 1, "position": 2, "legitimacy": True},
    )
    assert ok["stakeholder"]["position"] == 2 and ok["stakeholder"]["version"] == 2
    stale = stakes["console"].call(
        "stakeholder:update", {"stakeholder_id": card["id"], "version": 1, "name": "W.H.O."}
    )
    assert error_code(stale) == "conflict"
    assert stale["error"]["details"]["stakeholder"]["name"] == "WHO"


def test_participatory_placement_gives_medians_and_spreads_not_who_placed_what(stakes):
    contested = add(stakes["console"], "Provincial P&D department")
    agreed = add(stakes["console"], "Ministry of Health")
    amina, bilal, chen = stakes["phones"]
    ack = amina.call("placement:set", {"stakeholder_id": agreed["id"], "power": 9, "interest": 9})
    assert error_code(ack) == "wrong_stage"  # not in participatory mode yet
    assert stakes["console"].call("map:mode", {"participatory": True})["ok"]
    for phone, p, i in ((amina, 9, 9), (bilal, 9, 8), (chen, 8, 9)):
        assert phone.call(
            "placement:set", {"stakeholder_id": agreed["id"], "power": p, "interest": i}
        )["ok"]
    for phone, p, i in ((amina, 1, 1), (bilal, 9, 9), (chen, 5, 5)):
        assert phone.call(
            "placement:set", {"stakeholder_id": contested["id"], "power": p, "interest": i}
        )["ok"]
    # A participant changes their mind: one placement per person, updated.
    assert chen.call(
        "placement:set", {"stakeholder_id": contested["id"], "power": 9, "interest": 1}
    )["ok"]
    summaries = snapshot(stakes["projector"])["summaries"]
    assert summaries[str(agreed["id"])]["count"] == 3
    assert (summaries[str(agreed["id"])]["power"], summaries[str(agreed["id"])]["interest"]) == (
        9,
        9,
    )
    assert summaries[str(contested["id"])]["spread"] > summaries[str(agreed["id"])]["spread"]
    # Phones see their own placements, not the room's medians; nobody sees others' choices.
    mine = snapshot(chen)
    assert mine["mine"][str(contested["id"])] == {"power": 9, "interest": 1}
    assert mine["summaries"] == {}
    phone_event = chen.event_of("placement:summary")["data"]
    assert "summary" not in phone_event
    assert "Amina" not in str(stakes["projector"].events)
    # The facilitator adopts the room's median.
    ack = stakes["console"].call("stakeholder:adopt", {"stakeholder_id": agreed["id"]})
    assert (ack["stakeholder"]["power"], ack["stakeholder"]["interest"]) == (9, 9)


def test_map_actions_are_the_facilitators(stakes):
    card = add(stakes["console"], "Donor group")
    phone = stakes["phones"][0]
    for name, payload in (
        ("stakeholder:place", {"stakeholder_id": card["id"], "power": 1, "interest": 1}),
        ("stakeholder:update", {"stakeholder_id": card["id"], "version": 1, "name": "X"}),
        ("stakeholder:merge", {"stakeholder_id": card["id"], "into_id": card["id"]}),
        ("stakeholder:remove", {"stakeholder_id": card["id"]}),
        ("stakeholder:adopt", {"stakeholder_id": card["id"]}),
        ("map:mode", {"participatory": True}),
    ):
        assert error_code(phone.call(name, payload)) == "forbidden", name
        assert error_code(stakes["projector"].call(name, payload)) == "forbidden", name
    assert (
        error_code(
            stakes["console"].call(
                "placement:set", {"stakeholder_id": card["id"], "power": 1, "interest": 1}
            )
        )
        == "forbidden"
    )
    assert error_code(stakes["projector"].call("stakeholder:add", {"name": "X"})) == "forbidden"
    assert stakes["console"].call("stakeholder:remove", {"stakeholder_id": card["id"]})["ok"]


def test_proposing_outside_the_map_stage_is_refused(stakes):
    stakes["console"].call("stage:next", {})
    assert (
        error_code(stakes["phones"][0].call("stakeholder:add", {"name": "Late"})) == "wrong_stage"
    )


def test_coverage_lists_missing_sectors_and_absent_partners(factory):
    workshop = factory.workshop()
    items = [
        {"status": "accepted", "sector": "Health", "category": "Public sector"},
        {"status": "accepted", "sector": "Finance", "category": ""},
        {"status": "proposed", "sector": "Education", "category": "Commercial"},
    ]
    result = sh.coverage(workshop, items, room_sectors={"Health"})
    assert "Health" not in result["sectors_without_stakeholder"]
    assert "Education" in result["sectors_without_stakeholder"]  # a proposal does not count
    assert "Public sector" not in result["categories_without_stakeholder"]
    assert "Commercial" in result["categories_without_stakeholder"]
    assert result["sectors_mapped_not_in_room"] == ["Finance"]
