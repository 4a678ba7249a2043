"""Stakeholder map actions: cards, proposals, merging, placements."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from facilitator.actions.spec import (
    FACILITATOR,
    FACILITATOR_OR_PARTICIPANT,
    PARTICIPANT,
    Context,
    Params,
    action,
)
from facilitator.core import protocol
from facilitator.core.events import Outcome, redacted_for
from facilitator.domain import placements
from facilitator.domain import stakeholders as sh

MAP = {"stakeholder_map"}
Scale = Annotated[float, Field(ge=0, le=100)]
Short = Annotated[str, Field(max_length=600)]


class AddStakeholder(Params):
    name: Short
    category: Short = ""
    sector: Short = ""
    level: Short = ""
    power: Scale | None = None
    interest: Scale | None = None


@action(
    protocol.STAKEHOLDER_ADD,
    roles=FACILITATOR_OR_PARTICIPANT,
    params=AddStakeholder,
    stage_types=MAP,
)
def add(ctx: Context, p: AddStakeholder) -> Outcome:
    """The facilitator adds a card; a participant proposes one."""
    return sh.add(
        ctx.session,
        ctx.workshop,
        ctx.participant,
        p.name,
        p.category,
        p.sector,
        p.level,
        p.power,
        p.interest,
    )


class StakeholderRef(Params):
    stakeholder_id: int


@action(protocol.STAKEHOLDER_ACCEPT, roles=FACILITATOR, params=StakeholderRef)
def accept(ctx: Context, p: StakeholderRef) -> Outcome:
    return sh.accept(ctx.session, ctx.workshop, p.stakeholder_id)


class UpdateStakeholder(Params):
    stakeholder_id: int
    version: int
    name: Short | None = None
    category: Short | None = None
    sector: Short | None = None
    level: Short | None = None
    position: Annotated[int, Field(ge=-3, le=3)] | None = None
    legitimacy: bool | None = None
    urgency: bool | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None


@action(protocol.STAKEHOLDER_UPDATE, roles=FACILITATOR, params=UpdateStakeholder)
def update(ctx: Context, p: UpdateStakeholder) -> Outcome:
    changes: dict[str, Any] = {
        k: v
        for k, v in p.model_dump(exclude={"stakeholder_id", "version"}).items()
        if v is not None
    }
    return sh.update(ctx.session, ctx.workshop, p.stakeholder_id, p.version, changes)


class Place(Params):
    stakeholder_id: int
    power: Scale
    interest: Scale


@action(protocol.STAKEHOLDER_PLACE, roles=FACILITATOR, params=Place)
def place(ctx: Context, p: Place) -> Outcome:
    return sh.place(ctx.session, ctx.workshop, p.stakeholder_id, p.power, p.interest)


class Merge(Params):
    stakeholder_id: int
    into_id: int


@action(protocol.STAKEHOLDER_MERGE, roles=FACILITATOR, params=Merge)
def merge(ctx: Context, p: Merge) -> Outcome:
    return sh.merge(ctx.session, ctx.workshop, p.stakeholder_id, p.into_id)


@action(protocol.STAKEHOLDER_REMOVE, roles=FACILITATOR, params=StakeholderRef)
def remove(ctx: Context, p: StakeholderRef) -> Outcome:
    return sh.remove(ctx.session, ctx.workshop, p.stakeholder_id)


@action(protocol.STAKEHOLDER_ADOPT, roles=FACILITATOR, params=StakeholderRef)
def adopt(ctx: Context, p: StakeholderRef) -> Outcome:
    """Move the card to where the room, by median, placed it."""
    return placements.adopt_median(ctx.session, ctx.workshop, p.stakeholder_id)


class Mode(Params):
    participatory: bool


@action(protocol.MAP_MODE, roles=FACILITATOR, params=Mode)
def mode(ctx: Context, p: Mode) -> Outcome:
    return placements.set_mode(ctx.session, ctx.workshop, p.participatory)


@action(protocol.PLACEMENT_SET, roles=PARTICIPANT, params=Place, stage_types=MAP)
def place_privately(ctx: Context, p: Place) -> Outcome:
    return placements.place_privately(
        ctx.session, ctx.workshop, ctx.person, p.stakeholder_id, p.power, p.interest
    )


@redacted_for(protocol.PLACEMENT_SUMMARY)
def _summary_for_screens(data: dict[str, Any], role: str) -> dict[str, Any]:
    """Phones do not see the room's median while they place: it would anchor them."""
    if role == "participant":
        return {"stakeholder_id": data["stakeholder_id"]}
    return data
