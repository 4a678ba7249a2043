"""Batched writes: concurrent calls of a batched action (poll:vote) written together.

Threads call the action pipeline at the same moment, so the calls queue up and
are written in shared transactions; every call must still get exactly the
answer it would get alone, and the database must hold each change once.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select

from facilitator.actions import spec
from facilitator.actions.batching import batcher
from facilitator.actions.pipeline import perform
from facilitator.actions.spec import Caller, Context, Params
from facilitator.core import protocol
from facilitator.core.db import db
from facilitator.core.errors import INVALID, DomainError
from facilitator.core.events import Event, EventRecord, Outcome
from facilitator.domain import ballots, polls
from facilitator.domain.workshops import Participant, Workshop
from facilitator.live.receipts import ActionReceipt

from .support import LiveClient, action_id, error_code, join


def ok(ack: dict[str, Any]) -> dict[str, Any]:
    assert ack.get("ok"), ack
    return ack


@pytest.fixture
def wide_window() -> Iterator[None]:
    """Let batches gather for 50 ms, so threads started together surely share one."""
    before = batcher.window, batcher.idle_window
    batcher.window = batcher.idle_window = 0.05
    yield
    batcher.window, batcher.idle_window = before


@contextmanager
def commits() -> Iterator[list[int]]:
    """Count the transactions committed meanwhile (a real engine event, nothing replaced)."""
    seen: list[int] = []

    def on_commit(_conn: Any) -> None:
        seen.append(1)

    assert db.engine is not None
    event.listen(db.engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(db.engine, "commit", on_commit)


def all_at_once(calls: list[tuple[Caller, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """perform() every call from its own thread, released together; the acks in order."""
    acks: list[dict[str, Any] | None] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        caller, name, payload = calls[index]
        start.wait()
        acks[index] = perform(caller, name, payload)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(a is not None for a in acks)
    return acks  # type: ignore[return-value]


@pytest.fixture
def ballot_room(factory: Any) -> dict[str, Any]:
    """A workshop in its vote stage with 24 participants and an open consensus poll."""
    user_id, _ = factory.user()
    workshop = factory.workshop(user_id)
    facilitator = Caller("facilitator", workshop.id, user_id=user_id)
    people = []
    for i in range(24):
        ack = ok(
            perform(
                Caller("visitor", workshop.id, visitor_id=uuid.uuid4().hex),
                "participant:join",
                {
                    "action_id": action_id(),
                    "name": f"Person {i}",
                    "organisation": f"Org {i % 4}",
                    "sector": "Health" if i % 2 else "Finance",
                },
            )
        )
        people.append(Caller("participant", workshop.id, participant_id=ack["participant"]["id"]))
    vote_stage = next(s for s in workshop.stages if s.type == "vote")
    ok(perform(facilitator, "stage:goto", {"action_id": action_id(), "stage_id": vote_stage.id}))
    poll = ok(
        perform(
            facilitator,
            "poll:create",
            {"action_id": action_id(), "title": "Adopt", "method": "consensus", "results": "live"},
        )
    )["poll"]
    ok(perform(facilitator, "poll:open", {"action_id": action_id(), "poll_id": poll["id"]}))
    return {"workshop": workshop, "facilitator": facilitator, "people": people, "poll": poll}


def close(room: dict[str, Any], poll_id: int) -> dict[str, Any]:
    ack = perform(room["facilitator"], "poll:close", {"action_id": action_id(), "poll_id": poll_id})
    return ok(ack)["round"]["outcome"]


def stored_receipts(workshop_id: int) -> Counter[tuple[str, str]]:
    with db.reader() as s:
        rows = s.execute(
            select(ActionReceipt.actor, ActionReceipt.action_id).where(
                ActionReceipt.workshop_id == workshop_id,
                ActionReceipt.event == protocol.POLL_VOTE,
            )
        ).all()
    return Counter((r.actor, r.action_id) for r in rows)


def test_concurrent_votes_with_repeats_and_bad_ballots_each_get_their_own_answer(
    ballot_room: dict[str, Any], wide_window: None
) -> None:
    room = ballot_room
    people, poll_id, facilitator = room["people"], room["poll"]["id"], room["facilitator"]
    draft = ok(
        perform(
            facilitator,
            "poll:create",
            {"action_id": action_id(), "title": "Later", "method": "consensus"},
        )
    )["poll"]
    # Two people are removed before the storm: their ballots must be refused.
    for gone in people[22:]:
        ok(
            perform(
                facilitator,
                "participant:remove",
                {"action_id": action_id(), "participant_id": gone.participant_id},
            )
        )

    def vote(choice: Any, reason: str = "", poll: int = poll_id, aid: str | None = None) -> dict:
        return {
            "action_id": aid or action_id(),
            "poll_id": poll,
            "choice": choice,
            "reason": reason,
        }

    calls: list[tuple[Caller, str, dict[str, Any]]] = []
    expect: dict[int, Any] = {}  # index of the call -> "ok" or the error code
    ballots: dict[int, str] = {}  # participant id -> the choice that must count
    choices = ["agree", "disagree", "abstain"]
    for i, person in enumerate(people[:14]):  # plain ballots
        calls.append((person, "poll:vote", vote(choices[i % 3])))
        expect[len(calls) - 1] = "ok"
        ballots[person.participant_id] = choices[i % 3]
    for person in people[14:17]:  # a double tap: the same action twice at once
        payload = vote("agree")
        for _ in range(2):
            calls.append((person, "poll:vote", dict(payload)))
            expect[len(calls) - 1] = "ok"
        ballots[person.participant_id] = "agree"
    calls.append((people[17], "poll:vote", vote("block")))  # a block needs a reason
    expect[len(calls) - 1] = "invalid"
    calls.append((people[18], "poll:vote", vote("maybe")))  # not a choice of consensus
    expect[len(calls) - 1] = "invalid"
    calls.append((people[18], "poll:vote", vote([1, 2])))  # not even a word
    expect[len(calls) - 1] = "invalid"
    calls.append((people[19], "poll:vote", vote("block", "Not funded")))  # with its reason
    expect[len(calls) - 1] = "ok"
    ballots[people[19].participant_id] = "block"
    calls.append((people[20], "poll:vote", vote("agree", poll=draft["id"])))
    expect[len(calls) - 1] = "closed"
    calls.append((people[20], "poll:vote", vote("agree", poll=987654321)))
    expect[len(calls) - 1] = "not_found"
    calls.append((people[21], "poll:vote", vote("agree", "x" * 501)))  # reason too long
    expect[len(calls) - 1] = "invalid"
    for gone in people[22:]:
        calls.append((gone, "poll:vote", vote("agree")))
        expect[len(calls) - 1] = "forbidden"
    assert len(calls) == 29

    with commits() as seen:
        acks = all_at_once(calls)
    assert len(seen) < len(calls) / 2, f"{len(seen)} commits for {len(calls)} calls: no batching"

    for index, ack in enumerate(acks):
        if expect[index] == "ok":
            assert ack["ok"], (index, ack)
            assert ack["choice"] == calls[index][2]["choice"] and ack["changed"] is False
            assert ack["poll_id"] == poll_id and ack["round"] == 1
        else:
            assert error_code(ack) == expect[index], (index, ack)
    messages = {i: a["error"]["message"] for i, a in enumerate(acks) if not a["ok"]}
    assert "needs a reason" in messages[20]
    assert "Choose one of" in messages[21]
    assert "does not fit" in messages[22]
    assert "has not opened yet" in messages[24]
    assert "no poll 987654321" in messages[25]
    assert "at most 500 characters" in messages[26]
    assert "removed you" in messages[27] and "removed you" in messages[28]
    for first in (14, 16, 18):  # the double taps: one answer, twice
        assert acks[first] == acks[first + 1]

    ok_keys = Counter(
        (calls[i][0].actor, calls[i][2]["action_id"]) for i, a in enumerate(acks) if a["ok"]
    )
    assert stored_receipts(room["workshop"].id) == Counter(dict.fromkeys(ok_keys, 1))

    # Sent again (a phone that lost its acks): the same answers, nothing counted twice.
    assert all_at_once(calls) == acks
    outcome = close(room, poll_id)
    assert outcome["turnout"] == len(ballots) == 18
    counts = Counter(ballots.values())
    assert outcome["tally"]["counts"] == {c: counts.get(c, 0) for c in [*choices, "block"]}
    assert outcome["reasons"] == [{"choice": "block", "reason": "Not funded"}]


def test_a_reused_action_id_in_one_batch_is_refused_whichever_lands_first(
    ballot_room: dict[str, Any], wide_window: None
) -> None:
    room = ballot_room
    poll_id = room["poll"]["id"]
    amina, bilal = room["people"][:2]
    ok(
        perform(
            bilal, "poll:vote", {"action_id": action_id(), "poll_id": poll_id, "choice": "agree"}
        )
    )
    reused = action_id()
    calls = [
        (amina, "poll:vote", {"action_id": action_id(), "poll_id": poll_id, "choice": "agree"}),
        (bilal, "poll:vote", {"action_id": reused, "poll_id": poll_id, "choice": "disagree"}),
        (bilal, "poll:vote", {"action_id": reused, "poll_id": poll_id, "choice": "abstain"}),
    ]
    with commits() as seen:
        acks = all_at_once(calls)
    assert len(seen) == 1
    assert acks[0]["ok"] and acks[0]["changed"] is False
    assert sorted(a["ok"] for a in acks[1:]) == [False, True]
    accepted = next(a for a in acks[1:] if a["ok"])
    assert accepted["changed"] is True  # bilal had voted before
    refused = next(a for a in acks[1:] if not a["ok"])
    assert error_code(refused) == "conflict" and "already used" in refused["error"]["message"]
    outcome = close(room, poll_id)
    assert outcome["turnout"] == 2 and outcome["tally"]["counts"][accepted["choice"]] == 1


def test_vote_many_answers_each_ballot_as_if_it_were_cast_alone(
    ballot_room: dict[str, Any],
) -> None:
    room = ballot_room
    poll_id = room["poll"]["id"]
    ids = [c.participant_id for c in room["people"][:3]]
    with db.transaction() as s:
        workshop = s.get(Workshop, room["workshop"].id)
        people = [s.get(Participant, i) for i in ids]
        answers = ballots.vote_many(
            s,
            workshop,
            [
                (people[0], poll_id, "agree", ""),
                (people[1], poll_id, "block", ""),  # refused: no reason
                (people[0], poll_id, "disagree", ""),  # the same person again: a change
                (people[2], poll_id, "abstain", "  spaced  "),
                (people[0], poll_id, "abstain", ""),
            ],
        )
    assert [a.result["changed"] if isinstance(a, Outcome) else a.code for a in answers] == [
        False,
        "invalid",
        True,
        False,
        True,
    ]
    assert answers[3].result["reason"] == "spaced"
    outcome = close(room, poll_id)
    assert outcome["turnout"] == 2
    assert outcome["tally"]["counts"] == {"agree": 0, "disagree": 0, "abstain": 2, "block": 0}
    assert outcome["reasons"] == [{"choice": "abstain", "reason": "spaced"}]


def test_a_removed_participant_in_a_batch_is_refused_and_the_others_count(
    ballot_room: dict[str, Any], wide_window: None
) -> None:
    room = ballot_room
    poll_id = room["poll"]["id"]
    people = room["people"][:6]
    ok(
        perform(
            room["facilitator"],
            "participant:remove",
            {"action_id": action_id(), "participant_id": people[2].participant_id},
        )
    )
    calls = [
        (p, "poll:vote", {"action_id": action_id(), "poll_id": poll_id, "choice": "agree"})
        for p in people
    ]
    with commits() as seen:
        acks = all_at_once(calls)
    assert len(seen) < len(calls)
    assert error_code(acks[2]) == "forbidden"
    assert all(a["ok"] for i, a in enumerate(acks) if i != 2)
    assert close(room, poll_id)["turnout"] == 5


def test_named_and_dot_ballots_in_batches(ballot_room: dict[str, Any], wide_window: None) -> None:
    room = ballot_room
    facilitator, people = room["facilitator"], room["people"][:8]
    named = ok(
        perform(
            facilitator,
            "poll:create",
            {
                "action_id": action_id(),
                "title": "Priorities",
                "method": "dots",
                "options": ["Pay", "Training", "Housing"],
                "dots": 3,
                "anonymous": False,
            },
        )
    )["poll"]
    ok(perform(facilitator, "poll:open", {"action_id": action_id(), "poll_id": named["id"]}))
    ballots = [{"0": 3}, {"1": 1, "2": 2}, {"0": 1, "1": 1, "2": 1}, {"2": 3}]
    calls = [
        (p, "poll:vote", {"action_id": action_id(), "poll_id": named["id"], "choice": b})
        for p, b in zip(people, ballots * 2, strict=True)
    ]
    calls.append(
        (
            people[0],
            "poll:vote",
            {"action_id": action_id(), "poll_id": named["id"], "choice": {"5": 1}},
        )
    )
    calls.append(
        (
            people[1],
            "poll:vote",
            {"action_id": action_id(), "poll_id": named["id"], "choice": {"0": 4}},
        )
    )
    acks = all_at_once(calls)
    assert all(a["ok"] for a in acks[:8]), acks
    assert "no option 5" in acks[8]["error"]["message"]
    assert "You have 3 dots" in acks[9]["error"]["message"]
    outcome = close(room, named["id"])
    assert outcome["turnout"] == 8 and outcome["tally"]["totals"] == [8, 4, 12]
    with db.reader() as s:
        round_id = s.scalar(
            select(polls.PollRound.id).where(polls.PollRound.poll_id == named["id"])
        )
        rows = s.execute(
            select(polls.Ballot.participant_id, polls.Ballot.voter_key).where(
                polls.Ballot.round_id == round_id
            )
        ).all()
    # Named: the participant is on the ballot and the key stays after the close.
    assert sorted(r.participant_id for r in rows) == sorted(p.participant_id for p in people)
    assert all(r.voter_key == f"p:{r.participant_id}" for r in rows)


def test_anonymous_ballots_written_in_batches_keep_no_link_once_closed(
    ballot_room: dict[str, Any], wide_window: None
) -> None:
    room = ballot_room
    poll_id = room["poll"]["id"]
    calls = [
        (p, "poll:vote", {"action_id": action_id(), "poll_id": poll_id, "choice": "agree"})
        for p in room["people"][:10]
    ]
    assert all(a["ok"] for a in all_at_once(calls))
    with db.reader() as s:
        round_id = s.scalar(select(polls.PollRound.id).where(polls.PollRound.poll_id == poll_id))
        open_rows = s.execute(
            select(polls.Ballot.participant_id, polls.Ballot.voter_key).where(
                polls.Ballot.round_id == round_id
            )
        ).all()
    assert all(r.participant_id is None for r in open_rows)
    expected_keys = {polls.voter_key(round_id, c.participant_id, True) for c, _, _ in calls}
    assert {r.voter_key for r in open_rows} == expected_keys
    close(room, poll_id)
    with db.reader() as s:
        keys = s.scalars(
            select(polls.Ballot.voter_key).where(polls.Ballot.round_id == round_id)
        ).all()
        turnout = s.scalar(select(func.count()).where(polls.Turnout.round_id == round_id))
    assert keys == [None] * 10 and turnout == 10


# -- the batching machinery itself, with an action made for it --------------------------------


class Echo(Params):
    word: str


def _echo_one(ctx: Context, p: Echo) -> Outcome:
    if p.word == "refused":
        raise DomainError(INVALID, "This word is refused.")
    data = {"word": p.word}
    return Outcome(result=data, events=[Event(protocol.STAGE_CHANGED, data)])


def _echo_many(calls: list[tuple[Context, Echo]]) -> list[Outcome | DomainError]:
    if any(p.word == "breaks the batch" for _, p in calls):
        raise RuntimeError("a batch handler failing as a whole")
    out: list[Outcome | DomainError] = []
    for ctx, p in calls:
        try:
            out.append(_echo_one(ctx, p))
        except DomainError as exc:
            out.append(exc)
    return out


@pytest.fixture
def echo_action() -> Iterator[str]:
    name = "test:echo"
    spec.action(name, roles={"facilitator"}, params=Echo, batch=_echo_many)(_echo_one)
    yield name
    del spec.REGISTRY[name]


def test_events_of_a_batch_are_numbered_in_order_and_a_failing_batch_is_redone_one_by_one(
    factory: Any, echo_action: str, wide_window: None
) -> None:
    user_id, _ = factory.user()
    workshop = factory.workshop(user_id)
    me = Caller("facilitator", workshop.id, user_id=user_id)
    words = ["one", "two", "refused", "three"]
    with commits() as seen:
        acks = all_at_once(
            [(me, echo_action, {"action_id": action_id(), "word": w}) for w in words]
        )
    assert len(seen) == 1
    assert error_code(acks[2]) == "invalid"
    seqs = sorted(a["seq"] for a in acks if a["ok"])
    assert seqs == list(range(seqs[0], seqs[0] + 3))  # one event each, consecutive
    with db.reader() as s:
        logged = dict(
            s.execute(
                select(EventRecord.seq, EventRecord.data).where(
                    EventRecord.workshop_id == workshop.id,
                    EventRecord.seq.in_(seqs),
                )
            ).all()
        )
    assert {a["seq"]: {"word": a["word"]} for a in acks if a["ok"]} == logged

    # A batch whose handler fails as a whole: every call is written on its own instead.
    words = ["four", "breaks the batch", "refused", "five"]
    calls = [(me, echo_action, {"action_id": action_id(), "word": w}) for w in words]
    with commits() as seen:
        acks = all_at_once(calls)
    assert len(seen) == 3  # the three calls that succeed alone, nothing of the failed batch
    assert [a["ok"] for a in acks] == [True, True, False, True]
    assert [a.get("word") for a in acks] == ["four", "breaks the batch", None, "five"]
    assert all_at_once(calls) == acks  # receipts stored once, answers repeated


# -- over real Socket.IO ------------------------------------------------------------------------


def test_phones_voting_at_once_over_socketio_are_counted_exactly(room: dict[str, Any]) -> None:
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    projector = LiveClient(base, workshop.id, "projector", key=workshop.projector_key).connect()
    phones = [
        LiveClient(base, workshop.id, "phone", join(base, workshop.code, f"P{i}", "Org", "Health"))
        for i in range(12)
    ]
    try:
        for phone in phones:
            phone.connect()
        stage = next(s for s in console.snapshots[0]["stages"] if s["type"] == "vote")
        ok(console.call("stage:goto", {"stage_id": stage["id"]}))
        poll = ok(
            console.call("poll:create", {"title": "T", "method": "consensus", "results": "live"})
        )["poll"]
        ok(console.call("poll:open", {"poll_id": poll["id"]}))
        choices = ["agree", "disagree", "abstain"]
        payloads = [
            {"action_id": action_id(), "poll_id": poll["id"], "choice": choices[i % 3]}
            for i in range(len(phones))
        ]
        sends = [(phone, payload) for phone, payload in zip(phones, payloads, strict=True)]
        sends += [(phones[0], payloads[0]), (phones[1], payloads[1])]  # double taps
        sends.append((phones[2], {**payloads[2], "action_id": action_id(), "choice": "block"}))
        acks: list[Any] = [None] * len(sends)
        start = threading.Barrier(len(sends))

        def send(index: int) -> None:
            phone, payload = sends[index]
            start.wait()
            acks[index] = phone.sio.call("poll:vote", payload, timeout=20)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(sends))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert all(a["ok"] for a in acks[:-1]), acks
        assert acks[0] == acks[12] and acks[1] == acks[13]
        assert "needs a reason" in acks[-1]["error"]["message"]
        expected = Counter(p["choice"] for p in payloads)
        want = {c: expected.get(c, 0) for c in [*choices, "block"]}
        projector.wait_for(
            lambda: any(
                t["type"] == "poll:count" and t["data"].get("tally", {}).get("counts") == want
                for t in projector.transients
            ),
            "the final count at the projector",
        )
        outcome = ok(console.call("poll:close", {"poll_id": poll["id"]}))["round"]["outcome"]
        assert outcome["turnout"] == 12 and outcome["tally"]["counts"] == want
    finally:
        for client in (console, projector, *phones):
            client.close()
