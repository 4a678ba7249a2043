"""The action plan and its sign-off over the real server: rows, field-level
versions, offers, accountability, freezing into versions and signing."""

from __future__ import annotations

import pytest

from .support import LiveClient, error_code, join


def goto(console, kind):
    stage = next(s for s in console.snapshots[0]["stages"] if s["type"] == kind)
    assert console.call("stage:goto", {"stage_id": stage["id"]})["ok"]
    return stage


@pytest.fixture
def plan_room(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    projector = LiveClient(base, workshop.id, "projector", key=workshop.projector_key).connect()
    people = [
        ("Amina", "Ministry of Health", "Health"),
        ("Bilal", "WHO", "Development partners"),
        ("Chen", "Nursing Council", "Professional regulation"),
    ]
    phones = [
        LiveClient(base, workshop.id, "phone", join(base, workshop.code, *p)).connect()
        for p in people
    ]
    goto(console, "action_plan")
    yield {"console": console, "projector": projector, "phones": phones, **room}
    for client in (console, projector, *phones):
        client.close()


def add(client, **fields):
    ack = client.call("plan:add", {"fields": fields})
    assert ack["ok"], ack
    return ack["action"]


def me(phone):
    return phone.snapshots[0]["me"]


def test_rows_reach_every_screen_and_accountability_shows_the_gaps(plan_room):
    console, projector, phones = plan_room["console"], plan_room["projector"], plan_room["phones"]
    row = add(
        console,
        activity="Fill rural nurse posts",
        lead="Ministry of Health",
        sector="Health",
        due="2027-06-30",
        indicator="Vacancy rate",
    )
    assert row["accepted"] and row["ref"] == "A1"
    assert row["fields"]["status"] == "planned" and row["fields"]["budget_currency"] == "USD"
    for screen in (projector, *phones):
        seen = screen.event_of("plan:created")
        assert seen["data"]["action"]["fields"]["activity"] == "Fill rural nurse posts"
    proposal = add(phones[1], activity="Fund a pre-service training review")
    assert proposal["accepted"] is False and proposal["proposed_by"] == me(phones[1])["id"]
    assert console.call("plan:accept", {"action": proposal["id"]})["ok"]

    def accountability(t):
        return t["type"] == "plan:accountability" and t["data"]["actions"] == 2

    view = projector.wait_for(
        lambda: next((t["data"] for t in projector.transients if accountability(t)), None),
        "accountability of two actions",
    )
    gaps = view["gaps"]
    assert gaps["no_lead"] == ["A2"] and gaps["no_indicator"] == ["A2"]
    assert gaps["no_due_date"] == ["A2"]
    assert set(gaps["organisations_leading_nothing"]) == {"WHO", "Nursing Council"}
    assert "Health" not in gaps["sectors_without_action"]
    assert "Education" in gaps["sectors_without_action"]
    moh = next(o for o in view["ownership"] if o["organisation"] == "Ministry of Health")
    assert moh["lead"] == ["A1"] and moh["lead_share"] == 0.5


def test_different_fields_both_win_and_the_same_field_is_a_conflict(plan_room):
    console, phones = plan_room["console"], plan_room["phones"]
    row = add(console, activity="Deploy midwives", indicator="Midwives deployed")
    v = row["versions"]
    first = phones[0].call(
        "plan:edit", {"action": row["id"], "changes": {"target": "120"}, "versions": {"target": 0}}
    )
    second = phones[1].call(
        "plan:edit",
        {
            "action": row["id"],
            "changes": {"indicator": "Midwives in post"},
            "versions": {"indicator": v["indicator"]},
        },
    )
    assert first["ok"] and second["ok"]
    assert second["action"]["fields"]["target"] == "120"
    assert second["action"]["fields"]["indicator"] == "Midwives in post"
    stale = console.call(
        "plan:edit",
        {
            "action": row["id"],
            "changes": {"indicator": "Midwives hired"},
            "versions": {"indicator": v["indicator"]},
        },
    )
    assert error_code(stale) == "conflict"
    assert stale["error"]["details"]["field"] == "indicator"
    assert stale["error"]["details"]["current"]["value"] == "Midwives in post"
    assert "Midwives in post" in stale["error"]["message"]
    # Nothing of a refused edit is written, even fields that did not conflict.
    mixed = console.call(
        "plan:edit",
        {
            "action": row["id"],
            "changes": {"baseline": "40", "indicator": "x"},
            "versions": {"baseline": 0, "indicator": v["indicator"]},
        },
    )
    assert error_code(mixed) == "conflict"
    rows = console.call("sync:request", {}, with_id=False)["snapshot"]["plan"]["actions"]
    assert rows[0]["fields"]["baseline"] == ""


def test_bad_values_are_refused_naming_the_field(plan_room):
    console = plan_room["console"]
    cases = [
        ({"activity": "x", "due": "2027-02-30"}, "due"),
        ({"activity": "x", "start": "2027-05-01", "due": "2027-01-01"}, "due"),
        ({"activity": "x", "sector": "Astrology"}, "sector"),
        ({"activity": "x", "action_field": "magic"}, "action_field"),
        ({"activity": "x", "budget_amount": "lots"}, "budget_amount"),
        ({"activity": "x", "budget_currency": "dollars"}, "budget_currency"),
        ({"activity": "x", "colour": "red"}, "colour"),
        ({"activity": "x" * 501}, "activity"),
        ({"objective": ""}, "activity"),
    ]
    for fields, field in cases:
        ack = console.call("plan:add", {"fields": fields})
        assert error_code(ack) == "invalid", (fields, ack)
        assert ack["error"]["details"]["field"] == field, (fields, ack)
    snapshot = console.call("sync:request", {}, with_id=False)["snapshot"]
    assert snapshot["plan"]["actions"] == []
    ok = add(console, activity="Budget line", budget_amount="1,250,000.50", action_field="Finance")
    assert ok["fields"]["budget_amount"] == "1250000.5"
    assert ok["fields"]["action_field"] == "finance"


def test_participants_offer_to_lead_and_the_facilitator_decides(plan_room):
    console, phones = plan_room["console"], plan_room["phones"]
    row = add(console, activity="Set up an HR information system")
    barred = phones[0].call(
        "plan:edit", {"action": row["id"], "changes": {"lead": "Me"}, "versions": {"lead": 0}}
    )
    assert error_code(barred) == "forbidden"
    assert phones[0].call("plan:offer", {"action": row["id"], "role": "lead"})["ok"]
    offered = phones[1].call("plan:offer", {"action": row["id"], "role": "partner"})
    assert [o["organisation"] for o in offered["action"]["offers"]] == [
        "Ministry of Health",
        "WHO",
    ]
    lead = console.call(
        "plan:settle_offer",
        {"action": row["id"], "organisation": "Ministry of Health", "accept": True},
    )
    assert lead["action"]["fields"]["lead"] == "Ministry of Health"
    partner = console.call(
        "plan:settle_offer", {"action": row["id"], "organisation": "WHO", "accept": True}
    )
    assert partner["action"]["fields"]["partners"] == ["WHO"]
    assert partner["action"]["offers"] == []
    again = console.call(
        "plan:settle_offer", {"action": row["id"], "organisation": "WHO", "accept": True}
    )
    assert error_code(again) == "not_found"


def test_plan_actions_are_checked_on_the_server_for_every_role(plan_room):
    console, projector, phone = plan_room["console"], plan_room["projector"], plan_room["phones"][0]
    row = add(console, activity="Retention allowances")
    own = add(phone, activity="Housing for rural staff")
    other = add(plan_room["phones"][1], activity="Night shift transport")
    forbidden = [
        (projector, "plan:add", {"fields": {"activity": "x"}}),
        (projector, "plan:freeze", {}),
        (phone, "plan:accept", {"action": own["id"]}),
        (phone, "plan:add_from", {"kind": "agenda", "source_id": 1}),
        (phone, "plan:settle_offer", {"action": row["id"], "organisation": "WHO", "accept": True}),
        (phone, "plan:freeze", {}),
        (phone, "signoff:name", {"participant_id": me(phone)["id"]}),
        (phone, "plan:remove", {"action": row["id"]}),
        (phone, "plan:remove", {"action": other["id"]}),
        (phone, "plan:add", {"fields": {"activity": "x", "lead": "Us"}}),
        (
            console,
            "signoff:sign",
            {"version_id": 1, "decision": "endorse", "full_name": "x", "title": "y"},
        ),
    ]
    for client, name, params in forbidden:
        assert error_code(client.call(name, params)) == "forbidden", (name, params)
    assert phone.call("plan:remove", {"action": own["id"]})["ok"]
    goto(console, "welcome")
    assert error_code(phone.call("plan:add", {"fields": {"activity": "x"}})) == "wrong_stage"


def test_freeze_needs_a_lead_for_every_action_or_a_recorded_reason(plan_room):
    console = plan_room["console"]
    assert error_code(console.call("plan:freeze", {})) == "invalid"  # nothing to freeze
    add(console, activity="Accredit nursing schools", lead="Nursing Council")
    add(console, activity="Review staffing norms")
    refused = console.call("plan:freeze", {})
    assert error_code(refused) == "invalid"
    assert refused["error"]["details"]["missing"] == [
        "A2: no lead organisation (Review staffing norms)"
    ]
    frozen = console.call("plan:freeze", {"override_reason": "Lead to be agreed with the PSC"})
    version = frozen["version"]
    assert frozen["new"] and version["number"] == 1 and len(version["sha256"]) == 64
    assert version["override"] == {
        "reason": "Lead to be agreed with the PSC",
        "missing": ["A2: no lead organisation (Review staffing norms)"],
    }
    plan_room["projector"].event_of("plan:frozen")


def test_signing_belongs_to_the_newest_unchanged_version(plan_room):
    console, phones = plan_room["console"], plan_room["phones"]
    row = add(console, activity="Annual HRH review", lead="Ministry of Health")
    v1 = console.call("plan:freeze", {})["version"]
    assert console.call("plan:freeze", {})["new"] is False  # unchanged: same version
    goto(console, "signoff")
    sign = {
        "version_id": v1["id"],
        "decision": "endorse",
        "full_name": "Dr Amina Yusuf",
        "title": "Director, Human Resources",
    }
    # Each organisation here has one person in the room: freezing named them.
    reps = console.call("sync:request", {}, with_id=False)["snapshot"]["signoff"]["representatives"]
    assert {(r["organisation"], r["name"]) for r in reps} == {
        ("Ministry of Health", "Amina"), ("WHO", "Bilal"), ("Nursing Council", "Chen"),
    }  # fmt: skip
    base, workshop = plan_room["base"], plan_room["workshop"]
    dawit = join(base, workshop.code, "Dawit", "Ministry of Health", "Health")
    second = LiveClient(base, workshop.id, "phone", dawit).connect()
    try:
        assert error_code(second.call("signoff:sign", sign)) == "forbidden"  # not the one named
    finally:
        second.close()
    named = console.call("signoff:name", {"participant_id": me(phones[0])["id"]})
    assert named["representative"]["organisation"] == "Ministry of Health"
    missing_reason = phones[0].call("signoff:sign", {**sign, "decision": "decline"})
    assert error_code(missing_reason) == "invalid"
    assert missing_reason["error"]["details"]["field"] == "text"
    signed = phones[0].call("signoff:sign", sign)
    assert signed["ok"] and signed["signature"]["representative"] == "Dr Amina Yusuf"
    plan_room["projector"].event_of("signoff:signed")
    assert error_code(phones[0].call("signoff:sign", sign)) == "conflict"  # signed already

    # A change after the freeze: nobody signs until it is frozen again, as version 2.
    goto(console, "action_plan")
    assert console.call(
        "plan:edit",
        {"action": row["id"], "changes": {"due": "2027-12-31"}, "versions": {"due": 0}},
    )["ok"]
    state = console.call("sync:request", {}, with_id=False)["snapshot"]["signoff"]
    assert state["stale"] is True
    assert console.call("signoff:name", {"participant_id": me(phones[1])["id"]})["ok"]
    goto(console, "signoff")
    who = {**sign, "full_name": "Bilal Khan", "title": "HRH Officer"}
    stale = phones[1].call("signoff:sign", who)
    assert error_code(stale) == "conflict" and "freeze it again" in stale["error"]["message"]
    v2 = console.call("plan:freeze", {})["version"]
    assert v2["number"] == 2 and v2["sha256"] != v1["sha256"] and v2["signatures"] == []
    old = phones[1].call("signoff:sign", who)
    assert error_code(old) == "conflict" and "version 2" in old["error"]["message"]
    assert phones[1].call("signoff:sign", {**who, "version_id": v2["id"]})["ok"]
    state = console.call("sync:request", {}, with_id=False)["snapshot"]["signoff"]
    assert [s["organisation"] for s in state["version"]["signatures"]] == ["WHO"]
    assert state["stale"] is False


def test_canonical_form_is_stable_and_any_change_makes_a_new_hash(plan_room):
    from facilitator.core.db import db
    from facilitator.domain import canonical
    from facilitator.domain.workshops import Workshop

    console = plan_room["console"]
    row = add(console, activity="Costed HRH strategy", lead="Ministry of Health", target="1")
    workshop_id = plan_room["workshop"].id

    def build() -> dict:
        with db.reader() as s:
            workshop = s.get(Workshop, workshop_id)
            return canonical.build(s, workshop, version=1, frozen_at=workshop.created_at)

    first, second = build(), build()
    assert canonical.canonical_bytes(first) == canonical.canonical_bytes(second)
    shuffled = dict(reversed(list(first.items())))
    assert canonical.digest(shuffled) == canonical.digest(first)  # key order never matters
    assert b" " not in canonical.canonical_bytes({"a": [1, 2]})  # no whitespace, sorted keys
    assert canonical.canonical_bytes({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    assert console.call(
        "plan:edit", {"action": row["id"], "changes": {"target": "2"}, "versions": {"target": 1}}
    )["ok"]
    assert canonical.digest(build()) != canonical.digest(first)
