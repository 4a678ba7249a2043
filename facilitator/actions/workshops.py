"""Actions on a workshop as a whole: catching up, stages, participants, status."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from facilitator.actions.spec import (
    EVERY_SCREEN,
    FACILITATOR,
    PARTICIPANT,
    PROJECTOR,
    VISITOR,
    Context,
    NoParams,
    Params,
    action,
)
from facilitator.core import protocol
from facilitator.core.errors import CONFLICT, INVALID, DomainError
from facilitator.core.events import Outcome
from facilitator.domain import organisations
from facilitator.domain import workshops as ws
from facilitator.domain.voice import share_of_voice
from facilitator.live.log import events_since
from facilitator.live.snapshot import snapshot


class SyncParams(Params):
    #: The last sequence number the client has applied; omit for a snapshot.
    since: Annotated[int, Field(ge=0)] | None = None


@action(protocol.SYNC_REQUEST, roles=EVERY_SCREEN, params=SyncParams, writes=False)
def sync(ctx: Context, params: SyncParams) -> Outcome:
    """The events after ``since`` when they are few, else a snapshot."""
    if params.since is not None and params.since <= ctx.workshop.seq:
        events = events_since(ctx.session, ctx.workshop.id, params.since, ctx.caller.role)
        if events is not None:
            return Outcome(result={"events": events, "seq": ctx.workshop.seq})
    state = snapshot(ctx.session, ctx.workshop, ctx.caller.role, ctx.participant)
    return Outcome(result={"snapshot": state})


class GotoParams(Params):
    stage_id: int


@action(protocol.STAGE_GOTO, roles=FACILITATOR, params=GotoParams)
def goto(ctx: Context, params: GotoParams) -> Outcome:
    return ws.goto_stage(ctx.session, ctx.workshop, params.stage_id)


class StepParams(Params):
    #: The stage the facilitator saw as current; if it moved meanwhile, refuse.
    from_stage_id: int | None = None


def _step(ctx: Context, params: StepParams, delta: int) -> Outcome:
    if params.from_stage_id is not None and params.from_stage_id != ctx.workshop.current_stage_id:
        raise DomainError(
            CONFLICT,
            "The stage has changed meanwhile; look again before moving on.",
            current_stage_id=ctx.workshop.current_stage_id,
        )
    return ws.step_stage(ctx.session, ctx.workshop, delta)


@action(protocol.STAGE_NEXT, roles=FACILITATOR, params=StepParams)
def next_stage(ctx: Context, params: StepParams) -> Outcome:
    return _step(ctx, params, +1)


@action(protocol.STAGE_PREV, roles=FACILITATOR, params=StepParams)
def previous_stage(ctx: Context, params: StepParams) -> Outcome:
    return _step(ctx, params, -1)


class JoinParams(Params):
    name: str = Field(max_length=200)
    organisation: str = Field(max_length=200)
    sector: str = Field(max_length=200)
    email: str = Field(default="", max_length=400)


@action(protocol.PARTICIPANT_JOIN, roles=VISITOR, params=JoinParams)
def join(ctx: Context, params: JoinParams) -> Outcome:
    """Join, as one of the workshop's organisations (added, flagged, if none has the name)."""
    ws.check_joinable(ctx.workshop)
    found = organisations.for_participant(
        ctx.session, ctx.workshop, params.organisation, params.sector
    )
    org = found.result["organisation"]
    joined = ws.join(
        ctx.session, ctx.workshop, params.name, org.name, params.sector, params.email, org.id
    )
    return Outcome(result=joined.result, events=[*found.events, *joined.events])


class UpdateParams(Params):
    name: str | None = Field(default=None, max_length=200)
    organisation: str | None = Field(default=None, max_length=200)
    sector: str | None = Field(default=None, max_length=200)


@action(
    protocol.PARTICIPANT_UPDATE, roles=PARTICIPANT, params=UpdateParams, stage_types={"welcome"}
)
def update_me(ctx: Context, params: UpdateParams) -> Outcome:
    """Participants correct their own details while the workshop is being opened."""
    changes = params.model_dump(exclude_none=True)
    if not changes:
        raise DomainError(INVALID, "Nothing to change: give a name, organisation or sector.")
    events = []
    if "organisation" in changes:
        sector = changes.get("sector", ctx.person.sector)
        found = organisations.for_participant(
            ctx.session, ctx.workshop, changes["organisation"], sector
        )
        org = found.result["organisation"]
        changes["organisation"], changes["organisation_id"] = org.name, org.id
        events = found.events
    updated = ws.update_participant(ctx.session, ctx.workshop, ctx.person, changes)
    return Outcome(result=updated.result, events=[*events, *updated.events])


class RemoveParams(Params):
    participant_id: int


@action(protocol.PARTICIPANT_REMOVE, roles=FACILITATOR, params=RemoveParams)
def remove(ctx: Context, params: RemoveParams) -> Outcome:
    return ws.remove_participant(ctx.session, ctx.workshop, params.participant_id)


@action(protocol.WORKSHOP_CLOSE, roles=FACILITATOR, params=NoParams)
def close(ctx: Context, params: NoParams) -> Outcome:
    return ws.close_workshop(ctx.session, ctx.workshop)


@action(protocol.WORKSHOP_REOPEN, roles=FACILITATOR, params=NoParams)
def reopen(ctx: Context, params: NoParams) -> Outcome:
    return ws.reopen_workshop(ctx.session, ctx.workshop)


@action(protocol.VOICE_GET, roles=FACILITATOR | PROJECTOR, params=NoParams, writes=False)
def voice_get(ctx: Context, params: NoParams) -> Outcome:
    """Share of voice per organisation and sector (counts only, never choices)."""
    return Outcome(result=share_of_voice(ctx.session, ctx.workshop))


class DisplayParams(Params):
    share_of_voice: bool


@action(protocol.DISPLAY_SET, roles=FACILITATOR, params=DisplayParams)
def display_set(ctx: Context, params: DisplayParams) -> Outcome:
    """Put the share of voice on the projector, or take it off."""
    return ws.set_display(ctx.session, ctx.workshop, params.model_dump())


class LanguageParams(Params):
    language: str


@action(protocol.WORKSHOP_SET_LANGUAGE, roles=FACILITATOR, params=LanguageParams)
def set_language(ctx: Context, params: LanguageParams) -> Outcome:
    """The workshop's language: the projector's, the PDF's, and the phones' default."""
    return ws.set_language(ctx.session, ctx.workshop, params.language)
