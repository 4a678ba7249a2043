"""Groups on a board: titled frames the room sorts notes into (a participant may make them
where the facilitator allows it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from facilitator.core import protocol, quotas
from facilitator.core.errors import (
    FORBIDDEN,
    DomainError,
)
from facilitator.core.events import Event, Outcome
from facilitator.core.i18n import N_
from facilitator.domain.board import (
    BOARD_HEIGHT,
    BOARD_WIDTH,
    Note,
    NoteGroup,
    check_participant_may_change,
    clean_title,
    current_board,
    get_group,
    settings,
)
from facilitator.domain.workshops import Participant, Stage, Workshop


def _check_may_group(stage: Stage, workshop: Workshop, participant: Participant | None) -> None:
    check_participant_may_change(stage, workshop, participant)
    if participant is not None and not settings(stage)["participants_group"]:
        raise DomainError(FORBIDDEN, "Only the facilitator groups notes on this board.")


def create_group(
    session: Session,
    workshop: Workshop,
    participant: Participant | None,
    title: str,
    x: float,
    y: float,
) -> Outcome:
    stage = current_board(workshop)
    _check_may_group(stage, workshop, participant)
    if participant is not None:
        quotas.check(
            session,
            NoteGroup,
            [NoteGroup.stage_id == stage.id],
            quotas.GROUPS_PER_BOARD,
            N_(
                "You have reached the limit of {limit} groups on this board. "
                "Ask the facilitator if more are needed."
            ),
        )
    group = NoteGroup(
        workshop_id=workshop.id, stage_id=stage.id, title=clean_title(title), x=x, y=y
    )
    session.add(group)
    session.flush()
    return Outcome(
        result={"group": group.as_dict()},
        events=[Event(protocol.GROUP_CREATED, {"group": group.as_dict()})],
    )


def _group_stage(workshop: Workshop, group: NoteGroup) -> Stage:
    stage = object_session(group).get(Stage, group.stage_id)  # type: ignore[union-attr]
    assert stage is not None
    return stage


def rename_group(
    session: Session,
    workshop: Workshop,
    participant: Participant | None,
    group_id: int,
    title: str,
) -> Outcome:
    group = get_group(session, workshop, group_id)
    _check_may_group(_group_stage(workshop, group), workshop, participant)
    group.title = clean_title(title)
    session.flush()
    return Outcome(
        result={"group": group.as_dict()},
        events=[Event(protocol.GROUP_UPDATED, {"group": group.as_dict()})],
    )


def move_group(
    session: Session,
    workshop: Workshop,
    participant: Participant | None,
    group_id: int,
    x: float,
    y: float,
) -> Outcome:
    """Move a group and its notes by the same offset, kept inside the board."""
    group = get_group(session, workshop, group_id)
    _check_may_group(_group_stage(workshop, group), workshop, participant)
    notes = list(session.scalars(select(Note).where(Note.group_id == group.id)))
    dx, dy = x - group.x, y - group.y
    group.x, group.y = x, y
    for note in notes:
        note.x = min(max(note.x + dx, 0.0), BOARD_WIDTH)
        note.y = min(max(note.y + dy, 0.0), BOARD_HEIGHT)
    session.flush()
    data = {
        "group": group.as_dict(),
        "notes": [{"id": n.id, "x": n.x, "y": n.y, "private": n.private} for n in notes],
    }
    return Outcome(result={"group": group.as_dict()}, events=[Event(protocol.GROUP_MOVED, data)])


def delete_group(
    session: Session, workshop: Workshop, participant: Participant | None, group_id: int
) -> Outcome:
    """Remove a group; its notes stay where they are, ungrouped."""
    group = get_group(session, workshop, group_id)
    _check_may_group(_group_stage(workshop, group), workshop, participant)
    notes = list(session.scalars(select(Note.id).where(Note.group_id == group.id)))
    session.execute(Note.__table__.update().where(Note.group_id == group.id).values(group_id=None))
    session.delete(group)
    session.flush()
    data = {"group_id": group_id, "stage_id": group.stage_id, "note_ids": notes}
    return Outcome(result=data, events=[Event(protocol.GROUP_DELETED, data)])
