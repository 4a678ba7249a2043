"""Polls: proposals put to the room, in rounds, with one ballot per person per round.

Lifecycle: draft -> open -> closed, and closed -> open again for a new round
after the proposal is amended; earlier rounds stay on record with their
outcome. The method, rule and anonymity of a round are fixed when it opens.

Anonymity: in an anonymous round a ballot is keyed by an HMAC of the round
and the participant (so a person can change their ballot and cast only one),
and that key is erased when the round closes; turnout is kept apart. No
payload, export or page ever pairs a name with a choice. Results by sector
or by organisation (the poll's ``group_by``) fold groups of fewer than three
voters into "other" (and grow "other" until it has three), so no choice can be
read off a small group or by subtracting groups from the total. A ballot keeps
the voter's organisation only when its round groups by organisation.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from facilitator.core import protocol
from facilitator.core.db import Base, utcnow
from facilitator.core.errors import CONFLICT, INVALID, NOT_FOUND, STAGE, DomainError
from facilitator.core.events import Event, Outcome
from facilitator.core.i18n import N_
from facilitator.core.text import clean_text, name_key
from facilitator.domain import tally
from facilitator.domain.stage_configs import GROUP_BY
from facilitator.domain.workshops import ORGANISATION_MAX, Participant, Workshop

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
    #: Results by the voter's "sector", "organisation", or "none" (fixed while open).
    group_by: Mapped[str] = mapped_column(String(20), default="sector")
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
    #: The tally, decision, turnout, reasons and results by group, once closed.
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
    #: The voter's organisation, kept only when the round groups results by it.
    organisation: Mapped[str] = mapped_column(String(ORGANISATION_MAX), default="")
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


def poll_dict(poll: Poll | Any) -> dict[str, Any]:
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
        "group_by": poll.group_by,
        "status": poll.status,
        "round": poll.round,
    }


def round_dict(item: PollRound | Any) -> dict[str, Any]:
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
        raise DomainError(
            NOT_FOUND, "There is no poll {id} in this workshop.", values={"id": poll_id}
        )
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


def _group_by(value: str) -> str:
    if value not in GROUP_BY:
        raise DomainError(
            INVALID,
            "group_by must be one of {choices}.",
            values={"choices": ", ".join(GROUP_BY)},
            field="group_by",
        )
    return value


def _text(value: str, label: str, limit: int, required: bool = False) -> str:
    missing = N_("Please give the poll's {field}.") if required else None
    return clean_text(value, label, limit, one_line=False, missing=missing)


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
    group_by: str | None = None,
) -> Outcome:
    """A draft poll in the current vote stage; ``group_by`` defaults to the stage's."""
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
        group_by=_group_by(group_by or (stage.config or {}).get("group_by", "sector")),
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
    if "group_by" in changes:
        poll.group_by = _group_by(changes["group_by"])
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


def _folded_groups(
    ballots: list[Ballot], anonymous: bool, group_by: str
) -> dict[str, list[Ballot]]:
    """Ballots by the voter's sector or organisation (names matched without regard to
    case and spacing, shown as first written), small groups folded if anonymous."""
    if group_by == "none":
        return {}
    groups: dict[str, list[Ballot]] = defaultdict(list)
    names: dict[str, str] = {}
    for ballot in ballots:
        value = ballot.organisation if group_by == "organisation" else ballot.sector
        written = " ".join(value.split())
        key = name_key(written) or "other"
        name = "other" if key == "other" else names.setdefault(key, written)
        groups[name].append(ballot)
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
        for name, group in sorted(_folded_groups(ballots, item.anonymous, poll.group_by).items())
    }
    item.outcome = {
        **result,
        "turnout": turnout,
        "present": present,
        "reasons": reasons,
        "group_by": poll.group_by,
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


# -- the key of a ballot ------------------------------------------------------------------------


def voter_key(round_id: int, participant_id: int, anonymous: bool) -> str:
    if not anonymous:
        return f"p:{participant_id}"
    if not _ballot_key:
        raise RuntimeError("polls.configure() was not called")
    message = f"{round_id}:{participant_id}".encode()
    return hmac.digest(_ballot_key, message, "sha256").hex()  # = hmac.new(...).hexdigest()
