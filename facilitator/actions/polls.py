"""Poll actions: the facilitator drafts, opens, closes and amends; participants vote."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from facilitator.actions.spec import FACILITATOR, PARTICIPANT, Context, Params, action
from facilitator.core import protocol
from facilitator.core.errors import DomainError
from facilitator.core.events import Outcome
from facilitator.domain import ballots, polls, tally

Method = Literal[tuple(tally.METHODS)]  # type: ignore[valid-type]
Results = Literal[polls.RESULTS]  # type: ignore[valid-type]
GroupBy = Literal[polls.GROUP_BY]  # type: ignore[valid-type]


class NewPoll(Params):
    title: Annotated[str, Field(max_length=1000)]
    proposal: Annotated[str, Field(max_length=5000)] = ""
    method: Method
    options: list[Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=list, max_length=60
    )
    dots: int | None = None
    stacking: bool | None = None
    scale_max: int | None = None
    rule: dict[str, Any] = Field(default_factory=dict)
    anonymous: bool = True
    results: Results = "on_close"
    #: None: the stage's setting (sector unless the kit says otherwise).
    group_by: GroupBy | None = None


def _config(p: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"options": p.options}
    for key in ("dots", "stacking", "scale_max"):
        if getattr(p, key) is not None:
            config[key] = getattr(p, key)
    return config


@action(protocol.POLL_CREATE, roles=FACILITATOR, params=NewPoll)
def create(ctx: Context, p: NewPoll) -> Outcome:
    return polls.create(
        ctx.session,
        ctx.workshop,
        p.title,
        p.proposal,
        p.method,
        _config(p),
        p.rule,
        p.anonymous,
        p.results,
        p.group_by,
    )


class Amend(Params):
    poll_id: int
    title: Annotated[str, Field(max_length=1000)] | None = None
    proposal: Annotated[str, Field(max_length=5000)] | None = None
    rule: dict[str, Any] | None = None
    anonymous: bool | None = None
    results: Results | None = None
    group_by: GroupBy | None = None


@action(protocol.POLL_AMEND, roles=FACILITATOR, params=Amend)
def amend(ctx: Context, p: Amend) -> Outcome:
    changes = p.model_dump(exclude={"poll_id"}, exclude_none=True)
    return polls.amend(ctx.session, ctx.workshop, p.poll_id, changes)


class PollRef(Params):
    poll_id: int


@action(protocol.POLL_OPEN, roles=FACILITATOR, params=PollRef)
def open_round(ctx: Context, p: PollRef) -> Outcome:
    return polls.open_round(ctx.session, ctx.workshop, p.poll_id)


@action(protocol.POLL_CLOSE, roles=FACILITATOR, params=PollRef)
def close_round(ctx: Context, p: PollRef) -> Outcome:
    return polls.close_round(ctx.session, ctx.workshop, p.poll_id)


class Vote(Params):
    poll_id: int
    #: A number, a word, {option: dots} or a ranking, as the method needs.
    choice: Any
    reason: Annotated[str, Field(max_length=2000)] = ""


def vote_many(calls: list[tuple[Context, Vote]]) -> list[Outcome | DomainError]:
    """Concurrent votes of one workshop, written together (see actions.Batcher)."""
    ctx = calls[0][0]
    cast = []
    for each, p in calls:
        cast.append((each.person, p.poll_id, p.choice, p.reason))
    return ballots.vote_many(ctx.session, ctx.workshop, cast)


@action(
    protocol.POLL_VOTE,
    roles=PARTICIPANT,
    params=Vote,
    stage_types={"vote"},
    batch=vote_many,
)
def vote(ctx: Context, p: Vote) -> Outcome:
    return ballots.vote(
        ctx.session,
        ctx.workshop,
        ctx.person,
        p.poll_id,
        p.choice,
        p.reason,
    )
