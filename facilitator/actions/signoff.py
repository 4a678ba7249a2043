"""Sign-off actions: freezing the plan into a version, naming each organisation's
representative, and a representative's signature."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from facilitator.actions.spec import (
    FACILITATOR,
    PARTICIPANT,
    Context,
    Params,
    action,
)
from facilitator.core import protocol
from facilitator.core.events import Outcome
from facilitator.domain import signoff

SIGNOFF_STAGE = {"signoff"}


class Freeze(Params):
    #: Freeze despite gaps (actions with no lead); recorded in the version.
    override_reason: Annotated[str, Field(max_length=2000)] = ""


@action(protocol.PLAN_FREEZE, roles=FACILITATOR, params=Freeze)
def freeze(ctx: Context, p: Freeze) -> Outcome:
    return signoff.freeze(ctx.session, ctx.workshop, p.override_reason)


class Name(Params):
    participant_id: int


@action(protocol.SIGNOFF_NAME, roles=FACILITATOR, params=Name)
def name_representative(ctx: Context, p: Name) -> Outcome:
    return signoff.name_representative(ctx.session, ctx.workshop, p.participant_id)


class Sign(Params):
    version_id: int
    decision: Literal["endorse", "endorse_with_reservations", "decline"]
    full_name: Annotated[str, Field(max_length=200)]
    title: Annotated[str, Field(max_length=200)]
    text: Annotated[str, Field(max_length=4000)] = ""


@action(protocol.SIGNOFF_SIGN, roles=PARTICIPANT, params=Sign, stage_types=SIGNOFF_STAGE)
def sign(ctx: Context, p: Sign) -> Outcome:
    return signoff.sign(
        ctx.session,
        ctx.workshop,
        ctx.person,
        p.version_id,
        p.decision,
        p.full_name,
        p.title,
        p.text,
    )
