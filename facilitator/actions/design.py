"""Session design actions: the facilitator shapes the programme of a workshop."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from facilitator.actions.spec import FACILITATOR, Context, NoParams, Params, action
from facilitator.core import protocol
from facilitator.core.events import Outcome
from facilitator.domain import design
from facilitator.domain.stage_configs import STAGE_TYPES
from facilitator.domain.workshops import start_workshop

StageType = Literal[STAGE_TYPES]  # type: ignore[valid-type]


class AddStage(Params):
    type: StageType
    title: Annotated[str, Field(max_length=200)]
    minutes: int = 15
    #: Insert after this stage; at the end when absent.
    after_stage_id: int | None = None


@action(protocol.STAGE_ADD, roles=FACILITATOR, params=AddStage)
def add(ctx: Context, p: AddStage) -> Outcome:
    return design.add_stage(ctx.session, ctx.workshop, p.type, p.title, p.minutes, p.after_stage_id)


class EditStage(Params):
    stage_id: int
    title: Annotated[str, Field(max_length=200)] | None = None
    prompt: Annotated[str, Field(max_length=4000)] | None = None
    minutes: int | None = None
    #: The stage type's settings (docs/kits.md); replaces the current ones.
    config: dict[str, Any] | None = None


@action(protocol.STAGE_EDIT, roles=FACILITATOR, params=EditStage)
def edit(ctx: Context, p: EditStage) -> Outcome:
    changes = p.model_dump(exclude={"stage_id"}, exclude_none=True)
    return design.edit_stage(ctx.session, ctx.workshop, p.stage_id, changes)


class MoveStage(Params):
    stage_id: int
    #: The new place, 0 for first.
    position: int


@action(protocol.STAGE_MOVE, roles=FACILITATOR, params=MoveStage)
def move(ctx: Context, p: MoveStage) -> Outcome:
    return design.move_stage(ctx.session, ctx.workshop, p.stage_id, p.position)


class StageRef(Params):
    stage_id: int


@action(protocol.STAGE_DUPLICATE, roles=FACILITATOR, params=StageRef)
def duplicate(ctx: Context, p: StageRef) -> Outcome:
    return design.duplicate_stage(ctx.session, ctx.workshop, p.stage_id)


@action(protocol.STAGE_REMOVE, roles=FACILITATOR, params=StageRef)
def remove(ctx: Context, p: StageRef) -> Outcome:
    return design.remove_stage(ctx.session, ctx.workshop, p.stage_id)


class Schedule(Params):
    #: "HH:MM", or "" for no clock times.
    starts_at: Annotated[str, Field(max_length=5)] | None = None
    #: Fit the time boxes to this total, in proportion.
    total_minutes: int | None = None


@action(protocol.WORKSHOP_SCHEDULE, roles=FACILITATOR, params=Schedule)
def schedule(ctx: Context, p: Schedule) -> Outcome:
    return design.set_schedule(ctx.session, ctx.workshop, p.starts_at, p.total_minutes)


@action(protocol.WORKSHOP_START, roles=FACILITATOR, params=NoParams)
def start(ctx: Context, p: NoParams) -> Outcome:
    """Open a draft workshop to participants."""
    return start_workshop(ctx.session, ctx.workshop)
