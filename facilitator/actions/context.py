"""Loading what an action works with, and checking the caller may act in the workshop
now: a participant of it, not removed, the workshop open and in a stage that allows
the action."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from facilitator.actions.spec import ActionSpec, Caller, Context
from facilitator.core.errors import CLOSED, FORBIDDEN, NOT_FOUND, STAGE, DomainError
from facilitator.domain.workshops import Participant, Stage, Workshop


def load(session: Session, spec: ActionSpec, caller: Caller) -> Context:
    workshop = load_workshop(session, caller.workshop_id)
    participant = None
    if caller.role == "participant":
        participant = session.get(Participant, caller.participant_id)
    return check(session, spec, caller, workshop, participant)


def load_workshop(session: Session, workshop_id: int) -> Workshop:
    # Stages load only if the action needs them: most need just the current one.
    workshop = session.get(Workshop, workshop_id, options=[lazyload(Workshop.stages)])
    if workshop is None:
        raise DomainError(NOT_FOUND, "This workshop does not exist.")
    return workshop


def check(
    session: Session,
    spec: ActionSpec,
    caller: Caller,
    workshop: Workshop,
    participant: Participant | None,
    stage: Stage | None | Literal[False] = False,
) -> Context:
    """Check that ``caller`` may act in ``workshop`` now (``participant`` is theirs;
    ``stage`` the workshop's current stage, if the caller looked it up already)."""
    if caller.role == "participant":
        if participant is None or participant.workshop_id != workshop.id:
            raise DomainError(FORBIDDEN, "You are not a participant of this workshop.")
        if participant.removed_at is not None:
            raise DomainError(FORBIDDEN, "The facilitator removed you from this workshop.")
    if caller.role in ("participant", "visitor"):
        if spec.writes and not workshop.is_open:
            raise DomainError(CLOSED, "This workshop is closed.")
        if stage is False:
            stage = workshop.current_stage
        if spec.stage_types is not None and (stage is None or stage.type not in spec.stage_types):
            raise DomainError(
                STAGE,
                "{event} is not possible in the current stage ({stage}).",
                values={"event": spec.name, "stage": stage and stage.title},
            )
    return Context(session=session, caller=caller, workshop=workshop, participant=participant)


def load_many(
    session: Session, spec: ActionSpec, callers: list[Caller]
) -> list[Context | DomainError]:
    """:func:`load` for many callers of one workshop: the workshop once, the
    participants with one query, each caller checked as :func:`load` would."""
    if len(callers) == 1:  # a call on its own: its participant by primary key
        try:
            return [load(session, spec, callers[0])]
        except DomainError as exc:
            return [exc]
    workshop = load_workshop(session, callers[0].workshop_id)
    ids = {c.participant_id for c in callers if c.role == "participant"}
    participants: dict[int, Participant] = {}
    if ids:
        rows = session.scalars(select(Participant).where(Participant.id.in_(ids)))
        participants = {p.id: p for p in rows}
    stage = workshop.current_stage
    out: list[Context | DomainError] = []
    for caller in callers:
        participant = participants.get(caller.participant_id)  # type: ignore[arg-type]
        try:
            out.append(check(session, spec, caller, workshop, participant, stage))
        except DomainError as exc:
            out.append(exc)
    return out
