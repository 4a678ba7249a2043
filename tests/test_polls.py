"""Polls over the real server: lifecycle, one ballot per round, reasons, anonymity,
results by sector, coalesced counts, and every poll action allowed and forbidden."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from facilitator.core.db import db
from facilitator.domain import polls

from .support import LiveClient, action_id, error_code, join

PEOPLE = [
    ("Amina", "Ministry of Health", "Health"),
    ("Bilal", "Provincial Health Dept", "Health"),
    ("Chen", "District Health Office", "Health"),
    ("Dora", "UNICEF", "Development partners"),
    ("Eli", "Finance Dept", "Finance"),
]


@pytest.fixture
def vote_room(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    projector = LiveClient(base, workshop.id, "projector", key=workshop.projector_key).connect()
    phones = [
        LiveClient(base, workshop.id, "phone", join(base, workshop.code, *p)).connect()
        for p in PEOPLE
    ]
    stage = next(s for s in console.snapshots[0]["stages"] if s["type"] == "vote")
    assert console.call("stage:goto", {"stage_id": stage["id"]})["ok"]
    yield {"console": console, "projector": projector, "phones": phones, **room}
    for client in (console, projector, *phones):
        client.close()


def new_poll(console, **extra):
    payload = {
        "title": "Adopt the two priorities",
        "proposal": "Retention and deployment",
        "method": "consensus",
        **extra,
    }
    ack = console.call("poll:create", payload)
    assert ack["ok"], ack
    return ack["poll"]


def test_lifecycle_draft_open_closed_and_a_second_round(vote_room):
    console, phones = vote_room["console"], vote_room["phones"]
    poll = new_poll(console)
    assert poll["status"] == "draft"
    assert (
        error_code(phones[0].call("poll:vote", {"poll_id": poll["id"], "choice": "agree"}))
        == "closed"
    )
    assert console.call("poll:open", {"poll_id": poll["id"]})["poll"]["status"] == "open"
    assert error_code(console.call("poll:open", {"poll_id": poll["id"]})) == "conflict"
    ack = console.call("poll:amend", {"poll_id": poll["id"], "rule": {"min_agree_share": 0.9}})
    assert error_code(ack) == "conflict" and "rule is fixed" in ack["error"]["message"]
    for phone, choice in zip(
        phones, ["agree", "agree", "agree", "disagree", "abstain"], strict=True
    ):
        assert phone.call("poll:vote", {"poll_id": poll["id"], "choice": choice})["ok"]
    closed = console.call("poll:close", {"poll_id": poll["id"]})
    outcome = closed["round"]["outcome"]
    assert outcome["decided"] is True and outcome["turnout"] == 5 and outcome["present"] == 5
    assert outcome["tally"]["counts"] == {"agree": 3, "abstain": 1, "disagree": 1, "block": 0}
    assert (
        error_code(
            phones[0].call(
                "poll:vote", {"poll_id": poll["id"], "choice": "block", "reason": "late"}
            )
        )
        == "closed"
    )
    # Amend after discussion, open round 2; round 1 stays on record.
    assert console.call(
        "poll:amend",
        {"poll_id": poll["id"], "proposal": "Retention first", "rule": {"min_agree_share": 0.9}},
    )["ok"]
    second = console.call("poll:open", {"poll_id": poll["id"]})
    assert second["round"]["number"] == 2 and second["round"]["rule"]["min_agree_share"] == 0.9
    state = console.call("sync:request", {}, with_id=False)["snapshot"]
    rounds = next(p for p in state["polls"] if p["poll"]["id"] == poll["id"])["rounds"]
    assert [r["number"] for r in rounds] == [1, 2] and rounds[0]["outcome"]["decided"] is True


def test_one_ballot_per_person_per_round_which_may_change_until_close(vote_room):
    console, amina = vote_room["console"], vote_room["phones"][0]
    poll = new_poll(console)
    console.call("poll:open", {"poll_id": poll["id"]})
    first = amina.call("poll:vote", {"poll_id": poll["id"], "choice": "disagree"})
    second = amina.call("poll:vote", {"poll_id": poll["id"], "choice": "agree"})
    assert first["changed"] is False and second["changed"] is True
    outcome = console.call("poll:close", {"poll_id": poll["id"]})["round"]["outcome"]
    assert outcome["tally"]["counts"]["agree"] == 1 and outcome["tally"]["ballots"] == 1


def test_a_repeated_action_id_counts_once(vote_room):
    console, amina = vote_room["console"], vote_room["phones"][0]
    poll = new_poll(console)
    console.call("poll:open", {"poll_id": poll["id"]})
    payload = {"action_id": action_id(), "poll_id": poll["id"], "choice": "agree"}
    assert amina.call("poll:vote", payload) == amina.call("poll:vote", payload)
    assert console.call("poll:close", {"poll_id": poll["id"]})["round"]["outcome"]["turnout"] == 1


def test_block_veto_and_objection_need_a_reason(vote_room):
    console, amina = vote_room["console"], vote_room["phones"][0]
    for method, choice in (
        ("consensus", "block"),
        ("gradients", 8),
        ("consent", "object"),
        ("fist", 0),
    ):
        poll = new_poll(console, method=method)
        console.call("poll:open", {"poll_id": poll["id"]})
        ack = amina.call("poll:vote", {"poll_id": poll["id"], "choice": choice})
        assert error_code(ack) == "invalid" and "needs a reason" in ack["error"]["message"]
        assert amina.call(
            "poll:vote", {"poll_id": poll["id"], "choice": choice, "reason": "Not funded"}
        )["ok"]
        outcome = console.call("poll:close", {"poll_id": poll["id"]})["round"]["outcome"]
        assert outcome["decided"] is False
        assert outcome["reasons"] == [{"choice": choice, "reason": "Not funded"}]


def test_bad_ballots_are_refused_and_nothing_is_counted(vote_room):
    console, amina = vote_room["console"], vote_room["phones"][0]
    ranked = new_poll(console, method="ranked", options=["Pay", "Training", "Housing"])
    console.call("poll:open", {"poll_id": ranked["id"]})
    assert (
        error_code(amina.call("poll:vote", {"poll_id": ranked["id"], "choice": [0, 0]}))
        == "invalid"
    )
    assert (
        error_code(amina.call("poll:vote", {"poll_id": ranked["id"], "choice": [7]})) == "invalid"
    )
    assert error_code(amina.call("poll:vote", {"poll_id": 999999, "choice": [0]})) == "not_found"
    outcome = console.call("poll:close", {"poll_id": ranked["id"]})["round"]["outcome"]
    assert outcome["turnout"] == 0 and outcome["decided"] is None


def test_a_rule_that_does_not_fit_the_method_is_refused(vote_room):
    ack = vote_room["console"].call(
        "poll:create", {"title": "X", "method": "fist", "rule": {"min_agree_share": 0.5}}
    )
    assert error_code(ack) == "invalid" and "not a rule of Fist of five" in ack["error"]["message"]
    ack = vote_room["console"].call(
        "poll:create", {"title": "X", "method": "dots", "options": ["only one"]}
    )
    assert error_code(ack) == "invalid" and "at least two options" in ack["error"]["message"]


def test_anonymous_polls_never_pair_a_name_with_a_choice(vote_room):
    console, phones = vote_room["console"], vote_room["phones"]
    poll = new_poll(console, method="gradients", results="live")
    console.call("poll:open", {"poll_id": poll["id"]})
    acks = []
    for phone, choice in zip(phones, [1, 2, 3, 7, 8], strict=True):
        acks.append(
            phone.call(
                "poll:vote",
                {
                    "poll_id": poll["id"],
                    "choice": choice,
                    "reason": "Budget unclear" if choice == 8 else "",
                },
            )
        )
    closed = console.call("poll:close", {"poll_id": poll["id"]})
    everything = [closed, *acks]
    for client in (console, vote_room["projector"], *phones):
        everything += client.events + client.transients + client.snapshots
        everything.append(client.call("sync:request", {}, with_id=False))
    text = json.dumps(everything)
    for name, _, _ in PEOPLE:
        assert name not in text.replace('"name": "' + name, "")  # only the join events name people
    for event in console.events:
        if event["type"] == "poll:closed":
            assert "name" not in json.dumps(event["data"]["round"]["outcome"])
    with db.reader() as s:
        round_id = s.scalar(select(polls.PollRound.id).where(polls.PollRound.poll_id == poll["id"]))
        keys = s.scalars(
            select(polls.Ballot.voter_key).where(polls.Ballot.round_id == round_id)
        ).all()
        people = s.scalars(
            select(polls.Ballot.participant_id).where(polls.Ballot.round_id == round_id)
        ).all()
        turnout = s.scalars(
            select(polls.Turnout.participant_id).where(polls.Turnout.round_id == round_id)
        ).all()
    assert keys == [None] * 5 and people == [None] * 5  # the link is gone once closed
    assert len(turnout) == 5  # who took part stays on record


def test_results_by_sector_fold_small_groups_in_anonymous_polls(vote_room):
    console, phones = vote_room["console"], vote_room["phones"]
    poll = new_poll(console, method="yes_no")
    console.call("poll:open", {"poll_id": poll["id"]})
    for phone, choice in zip(phones, ["yes", "yes", "no", "no", "yes"], strict=True):
        phone.call("poll:vote", {"poll_id": poll["id"], "choice": choice})
    by_group = console.call("poll:close", {"poll_id": poll["id"]})["round"]["outcome"]["by_group"]
    # Health has 3 voters; Development partners and Finance have 1 each: folded into
    # "other", which then has 2 and must grow to 3: so Health folds too.
    assert set(by_group) == {"other"} and by_group["other"]["voters"] == 5


def test_named_polls_show_groups_and_reasons_by_name(vote_room):
    console, phones = vote_room["console"], vote_room["phones"]
    poll = new_poll(console, method="consent", anonymous=False)
    console.call("poll:open", {"poll_id": poll["id"]})
    phones[3].call("poll:vote", {"poll_id": poll["id"], "choice": "object", "reason": "Scope"})
    outcome = console.call("poll:close", {"poll_id": poll["id"]})["round"]["outcome"]
    assert outcome["reasons"] == [{"choice": "object", "reason": "Scope", "name": "Dora"}]
    assert outcome["by_group"]["Development partners"]["voters"] == 1


def test_counts_are_coalesced_and_hidden_until_close_by_default(vote_room):
    console, projector, phones = vote_room["console"], vote_room["projector"], vote_room["phones"]
    poll = new_poll(console)
    console.call("poll:open", {"poll_id": poll["id"]})
    for phone in phones:
        phone.sio.emit(
            "poll:vote", {"action_id": action_id(), "poll_id": poll["id"], "choice": "agree"}
        )
    projector.wait_for(
        lambda: any(
            t["type"] == "poll:count" and t["data"]["turnout"] == 5 for t in projector.transients
        ),
        "the count of 5",
    )
    counts = [t for t in projector.transients if t["type"] == "poll:count"]
    assert len(counts) < len(phones)  # coalesced
    assert all("tally" not in t["data"] for t in counts)  # results hidden until close


def test_poll_actions_are_the_facilitators_and_votes_the_participants(vote_room):
    console, projector, amina = vote_room["console"], vote_room["projector"], vote_room["phones"][0]
    poll = new_poll(console)
    for client in (amina, projector):
        assert (
            error_code(client.call("poll:create", {"title": "X", "method": "fist"})) == "forbidden"
        )
        for name in ("poll:open", "poll:close"):
            assert error_code(client.call(name, {"poll_id": poll["id"]})) == "forbidden"
        assert (
            error_code(client.call("poll:amend", {"poll_id": poll["id"], "title": "Y"}))
            == "forbidden"
        )
    console.call("poll:open", {"poll_id": poll["id"]})
    for client in (console, projector):
        assert (
            error_code(client.call("poll:vote", {"poll_id": poll["id"], "choice": "agree"}))
            == "forbidden"
        )
    console.call("stage:next", {})
    assert (
        error_code(amina.call("poll:vote", {"poll_id": poll["id"], "choice": "agree"}))
        == "wrong_stage"
    )


def test_a_vote_resent_after_a_reconnect_counts_once(vote_room):
    console, amina = vote_room["console"], vote_room["phones"][0]
    poll = new_poll(console)
    console.call("poll:open", {"poll_id": poll["id"]})
    payload = {"action_id": action_id(), "poll_id": poll["id"], "choice": "agree"}
    first = amina.call("poll:vote", payload)
    # The phone loses its connection before it sees the ack, reconnects, and retries.
    amina.sio.disconnect()
    again = LiveClient(amina.base, amina.auth["workshop_id"], "phone")
    again.headers = amina.headers
    again.connect()
    try:
        assert again.snapshots[0]["polls"][-1]["my_ballot"] == {"choice": "agree", "reason": ""}
        assert again.call("poll:vote", payload) == first
    finally:
        again.close()
    outcome = console.call("poll:close", {"poll_id": poll["id"]})["round"]["outcome"]
    assert outcome["turnout"] == 1 and outcome["tally"]["counts"]["agree"] == 1
