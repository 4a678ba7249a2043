"""Action plan and sign-off actions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

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
from facilitator.core.events import Outcome
from facilitator.domain import plan

PLAN_STAGE = {"action_plan"}
FieldName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]


class Add(Params):
    #: Field name -> value; see docs/plan.md for the fields and their checks.
    fields: dict[FieldName, Any] = Field(max_length=40)


@action(protocol.PLAN_ADD, roles=FACILITATOR_OR_PARTICIPANT, params=Add, stage_types=PLAN_STAGE)
def add(ctx: Context, p: Add) -> Outcome:
    """The facilitator adds a row to the plan; a participant proposes one."""
    return plan.create(ctx.session, ctx.workshop, ctx.participant, p.fields)


class AddFrom(Params):
    kind: Literal["poll", "agenda"]
    source_id: int


@action(protocol.PLAN_ADD_FROM, roles=FACILITATOR, params=AddFrom)
def add_from(ctx: Context, p: AddFrom) -> Outcome:
    return plan.create_from(ctx.session, ctx.workshop, p.kind, p.source_id)


class Edit(Params):
    action: int
    changes: dict[FieldName, Any] = Field(min_length=1, max_length=40)
    #: The version of each changed field the editor started from.
    versions: dict[FieldName, int] = Field(max_length=40)


@action(protocol.PLAN_EDIT, roles=FACILITATOR_OR_PARTICIPANT, params=Edit, stage_types=PLAN_STAGE)
def edit(ctx: Context, p: Edit) -> Outcome:
    return plan.edit(ctx.session, ctx.workshop, ctx.participant, p.action, p.changes, p.versions)


class Ref(Params):
    action: int


@action(protocol.PLAN_ACCEPT, roles=FACILITATOR, params=Ref)
def accept(ctx: Context, p: Ref) -> Outcome:
    return plan.accept(ctx.session, ctx.workshop, p.action)


@action(protocol.PLAN_REMOVE, roles=FACILITATOR_OR_PARTICIPANT, params=Ref, stage_types=PLAN_STAGE)
def remove(ctx: Context, p: Ref) -> Outcome:
    """The facilitator removes any row; a participant withdraws their own proposal."""
    return plan.remove(ctx.session, ctx.workshop, ctx.participant, p.action)


class Offer(Params):
    action: int
    role: Literal["lead", "partner"]


@action(protocol.PLAN_OFFER, roles=PARTICIPANT, params=Offer, stage_types=PLAN_STAGE)
def offer(ctx: Context, p: Offer) -> Outcome:
    return plan.offer(ctx.session, ctx.workshop, ctx.person, p.action, p.role)


class Settle(Params):
    action: int
    organisation: Annotated[str, Field(max_length=200)]
    accept: bool


@action(protocol.PLAN_SETTLE_OFFER, roles=FACILITATOR, params=Settle)
def settle_offer(ctx: Context, p: Settle) -> Outcome:
    return plan.settle_offer(ctx.session, ctx.workshop, p.action, p.organisation, p.accept)
