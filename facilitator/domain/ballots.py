"""Ballots: casting one in a poll's open round (many phones at once are one batch of
statements), and what each screen sees of the polls: the shared part of the snapshot,
the live count where results are live, and a participant's own ballot.

Anonymity is as :mod:`facilitator.domain.polls` describes: the voter key of an anonymous
round is an HMAC (:func:`~facilitator.domain.polls.voter_key`), erased when the round closes."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import (
    Text,
    bindparam,
    cast,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facilitator.core import protocol
from facilitator.core.db import utcnow
from facilitator.core.errors import CLOSED, CONFLICT, INVALID, NOT_FOUND, DomainError
from facilitator.core.events import Outcome, refresher
from facilitator.core.text import clean_text
from facilitator.domain import tally
from facilitator.domain.polls import (
    CLOSED_POLL,
    DRAFT,
    OPEN,
    REASON_MAX,
    Ballot,
    Poll,
    PollRound,
    Turnout,
    poll_dict,
    round_dict,
    voter_key,
)
from facilitator.domain.workshops import Participant, Workshop


def vote(
    session: Session,
    workshop: Workshop,
    participant: Participant,
    poll_id: int,
    choice: Any,
    reason: str,
) -> Outcome:
    """Cast or change ``participant``'s ballot in the open round of a poll."""
    (answer,) = vote_many(session, workshop, [(participant, poll_id, choice, reason)])
    if isinstance(answer, DomainError):
        raise answer
    return answer


_polls, _rounds, _ballots = Poll.__table__, PollRound.__table__, Ballot.__table__


_turnout = Turnout.__table__


# Core statements on the tables, built once: a batch of ballots is one executemany each.
_VOTING_ROUND = (
    select(
        _polls.c.workshop_id,
        _polls.c.status,
        _polls.c.group_by,
        _rounds.c.id,
        _rounds.c.number,
        _rounds.c.method,
        _rounds.c.config,
        _rounds.c.anonymous,
    )
    .select_from(_polls)
    .outerjoin(_rounds, (_rounds.c.poll_id == _polls.c.id) & (_rounds.c.number == _polls.c.round))
    .where(_polls.c.id == bindparam("pid"))
)


_FIND_BALLOTS = select(_ballots.c.voter_key).where(
    _ballots.c.round_id == bindparam("rid"),
    _ballots.c.voter_key.in_(bindparam("keys", expanding=True)),
)


_INSERT_BALLOTS = insert(_ballots)


_UPDATE_BALLOTS = (
    update(_ballots)
    .where(_ballots.c.round_id == bindparam("b_round"), _ballots.c.voter_key == bindparam("b_key"))
    .values(choice=bindparam("b_choice"), reason=bindparam("b_reason"))
)


_INSERT_TURNOUT = insert(_turnout)


def _voting_round(session: Session, workshop: Workshop, poll_id: int) -> Any:
    """The open round of a poll of ``workshop`` (a row: id, number, method, config,
    anonymous, and the poll's group_by), or the DomainError saying why there is none."""
    row = session.execute(_VOTING_ROUND, {"pid": poll_id}).first()
    if row is None or row.workshop_id != workshop.id:
        raise DomainError(
            NOT_FOUND, "There is no poll {id} in this workshop.", values={"id": poll_id}
        )
    if row.status == DRAFT:
        raise DomainError(CLOSED, "This poll has not opened yet.")
    if row.status == CLOSED_POLL:
        raise DomainError(CLOSED, "This poll is closed; ballots are no longer counted.")
    assert row.id is not None
    return row


def _check_ballot(item: Any, choice: Any, reason: str) -> tuple[Any, str]:
    """The ballot as it will be stored, or the DomainError saying what is wrong."""
    method = tally.METHODS[item.method]
    try:
        choice = method.validate(choice, item.config)
    except (TypeError, ValueError):  # an object or a list where a word or number belongs
        raise DomainError(INVALID, "This choice does not fit the poll.", field="choice") from None
    reason = clean_text(reason, "reason", REASON_MAX, one_line=False)
    needs_reason = not isinstance(choice, dict | list) and choice in method.needs_reason
    if needs_reason and not reason:
        kind = {8: "veto", 0: "block", "block": "block", "object": "objection"}.get(choice)
        if kind == "veto":
            raise DomainError(
                INVALID, "A veto needs a reason the room can discuss.", field="reason"
            )
        if kind == "block":
            raise DomainError(
                INVALID, "A block needs a reason the room can discuss.", field="reason"
            )
        if kind == "objection":
            raise DomainError(
                INVALID, "An objection needs a reason the room can discuss.", field="reason"
            )
        raise DomainError(
            INVALID, "This choice needs a reason the room can discuss.", field="reason"
        )
    return choice, reason


