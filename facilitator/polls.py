"""Polls: proposals put to the room, in rounds, with one ballot per person per round.

Lifecycle: draft -> open -> closed, and closed -> open again for a new round
after the proposal is amended; earlier rounds stay on record with their
outcome. The method, rule and anonymity of a round are fixed when it opens.

Anonymity: in an anonymous round a ballot is keyed by an HMAC of the round
and the participant (so a person can change their ballot and cast only one),
and that key is erased when the round closes; turnout is kept apart. No
payload, export or page ever pairs a name with a choice. Results by sector
fold groups of fewer than three voters into "other" (and grow "other" until
it has three), so no choice can be read off a small group or by subtracting
groups from the total.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import protocol, tally
from .db import Base, utcnow
from .errors import CLOSED, CONFLICT, INVALID, NOT_FOUND, STAGE, DomainError
from .live import Event, refresher
from .workshops import Outcome, Participant, Workshop

DRAFT, OPEN, CLOSED_POLL = "draft", "open", "closed"
RESULTS = ("on_close", "live")
MIN_GROUP = 3
TITLE_MAX = 200
PROPOSAL_MAX = 2000
REASON_MAX = 500


_ballot_key = b""


def configure(secret_key: str) -> None:
    """Derive the key that hides who cast an anonymous ballot (not the cookie key itself)."""
    global _ballot_key
    _ballot_key = hmac.new(secret_key.encode(), b"facilitator ballots", hashlib.sha256).digest()


class Poll(Base):
    __tablename__ = "polls"
    __table_args__ = (Index("ix_polls_workshop", "workshop_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    proposal: Mapped[str] = mapped_column(String(PROPOSAL_MAX), default="")
    method: Mapped[str] = mapped_column(String(20))
    #: Options for dot and ranked votes; the scale's settings (dots, stacking, scale_max).
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    anonymous: Mapped[bool] = mapped_column(default=True)
    results: Mapped[str] = mapped_column(String(10), default="on_close")
    status: Mapped[str] = mapped_column(String(10), default=DRAFT)
    #: Number of the current (or last) round; 0 while a draft.
    round: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PollRound(Base):
    __tablename__ = "poll_rounds"
    __table_args__ = (UniqueConstraint("poll_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    number: Mapped[int]
    proposal: Mapped[str] = mapped_column(String(PROPOSAL_MAX), default="")
    #: Fixed when the round opens.
    method: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    anonymous: Mapped[bool]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    #: The tally, decision, turnout, reasons and results by sector, once closed.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Ballot(Base):
    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("round_id", "voter_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("poll_rounds.id", ondelete="CASCADE"))
    #: One ballot per person per round: the participant id (named) or an HMAC of
    #: round and participant (anonymous), erased when an anonymous round closes.
    voter_key: Mapped[str | None] = mapped_column(String(64))
    #: Only in named rounds.
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL")
    )
    #: The voter's sector, for results by stakeholder group.
    sector: Mapped[str] = mapped_column(String(60), default="")
    choice: Mapped[Any] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(REASON_MAX), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Turnout(Base):
    """Who took part in a round: kept apart from what they chose."""

    __tablename__ = "poll_turnout"
    __table_args__ = (UniqueConstraint("round_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("poll_rounds.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))


# -- views ------------------------------------------------------------------------------------


def poll_dict(poll: Poll) -> dict[str, Any]:
    return {
        "id": poll.id,
        "stage_id": poll.stage_id,
        "title": poll.title,
        "proposal": poll.proposal,
        "method": poll.method,
        "method_label": tally.METHODS[poll.method].label,
        "choices": tally.choices(poll.method, poll.config),
        "needs_reason": sorted(tally.METHODS[poll.method].needs_reason, key=str),
        "config": poll.config,
        "rule": poll.rule,
        "anonymous": poll.anonymous,
        "results": poll.results,
        "status": poll.status,
        "round": poll.round,
    }


def round_dict(item: PollRound) -> dict[str, Any]:
    return {
        "number": item.number,
        "proposal": item.proposal,
        "method": item.method,
        "rule": item.rule,
        "anonymous": item.anonymous,
        "closed": item.closed_at is not None,
        "outcome": item.outcome,
    }


# -- checks ---------------------------------------------------------------------------------


def _get(session: Session, workshop: Workshop, poll_id: int) -> Poll:
    poll = session.get(Poll, poll_id)
    if poll is None or poll.workshop_id != workshop.id:
        raise DomainError(NOT_FOUND, f"There is no poll {poll_id} in this workshop.")
    return poll


def _current_round(session: Session, poll: Poll) -> PollRound:
    item = session.scalar(
        select(PollRound).where(PollRound.poll_id == poll.id, PollRound.number == poll.round)
    )
    assert item is not None
    return item


def _clean_config(method: str, config: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if method in ("dots", "ranked"):
        options = [" ".join(str(o).split()) for o in config.get("options") or []]
        if len(options) < 2 or any(not o or len(o) > 200 for o in options):
            raise DomainError(
                INVALID, "Give at least two options of 1 to 200 characters.", field="options"
            )
        if len(options) > 30:
            raise DomainError(INVALID, "At most 30 options.", field="options")
        cleaned["options"] = options
    if method == "dots":
        dots = config.get("dots", 3)
        if not isinstance(dots, int) or isinstance(dots, bool) or not 1 <= dots <= 20:
            raise DomainError(INVALID, "Dots per person: 1 to 20.", field="dots")
        cleaned["dots"] = dots
        cleaned["stacking"] = bool(config.get("stacking", True))
    if method == "scale":
        top = config.get("scale_max", 5)
        if not isinstance(top, int) or isinstance(top, bool) or not 2 <= top <= 10:
            raise DomainError(INVALID, "A scale runs from 1 to 2…10.", field="scale_max")
        cleaned["scale_max"] = top
    return cleaned


def _text(value: str, label: str, limit: int, required: bool = False) -> str:
    cleaned = value.strip()
    if required and not cleaned:
        raise DomainError(INVALID, f"Please give the poll's {label}.", field=label)
    if len(cleaned) > limit:
        raise DomainError(
            INVALID, f"The {label} must have at most {limit} characters.", field=label
        )
    return cleaned


# -- the facilitator's operations ---------------------------------------------------------------


def create(
    session: Session,
    workshop: Workshop,
    title: str,
    proposal: str,
    method: str,
    config: dict[str, Any],
    rule: dict[str, Any],
    anonymous: bool,
    results: str,
) -> Outcome:
    stage = workshop.current_stage
    if stage is None or stage.type != "vote":
        raise DomainError(STAGE, "Create polls in a vote stage.")
    if results not in RESULTS:
        raise DomainError(INVALID, "results must be on_close or live.", field="results")
    kit_rule = (
        (stage.config or {}).get("rule", {}) if (stage.config or {}).get("method") == method else {}
    )
    poll = Poll(
        workshop_id=workshop.id,
        stage_id=stage.id,
        title=_text(title, "title", TITLE_MAX, required=True),
        proposal=_text(proposal, "proposal", PROPOSAL_MAX),
        method=method,
        config=_clean_config(method, config),
        rule=tally.check_rule(method, {**kit_rule, **rule}),
        anonymous=anonymous,
        results=results,
    )
    session.add(poll)
    session.flush()
    data = {"poll": poll_dict(poll), "rounds": []}
    return Outcome(result={"poll": poll_dict(poll)}, events=[Event(protocol.POLL_CREATED, data)])


def amend(session: Session, workshop: Workshop, poll_id: int, changes: dict[str, Any]) -> Outcome:
    """Change a poll between rounds (never while it is open)."""
    poll = _get(session, workshop, poll_id)
    if poll.status == OPEN:
        raise DomainError(
            CONFLICT, "Close the poll before changing it; the rule is fixed while it is open."
        )
    if "title" in changes:
        poll.title = _text(changes["title"], "title", TITLE_MAX, required=True)
    if "proposal" in changes:
        poll.proposal = _text(changes["proposal"], "proposal", PROPOSAL_MAX)
    if "rule" in changes:
        poll.rule = tally.check_rule(poll.method, changes["rule"])
    if "config" in changes:
        poll.config = _clean_config(poll.method, changes["config"])
    if "anonymous" in changes:
        poll.anonymous = bool(changes["anonymous"])
    if "results" in changes:
        if changes["results"] not in RESULTS:
            raise DomainError(INVALID, "results must be on_close or live.", field="results")
        poll.results = changes["results"]
    session.flush()
    data = {"poll": poll_dict(poll)}
    return Outcome(result=data, events=[Event(protocol.POLL_UPDATED, data)])


def open_round(session: Session, workshop: Workshop, poll_id: int) -> Outcome:
    poll = _get(session, workshop, poll_id)
    if poll.status == OPEN:
        raise DomainError(CONFLICT, "This poll is already open.")
    poll.round += 1
    poll.status = OPEN
    item = PollRound(
        poll_id=poll.id,
        number=poll.round,
        proposal=poll.proposal,
        method=poll.method,
        config=poll.config,
        rule=poll.rule,
        anonymous=poll.anonymous,
    )
    session.add(item)
    session.flush()
    data = {"poll": poll_dict(poll), "round": round_dict(item)}
    return Outcome(result=data, events=[Event(protocol.POLL_OPENED, data)])


def _folded_groups(ballots: list[Ballot], anonymous: bool) -> dict[str, list[Ballot]]:
    groups: dict[str, list[Ballot]] = defaultdict(list)
    for ballot in ballots:
        groups[ballot.sector or "other"].append(ballot)
    if not anonymous:
        return dict(groups)
    other = groups.pop("other", [])
    for name in [g for g, b in groups.items() if len(b) < MIN_GROUP]:
        other.extend(groups.pop(name))
    # "other" itself must not expose one or two people (nor be derivable by subtraction).
    while 0 < len(other) < MIN_GROUP and groups:
        smallest = min(groups, key=lambda g: (len(groups[g]), g))
        other.extend(groups.pop(smallest))
    if other:
        groups["other"] = other
    return dict(groups)


def close_round(session: Session, workshop: Workshop, poll_id: int) -> Outcome:
    """Close the open round: count, decide, record; erase anonymous ballot keys."""
    poll = _get(session, workshop, poll_id)
    if poll.status != OPEN:
        raise DomainError(CONFLICT, "Only an open poll can be closed.")
    item = _current_round(session, poll)
    ballots = list(
        session.scalars(select(Ballot).where(Ballot.round_id == item.id).order_by(Ballot.id))
    )
    result = tally.outcome(item.method, [b.choice for b in ballots], item.config, item.rule)
    turnout = len(session.scalars(select(Turnout.id).where(Turnout.round_id == item.id)).all())
    present = len(
        session.scalars(
            select(Participant.id).where(
                Participant.workshop_id == workshop.id, Participant.removed_at.is_(None)
            )
        ).all()
    )
    names: dict[int, str] = {}
    if not item.anonymous:
        ids = [b.participant_id for b in ballots if b.participant_id]
        names = dict(
            session.execute(
                select(Participant.id, Participant.name).where(Participant.id.in_(ids))
            ).all()
        )
    reasons = []
    for b in ballots:
        if b.reason:
            entry = {"choice": b.choice, "reason": b.reason}
            if not item.anonymous:
                entry["name"] = names.get(b.participant_id)  # named poll: on record by name
            reasons.append(entry)
    by_group = {
        name: {
            "voters": len(group),
            **tally.outcome(item.method, [b.choice for b in group], item.config, item.rule)[
                "tally"
            ],
        }
        for name, group in sorted(_folded_groups(ballots, item.anonymous).items())
    }
    item.outcome = {
        **result,
        "turnout": turnout,
        "present": present,
        "reasons": reasons,
        "by_group": by_group,
    }
    item.closed_at = utcnow()
    poll.status = CLOSED_POLL
    if item.anonymous:
        for ballot in ballots:
            ballot.voter_key = None
    session.flush()
    data = {"poll": poll_dict(poll), "round": round_dict(item)}
    return Outcome(result=data, events=[Event(protocol.POLL_CLOSED, data)])


# -- voting -----------------------------------------------------------------------------------


def voter_key(round_id: int, participant_id: int, anonymous: bool) -> str:
    if not anonymous:
        return f"p:{participant_id}"
    if not _ballot_key:
        raise RuntimeError("polls.configure() was not called")
    message = f"{round_id}:{participant_id}".encode()
    return hmac.new(_ballot_key, message, hashlib.sha256).hexdigest()


def vote(
    session: Session,
    workshop: Workshop,
    participant: Participant,
    poll_id: int,
    choice: Any,
    reason: str,
) -> Outcome:
    poll = _get(session, workshop, poll_id)
    if poll.status == DRAFT:
        raise DomainError(CLOSED, "This poll has not opened yet.")
    if poll.status == CLOSED_POLL:
        raise DomainError(CLOSED, "This poll is closed; ballots are no longer counted.")
    item = _current_round(session, poll)
    method = tally.METHODS[item.method]
    choice = method.validate(choice, item.config)
    reason = _text(reason, "reason", REASON_MAX)
    if choice in method.needs_reason and not reason:
        label = {8: "A veto", 0: "A block", "block": "A block", "object": "An objection"}
        raise DomainError(
            INVALID,
            f"{label.get(choice, 'This choice')} needs a reason the room can discuss.",
            field="reason",
        )
    key = voter_key(item.id, participant.id, item.anonymous)
    ballot = session.scalar(
        select(Ballot).where(Ballot.round_id == item.id, Ballot.voter_key == key)
    )
    changed = ballot is not None
    if ballot is None:
        ballot = Ballot(
            round_id=item.id,
            voter_key=key,
            sector=participant.sector,
            participant_id=None if item.anonymous else participant.id,
            choice=choice,
            reason=reason,
        )
        session.add(ballot)
        session.add(Turnout(round_id=item.id, participant_id=participant.id))
    else:
        ballot.choice, ballot.reason = choice, reason
    try:
        session.flush()
    except IntegrityError:
        raise DomainError(
            CONFLICT, "Your ballot was just counted; send it again to change it."
        ) from None
    return Outcome(
        result={
            "poll_id": poll.id,
            "round": item.number,
            "choice": choice,
            "reason": reason,
            "changed": changed,
        },
        refresh=[(protocol.POLL_COUNT, poll.id)],
    )


@refresher(protocol.POLL_COUNT)
def live_count(session: Session, poll_id: int) -> dict[str, Any] | None:
    """Turnout of the open round, and its running tally if results are live."""
    poll = session.get(Poll, poll_id)
    if poll is None or poll.status != OPEN:
        return None
    item = _current_round(session, poll)
    if poll.results != "live":  # hidden results: a count is all anyone may see
        turnout = session.scalar(select(func.count()).where(Ballot.round_id == item.id)) or 0
        return {"poll_id": poll.id, "round": item.number, "turnout": turnout}
    choices = list(session.scalars(select(Ballot.choice).where(Ballot.round_id == item.id)))
    return {
        "poll_id": poll.id,
        "round": item.number,
        "turnout": len(choices),
        "tally": tally.outcome(item.method, choices, item.config, item.rule)["tally"],
    }


def snapshot_part(
    session: Session, workshop: Workshop, participant: Participant | None
) -> list[dict[str, Any]]:
    polls = session.scalars(select(Poll).where(Poll.workshop_id == workshop.id).order_by(Poll.id))
    out = []
    for poll in polls:
        rounds = session.scalars(
            select(PollRound).where(PollRound.poll_id == poll.id).order_by(PollRound.number)
        ).all()
        entry: dict[str, Any] = {"poll": poll_dict(poll), "rounds": [round_dict(r) for r in rounds]}
        if poll.status == OPEN:
            entry["count"] = live_count(session, poll.id)
            if participant is not None:
                current = rounds[-1]
                key = voter_key(current.id, participant.id, current.anonymous)
                mine = session.scalar(
                    select(Ballot).where(Ballot.round_id == current.id, Ballot.voter_key == key)
                )
                entry["my_ballot"] = (
                    {"choice": mine.choice, "reason": mine.reason} if mine else None
                )
        out.append(entry)
    return out
