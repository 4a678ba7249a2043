"""Board actions: notes, groups and the facilitator's board controls."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from facilitator.actions.spec import (
    FACILITATOR,
    FACILITATOR_OR_PARTICIPANT,
    Context,
    NoParams,
    Params,
    action,
)
from facilitator.core import protocol
from facilitator.core.events import Outcome
from facilitator.core.limits import TokenBuckets
from facilitator.domain import board, board_controls, board_groups

BOARD = {"board"}
#: Drag positions accepted per second from one caller; more are dropped unread.
DRAG_RATE = 20

X = Annotated[float, Field(ge=0, le=board.BOARD_WIDTH)]
Y = Annotated[float, Field(ge=0, le=board.BOARD_HEIGHT)]
Colour = Literal[board.COLOURS]  # type: ignore[valid-type]
Text = Annotated[str, Field(max_length=2000)]


class NewNote(Params):
    text: Text
    colour: Colour = "yellow"
    x: X
    y: Y


@action(protocol.NOTE_CREATE, roles=FACILITATOR_OR_PARTICIPANT, params=NewNote, stage_types=BOARD)
def create_note(ctx: Context, p: NewNote) -> Outcome:
    return board.create_note(ctx.session, ctx.workshop, ctx.participant, p.text, p.colour, p.x, p.y)


class EditNote(Params):
    note_id: int
    #: The version the editor started from; a stale one is refused with the current text.
    version: int
    text: Text | None = None
    colour: Colour | None = None


@action(protocol.NOTE_EDIT, roles=FACILITATOR_OR_PARTICIPANT, params=EditNote, stage_types=BOARD)
def edit_note(ctx: Context, p: EditNote) -> Outcome:
    return board.edit_note(
        ctx.session, ctx.workshop, ctx.participant, p.note_id, p.version, p.text, p.colour
    )


class MoveNote(Params):
    note_id: int
    x: X
    y: Y
    #: Give it to put the note in a group (or null to take it out); omit to keep its group.
    group_id: int | None = None


@action(protocol.NOTE_MOVE, roles=FACILITATOR_OR_PARTICIPANT, params=MoveNote, stage_types=BOARD)
def move_note(ctx: Context, p: MoveNote) -> Outcome:
    return board.move_note(
        ctx.session,
        ctx.workshop,
        ctx.participant,
        p.note_id,
        p.x,
        p.y,
        p.group_id,
        "group_id" in p.model_fields_set,
    )


class DragNote(Params):
    note_id: int
    x: X
    y: Y


#: About 20 positions a second per caller, with a little slack for network bunching.
_drag_limit = TokenBuckets(rate=DRAG_RATE, burst=3)


@action(
    protocol.NOTE_DRAG,
    roles=FACILITATOR_OR_PARTICIPANT,
    params=DragNote,
    stage_types=BOARD,
    writes=False,
    throttle=lambda caller: _drag_limit.take(caller.actor),
)
def drag_note(ctx: Context, p: DragNote) -> Outcome:
    """Positions while dragging, passed on at a bounded rate; the drop is a note:move."""
    return board.drag_note(ctx.session, ctx.workshop, ctx.participant, p.note_id, p.x, p.y)


class NoteRef(Params):
    note_id: int


@action(protocol.NOTE_DELETE, roles=FACILITATOR_OR_PARTICIPANT, params=NoteRef, stage_types=BOARD)
def delete_note(ctx: Context, p: NoteRef) -> Outcome:
    return board.delete_note(ctx.session, ctx.workshop, ctx.participant, p.note_id)


class NewGroup(Params):
    title: Text
    x: X
    y: Y


@action(protocol.GROUP_CREATE, roles=FACILITATOR_OR_PARTICIPANT, params=NewGroup, stage_types=BOARD)
def create_group(ctx: Context, p: NewGroup) -> Outcome:
    return board_groups.create_group(ctx.session, ctx.workshop, ctx.participant, p.title, p.x, p.y)


class RenameGroup(Params):
    group_id: int
    title: Text


@action(
    protocol.GROUP_RENAME, roles=FACILITATOR_OR_PARTICIPANT, params=RenameGroup, stage_types=BOARD
)
def rename_group(ctx: Context, p: RenameGroup) -> Outcome:
    return board_groups.rename_group(
        ctx.session, ctx.workshop, ctx.participant, p.group_id, p.title
    )


class MoveGroup(Params):
    group_id: int
    x: X
    y: Y


@action(protocol.GROUP_MOVE, roles=FACILITATOR_OR_PARTICIPANT, params=MoveGroup, stage_types=BOARD)
def move_group(ctx: Context, p: MoveGroup) -> Outcome:
    return board_groups.move_group(ctx.session, ctx.workshop, ctx.participant, p.group_id, p.x, p.y)


class GroupRef(Params):
    group_id: int


@action(protocol.GROUP_DELETE, roles=FACILITATOR_OR_PARTICIPANT, params=GroupRef, stage_types=BOARD)
def delete_group(ctx: Context, p: GroupRef) -> Outcome:
    return board_groups.delete_group(ctx.session, ctx.workshop, ctx.participant, p.group_id)


class BoardSettings(Params):
    locked: bool | None = None
    private: bool | None = None
    authors: Literal[board.AUTHOR_MODES] | None = None  # type: ignore[valid-type]


@action(protocol.BOARD_SETTINGS, roles=FACILITATOR, params=BoardSettings)
def board_settings(ctx: Context, p: BoardSettings) -> Outcome:
    return board_controls.change_settings(ctx.session, ctx.workshop, p.locked, p.private, p.authors)


@action(protocol.BOARD_REVEAL, roles=FACILITATOR, params=NoParams)
def reveal(ctx: Context, p: NoParams) -> Outcome:
    return board_controls.reveal(ctx.session, ctx.workshop)


class Focus(Params):
    note_id: int | None = None
    group_id: int | None = None


@action(protocol.BOARD_FOCUS, roles=FACILITATOR, params=Focus)
def focus(ctx: Context, p: Focus) -> Outcome:
    return board_controls.focus(ctx.session, ctx.workshop, p.note_id, p.group_id)