def vote_many(
    session: Session,
    workshop: Workshop,
    ballots: list[tuple[Participant, int, Any, str]],
) -> list[Outcome | DomainError]:
    """Cast or change many ballots (participant, poll id, choice, reason) at once.

    The answer for each is what :func:`vote` alone would give, in order: a
    later ballot of the same person replaces an earlier one (``changed``). A
    refused ballot writes nothing; the others are written with one statement of
    each kind. The caller holds the workshop's lock, so no ballot is written
    between the look-up of existing ballots and the writes.
    """
    answers: list[Outcome | DomainError | None] = [None] * len(ballots)
    rounds: dict[int, Any] = {}  # poll id -> its open round, or why there is none
    accepted: list[tuple[int, Participant, int, Any, Any, str, str]] = []
    for index, (participant, poll_id, choice, reason) in enumerate(ballots):
        if poll_id not in rounds:
            try:
                rounds[poll_id] = _voting_round(session, workshop, poll_id)
            except DomainError as exc:
                rounds[poll_id] = exc
        item = rounds[poll_id]
        if isinstance(item, DomainError):
            answers[index] = item
            continue
        try:
            choice, reason = _check_ballot(item, choice, reason)
        except DomainError as exc:
            answers[index] = exc
            continue
        key = voter_key(item.id, participant.id, item.anonymous)
        accepted.append((index, participant, poll_id, item, choice, reason, key))
    # Which of these people already voted in the round: one query per round.
    existing: set[tuple[int, str]] = set()
    keys_by_round: dict[int, set[str]] = defaultdict(set)
    for _, _, _, item, _, _, key in accepted:
        keys_by_round[item.id].add(key)
    for round_id, keys in keys_by_round.items():
        found_keys = session.scalars(_FIND_BALLOTS, {"rid": round_id, "keys": sorted(keys)})
        existing.update((round_id, k) for k in found_keys)
    inserts: dict[tuple[int, str], dict[str, Any]] = {}
    updates: dict[tuple[int, str], dict[str, Any]] = {}
    turnout: list[dict[str, Any]] = []
    now = utcnow()
    for index, participant, poll_id, item, choice, reason, key in accepted:
        slot = (item.id, key)
        changed = slot in existing or slot in inserts
        if slot in inserts:  # twice in this batch: the later ballot counts
            inserts[slot].update(choice=choice, reason=reason)
        elif slot in existing:
            updates[slot] = {
                "b_round": item.id,
                "b_key": key,
                "b_choice": choice,
                "b_reason": reason,
            }
        else:
            inserts[slot] = {
                "round_id": item.id,
                "voter_key": key,
                "participant_id": None if item.anonymous else participant.id,
                "sector": participant.sector,
                "organisation": (
                    participant.organisation if item.group_by == "organisation" else ""
                ),
                "choice": choice,
                "reason": reason,
                "updated_at": now,
            }
            turnout.append({"round_id": item.id, "participant_id": participant.id})
        answers[index] = Outcome(
            result={
                "poll_id": poll_id,
                "round": item.number,
                "choice": choice,
                "reason": reason,
                "changed": changed,
            },
            refresh=[(protocol.POLL_COUNT, poll_id)],
        )
    try:
        if inserts:
            session.execute(_INSERT_BALLOTS, list(inserts.values()))
            session.execute(_INSERT_TURNOUT, turnout)
        if updates:
            session.execute(_UPDATE_BALLOTS, list(updates.values()))
    except IntegrityError:
        raise DomainError(
            CONFLICT, "Your ballot was just counted; send it again to change it."
        ) from None
    assert all(a is not None for a in answers)
    return answers  # type: ignore[return-value]


# Core statements, built once: a snapshot or a count runs them for every screen.
_WORKSHOP_POLLS = (
    select(_polls).where(_polls.c.workshop_id == bindparam("wid")).order_by(_polls.c.id)
)


