"""Agenda actions: proposing, dot voting, ordering, time boxes, the timer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from facilitator.actions.spec import (
    FACILITATOR,
    FACILITATOR_OR_PARTICIPANT,
    PARTICIPANT,
    Context,
    NoParams,
    Params,
    action,
)
from facilitator.core import protocol
from facilitator.core.events import Outcome
from facilitator.domain import agenda

AGENDA = {"agenda"}
Minutes = Annotated[int, Field(ge=1, le=600)]


class Propose(Params):
    title: Annotated[str, Field(max_length=1000)]
    minutes: Minutes | None = None


@action(
    protocol.AGENDA_PROPOSE, roles=FACILITATOR_OR_PARTICIPANT, params=Propose, stage_types=AGENDA
)
def propose(ctx: Context, p: Propose) -> Outcome:
    return agenda.propose(ctx.session, ctx.workshop, ctx.participant, p.title, p.minutes)


class Promote(Params):
    note_id: int


@action(
    protocol.AGENDA_PROMOTE, roles=FACILITATOR_OR_PARTICIPANT, params=Promote, stage_types=AGENDA
)
def promote(ctx: Context, p: Promote) -> Outcome:
    """Turn a board note (from an earlier brainstorm) into an agenda item."""
    return agenda.promote_note(ctx.session, ctx.workshop, ctx.participant, p.note_id)


class Edit(Params):
    item_id: int
    title: Annotated[str, Field(max_length=1000)] | None = None
    minutes: Minutes | None = None


@action(protocol.AGENDA_EDIT, roles=FACILITATOR, params=Edit)
def edit(ctx: Context, p: Edit) -> Outcome:
    return agenda.edit(ctx.session, ctx.workshop, p.item_id, p.title, p.minutes)


class Remove(Params):
    item_id: int
    #: Merge into this item (a duplicate's dots move there) instead of discarding.
    into_id: int | None = None


@action(protocol.AGENDA_REMOVE, roles=FACILITATOR, params=Remove)
def remove(ctx: Context, p: Remove) -> Outcome:
    return agenda.remove(ctx.session, ctx.workshop, p.item_id, p.into_id)


class Order(Params):
    item_ids: list[int] = Field(max_length=500)


@action(protocol.AGENDA_ORDER, roles=FACILITATOR, params=Order)
def order(ctx: Context, p: Order) -> Outcome:
    return agenda.order(ctx.session, ctx.workshop, p.item_ids)


@action(protocol.AGENDA_ORDER_BY_DOTS, roles=FACILITATOR, params=NoParams)
def order_by_dots(ctx: Context, p: NoParams) -> Outcome:
    return agenda.order_by_dots(ctx.session, ctx.workshop)


class Dots(Params):
    #: {"<item id>": dots}; replaces the participant's earlier dots.
    dots: dict[
        Annotated[str, Field(pattern=r"^[0-9]{1,12}$")], Annotated[int, Field(ge=0, le=100)]
    ] = Field(max_length=200)


@action(protocol.AGENDA_DOT, roles=PARTICIPANT, params=Dots, stage_types=AGENDA)
def dot(ctx: Context, p: Dots) -> Outcome:
    dots = {int(item_id): count for item_id, count in p.dots.items()}
    return agenda.place_dots(ctx.session, ctx.workshop, ctx.person, dots)


class Configure(Params):
    dots: Annotated[int, Field(ge=1, le=20)] | None = None
    stacking: bool | None = None


@action(protocol.AGENDA_CONFIGURE, roles=FACILITATOR, params=Configure)
def configure(ctx: Context, p: Configure) -> Outcome:
    return agenda.configure(ctx.session, ctx.workshop, p.dots, p.stacking)


@action(protocol.AGENDA_REVEAL, roles=FACILITATOR, params=NoParams)
def reveal(ctx: Context, p: NoParams) -> Outcome:
    return agenda.reveal(ctx.session, ctx.workshop)


class Current(Params):
    item_id: int | None


@action(protocol.AGENDA_CURRENT, roles=FACILITATOR, params=Current)
def current(ctx: Context, p: Current) -> Outcome:
    return agenda.set_current(ctx.session, ctx.workshop, p.item_id)


class Timer(Params):
    command: Literal["start", "pause", "extend"]
    seconds: Annotated[int, Field(ge=0, le=3600)] = 0


@action(protocol.AGENDA_TIMER, roles=FACILITATOR, params=Timer)
def timer(ctx: Context, p: Timer) -> Outcome:
    return agenda.timer(ctx.session, ctx.workshop, p.command, p.seconds)
