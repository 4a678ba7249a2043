"""Domain operations on workshops, participants, stages and the event log."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from facilitator.core.db import db
from facilitator.core.errors import DomainError
from facilitator.core.events import Event, EventRecord
from facilitator.domain import workshops as ws
from facilitator.live import log as event_log

LOOK_ALIKES = set("0O1IL2Z5S8BUVDQ")


def test_join_codes_avoid_look_alike_characters():
    assert not LOOK_ALIKES & set(ws.CODE_ALPHABET)
    codes = {ws.new_code() for _ in range(500)}
    assert all(len(c) == ws.CODE_LENGTH and set(c) <= set(ws.CODE_ALPHABET) for c in codes)
    assert len(codes) > 490


def test_normalise_code_accepts_what_people_type():
    assert ws.normalise_code(" ab-c 4 7x ") == "ABC47X"


def test_open_workshops_cannot_share_a_code_but_a_closed_one_can(factory):
    first = factory.workshop()
    second = factory.workshop()
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.get(ws.Workshop, second.id).code = first.code
    with db.transaction() as s:
        ws.close_workshop(s, s.get(ws.Workshop, first.id))
        s.get(ws.Workshop, second.id).code = first.code
    with db.transaction() as s:
        # Reopening the first: its code is taken now, so it gets a new one.
        outcome = ws.reopen_workshop(s, s.get(ws.Workshop, first.id))
    assert outcome.result["code"] != first.code
    assert outcome.events[0].type == "workshop:reopened"


def test_a_workshop_copies_its_kit_and_starts_at_the_first_stage(factory):
    workshop = factory.workshop()
    assert workshop.current_stage_id == workshop.stages[0].id
    assert [s.position for s in workshop.stages] == list(range(len(workshop.stages)))
    assert workshop.kit_data["sectors"][0] == "Health"
    assert workshop.seq == 0


def test_join_counts_presence_by_sector_and_organisation(factory):
    workshop = factory.workshop()
    with db.transaction() as s:
        w = s.get(ws.Workshop, workshop.id)
        ws.join(s, w, "A", "Ministry of Health", "Health")
        ws.join(s, w, "B", "ministry of health", "health")
        outcome = ws.join(s, w, "C", "UNICEF", "Development partners")
    presence = outcome.events[0].data["presence"]
    assert presence["total"] == 3
    assert presence["organisations"] == 2
    assert presence["organisation_names"] == ["Ministry of Health", "UNICEF"]
    assert presence["by_sector"][0] == {"sector": "Health", "count": 2}


def test_join_on_a_closed_workshop_is_refused(factory):
    workshop = factory.workshop()
    with db.transaction() as s:
        w = s.get(ws.Workshop, workshop.id)
        ws.close_workshop(s, w)
        with pytest.raises(DomainError) as caught:
            ws.join(s, w, "A", "B", "Health")
    assert caught.value.code == "closed"


def test_going_to_the_current_stage_changes_nothing(factory):
    workshop = factory.workshop()
    with db.transaction() as s:
        outcome = ws.goto_stage(s, s.get(ws.Workshop, workshop.id), workshop.stages[0].id)
    assert outcome.events == []


def test_removing_twice_is_refused(factory):
    workshop = factory.workshop()
    with db.transaction() as s:
        w = s.get(ws.Workshop, workshop.id)
        pid = ws.join(s, w, "A", "B", "Health").result["participant"]["id"]
        ws.remove_participant(s, w, pid)
        with pytest.raises(DomainError) as caught:
            ws.remove_participant(s, w, pid)
    assert caught.value.code == "not_found"


def test_events_are_numbered_consecutively_per_workshop(factory):
    one, two = factory.workshop(), factory.workshop()
    with db.transaction() as s:
        a = event_log.append(
            s, one.id, [Event("stage:changed", {"n": 1}), Event("stage:changed", {"n": 2})]
        )
        b = event_log.append(s, two.id, [Event("stage:changed", {"n": 1})])
        c = event_log.append(s, one.id, [Event("stage:changed", {"n": 3})])
    assert [p.seq for p in a + c] == [1, 2, 3]
    assert [p.seq for p in b] == [1]
    with db.reader() as s:
        events = event_log.events_since(s, one.id, 1, "facilitator")
        assert [e["data"]["n"] for e in events] == [2, 3]
        assert event_log.events_since(s, one.id, 3, "facilitator") == []


def test_a_sequence_number_cannot_be_used_twice(factory):
    workshop = factory.workshop()
    with db.transaction() as s:
        event_log.append(s, workshop.id, [Event("stage:changed", {})])
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(EventRecord(workshop_id=workshop.id, seq=1, type="stage:changed", data={}))
        s.flush()


def test_a_client_too_far_behind_gets_a_snapshot_instead(factory):
    workshop = factory.workshop()
    events = [Event("stage:changed", {"n": i}) for i in range(event_log.MAX_REPLAY + 5)]
    with db.transaction() as s:
        event_log.append(s, workshop.id, events)
    with db.reader() as s:
        assert event_log.events_since(s, workshop.id, 0, "projector") is None
        replay = event_log.events_since(s, workshop.id, 10, "projector")
        assert len(replay) == event_log.MAX_REPLAY - 5