_WORKSHOP_ROUNDS = (
    select(_rounds)
    .join(_polls, _polls.c.id == _rounds.c.poll_id)
    .where(_polls.c.workshop_id == bindparam("wid"))
    .order_by(_rounds.c.poll_id, _rounds.c.number)
)


_COUNTED_ROUND = (
    select(
        _polls.c.status,
        _polls.c.results,
        _rounds.c.id,
        _rounds.c.number,
        _rounds.c.method,
        _rounds.c.config,
        _rounds.c.rule,
    )
    .join(
        _rounds,
        (_rounds.c.poll_id == _polls.c.id) & (_rounds.c.number == _polls.c.round),
    )
    .where(_polls.c.id == bindparam("pid"))
)


_TURNOUT = select(func.count()).select_from(_ballots).where(_ballots.c.round_id == bindparam("rid"))


# Ballots grouped by their stored JSON text: a few rows to decode, not one per voter.
# (PostgreSQL cannot group by json, it can by its text; equal dicts written with
# their keys in another order land in two groups, and both count.)
_CHOICE_TEXT = cast(_ballots.c.choice, Text)


_CHOICES = (
    select(_CHOICE_TEXT, func.count())
    .where(_ballots.c.round_id == bindparam("rid"))
    .group_by(_CHOICE_TEXT)
)


_MY_BALLOT = select(_ballots.c.choice, _ballots.c.reason).where(
    _ballots.c.round_id == bindparam("rid"), _ballots.c.voter_key == bindparam("key")
)


@refresher(protocol.POLL_COUNT)
def live_count(session: Session, poll_id: int) -> dict[str, Any] | None:
    """Turnout of the open round, and its running tally if results are live."""
    row = session.execute(_COUNTED_ROUND, {"pid": poll_id}).first()
    if row is None or row.status != OPEN:
        return None
    return _count(session, poll_id, row.results, row)


def _count(session: Session, poll_id: int, results: str, item: Any) -> dict[str, Any]:
    """The count of round ``item`` (a row with id, number, method, config and rule)."""
    if results != "live":  # hidden results: a count is all anyone may see
        turnout = session.execute(_TURNOUT, {"rid": item.id}).scalar() or 0
        return {"poll_id": poll_id, "round": item.number, "turnout": turnout}
    choices: list[Any] = []
    for text, times in session.execute(_CHOICES, {"rid": item.id}):
        choices += [json.loads(text)] * times  # the tallies only read ballots, in any order
    return {
        "poll_id": poll_id,
        "round": item.number,
        "turnout": len(choices),
        "tally": tally.outcome(item.method, choices, item.config, item.rule)["tally"],
    }


def shared_part(session: Session, workshop: Workshop) -> dict[str, Any]:
    """Every poll with its rounds, and the running count of an open one, as every
    screen sees them (read-only); ``open`` keeps the open rounds (index -> round id,
    anonymous) for the personal part. The count changes without an event: it is a
    derived view (``poll:count``), sent again to a screen that got an older one."""
    rounds: dict[int, list[Any]] = defaultdict(list)
    for item in session.execute(_WORKSHOP_ROUNDS, {"wid": workshop.id}):
        rounds[item.poll_id].append(item)
    entries: list[dict[str, Any]] = []
    open_rounds: dict[int, tuple[int, bool]] = {}
    for poll in session.execute(_WORKSHOP_POLLS, {"wid": workshop.id}):
        mine = rounds[poll.id]
        entry: dict[str, Any] = {"poll": poll_dict(poll), "rounds": [round_dict(r) for r in mine]}
        if poll.status == OPEN:
            current = mine[-1]
            entry["count"] = _count(session, poll.id, poll.results, current)
            open_rounds[len(entries)] = (current.id, current.anonymous)
        entries.append(entry)
    return {"entries": entries, "open": open_rounds}


def personal_part(
    shared: dict[str, Any], session: Session, participant: Participant | None
) -> list[dict[str, Any]]:
    """The polls for one screen: a participant also gets their ballot in an open round."""
    entries: list[dict[str, Any]] = shared["entries"]
    if participant is None:
        return entries
    out = list(entries)
    for index, (round_id, anonymous) in shared["open"].items():
        key = voter_key(round_id, participant.id, anonymous)
        ballot = session.execute(_MY_BALLOT, {"rid": round_id, "key": key}).first()
        mine = {"choice": ballot.choice, "reason": ballot.reason} if ballot else None
        out[index] = {**entries[index], "my_ballot": mine}
    return out
