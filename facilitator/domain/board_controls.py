"""The facilitator's board controls: the board's settings (who may add, move and group,
how authors are shown), revealing hidden notes, and focusing the room on some notes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitator.core import protocol
from facilitator.core.errors import (
    INVALID,
    NOT_FOUND,
    DomainError,
)
from facilitator.core.events import Event, Outcome
from facilitator.domain.board import (
    AUTHOR_MODES,
    Note,
    all_notes,
    current_board,
    get_group,
    get_note,
    settings,
)
from facilitator.domain.workshops import Workshop


def change_settings(
    session: Session,
    workshop: Workshop,
    locked: bool | None,
    private: bool | None,
    authors: str | None,
) -> Outcome:
    stage = current_board(workshop)
    before = settings(stage)
    state = dict(stage.state or {})
    if locked is not None:
        state["locked"] = locked
    if private is not None:
        state["private"] = private
    if authors is not None:
        if authors not in AUTHOR_MODES:
            raise DomainError(
                INVALID,
                "authors must be one of {modes}.",
                values={"modes": ", ".join(AUTHOR_MODES)},
            )
        state["authors"] = authors
    stage.state = state
    session.flush()
    after = settings(stage)
    if after == before:
        return Outcome(result={"settings": after})
    data: dict[str, Any] = {"stage_id": stage.id, "settings": after}
    if after["authors"] != before["authors"]:
        data["notes"] = all_notes(session, stage)  # who wrote what is shown differently now
    return Outcome(result={"settings": after}, events=[Event(protocol.BOARD_CHANGED, data)])


def reveal(session: Session, workshop: Workshop) -> Outcome:
    """Show every private note to everyone at once and leave private mode."""
    stage = current_board(workshop)
    for note in session.scalars(select(Note).where(Note.stage_id == stage.id, Note.private)):
        note.private = False
    stage.state = {**(stage.state or {}), "private": False}
    session.flush()
    data = {"stage_id": stage.id, "settings": settings(stage), "notes": all_notes(session, stage)}
    return Outcome(
        result={"revealed": len(data["notes"])}, events=[Event(protocol.BOARD_CHANGED, data)]
    )


def focus(
    session: Session, workshop: Workshop, note_id: int | None, group_id: int | None
) -> Outcome:
    stage = current_board(workshop)
    if note_id is not None and group_id is not None:
        raise DomainError(INVALID, "Focus one note or one group, not both.")
    target: dict[str, Any] | None = None
    if note_id is not None:
        note, note_stage = get_note(session, workshop, note_id)
        if note_stage.id != stage.id:
            raise DomainError(
                NOT_FOUND, "There is no note {id} on this board.", values={"id": note_id}
            )
        target = {"note_id": note.id}
    elif group_id is not None:
        group = get_group(session, workshop, group_id)
        if group.stage_id != stage.id:
            raise DomainError(
                NOT_FOUND, "There is no group {id} on this board.", values={"id": group_id}
            )
        target = {"group_id": group.id}
    stage.state = {**(stage.state or {}), "focus": target}
    session.flush()
    data = {"stage_id": stage.id, "settings": settings(stage)}
    return Outcome(result={"focus": target}, events=[Event(protocol.BOARD_CHANGED, data)])
