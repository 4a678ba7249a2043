"""The board: sticky notes and groups on a stage of type ``board``.

Notes live on a fixed logical canvas (``BOARD_WIDTH`` x ``BOARD_HEIGHT``);
screens scale it. Text edits carry the version the editor saw, so two people
editing one note never silently overwrite each other; moves need no version:
the last committed position wins everywhere.

What each screen may see of a note depends on the board's settings at the
time: private notes (private mode, not yet revealed) are visible only to their
author and the facilitator, and authors are shown, hidden on the projector, or
kept from everyone (anonymous). :func:`note_view` applies those rules to
snapshots and to every event that carries notes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from facilitator.core import protocol, quotas
from facilitator.core.db import Base, utcnow
from facilitator.core.errors import (
    CONFLICT,
    FORBIDDEN,
    INVALID,
    LOCKED,
    NOT_FOUND,
    STAGE,
    DomainError,
)
from facilitator.core.events import Event, Outcome, redacted_for
from facilitator.core.i18n import N_
from facilitator.core.text import clean_text
from facilitator.domain.workshops import Participant, Stage, Workshop

BOARD_WIDTH = 1200
BOARD_HEIGHT = 750
NOTE_MAX = 280
GROUP_TITLE_MAX = 80
COLOURS = ("yellow", "pink", "blue", "green", "orange", "purple")
AUTHOR_MODES = ("show", "hide_projector", "anonymous")


class Note(Base):
    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_stage", "stage_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"))
    #: The participant who wrote it; None for the facilitator's notes.
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(String(NOTE_MAX))
    colour: Mapped[str] = mapped_column(String(16), default="yellow")
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("note_groups.id", ondelete="SET NULL"))
    #: Increments with every change of text or colour; edits must name the one they saw.
    version: Mapped[int] = mapped_column(default=1)
    #: Written in private mode and not revealed yet: only author and facilitator see it.
    private: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoteGroup(Base):
    __tablename__ = "note_groups"
    __table_args__ = (Index("ix_note_groups_stage", "stage_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(GROUP_TITLE_MAX))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stage_id": self.stage_id,
            "title": self.title,
            "x": self.x,
            "y": self.y,
        }


# -- settings and visibility ------------------------------------------------------


def settings(stage: Stage) -> dict[str, Any]:
    """The board's live settings: the facilitator's changes over the kit's defaults."""
    config, state = stage.config or {}, stage.state or {}
    return {
        "locked": bool(state.get("locked", False)),
        "private": bool(state.get("private", config.get("private", False))),
        "authors": state.get("authors", config.get("authors", "show")),
        "participants_group": bool(config.get("participants_group", False)),
        "focus": state.get("focus"),
    }


def note_dict(note: Note, stage: Stage, author: str | None) -> dict[str, Any]:
    """A note with everything in it; :func:`note_view` cuts it down for each role."""
    return {
        "id": note.id,
        "stage_id": note.stage_id,
        "text": note.text,
        "colour": note.colour,
        "x": note.x,
        "y": note.y,
        "group_id": note.group_id,
        "version": note.version,
        "private": note.private,
        "author_id": note.author_id,
        "author": author,
        "authors": settings(stage)["authors"],
    }


def note_view(note: dict[str, Any], role: str, viewer: int | None = None) -> dict[str, Any]:
    """``note`` as ``role`` may see it; ``viewer`` is the participant looking, if any."""
    mine = viewer is not None and note.get("author_id") == viewer
    if note.get("private") and role != "facilitator" and not mine:
        return {"id": note["id"], "stage_id": note["stage_id"], "private": True}
    shown = dict(note)
    mode = note.get("authors", "show")
    if mode == "anonymous" or (mode == "hide_projector" and role == "projector"):
        shown["author"] = None
    if role != "facilitator" or mode == "anonymous":
        shown.pop("author_id", None)
    if viewer is not None:
        shown["mine"] = mine
    return shown


@redacted_for(protocol.NOTE_CREATED)
@redacted_for(protocol.NOTE_UPDATED)
def _note_event_view(data: dict[str, Any], role: str) -> dict[str, Any]:
    return {**data, "note": note_view(data["note"], role)}


@redacted_for(protocol.NOTE_MOVED)
def _moved_view(data: dict[str, Any], role: str) -> dict[str, Any]:
    if data.get("private") and role != "facilitator":
        return {"note_id": data["note_id"], "stage_id": data["stage_id"], "private": True}
    return data


@redacted_for(protocol.BOARD_CHANGED)
def _board_view(data: dict[str, Any], role: str) -> dict[str, Any]:
    if "notes" not in data:
        return data
    return {**data, "notes": [note_view(n, role) for n in data["notes"]]}


@redacted_for(protocol.GROUP_MOVED)
def _group_moved_view(data: dict[str, Any], role: str) -> dict[str, Any]:
    # Positions of private notes are not given away by moving their group.
    if role == "facilitator":
        return data
    return {**data, "notes": [n for n in data["notes"] if not n["private"]]}


# -- loading and checks -----------------------------------------------------------


def current_board(workshop: Workshop) -> Stage:
    stage = workshop.current_stage
    if stage is None or stage.type != "board":
        raise DomainError(STAGE, "The current stage has no board.")
    return stage


def author_names(session: Session, notes: list[Note]) -> dict[int, str]:
    ids = {n.author_id for n in notes if n.author_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(Participant.id, Participant.name).where(Participant.id.in_(ids)))
    return dict(rows.all())


def _full(session: Session, note: Note, stage: Stage) -> dict[str, Any]:
    names = author_names(session, [note])
    author = names.get(note.author_id) if note.author_id else "Facilitator"
    return note_dict(note, stage, author)


def get_note(session: Session, workshop: Workshop, note_id: int) -> tuple[Note, Stage]:
    note = session.get(Note, note_id)
    if note is None or note.workshop_id != workshop.id:
        raise DomainError(NOT_FOUND, "There is no note {id} on this board.", values={"id": note_id})
    stage = session.get(Stage, note.stage_id)
    assert stage is not None
    return note, stage


def get_group(session: Session, workshop: Workshop, group_id: int) -> NoteGroup:
    group = session.get(NoteGroup, group_id)
    if group is None or group.workshop_id != workshop.id:
        raise DomainError(
            NOT_FOUND, "There is no group {id} on this board.", values={"id": group_id}
        )
    return group


def check_participant_may_change(
    stage: Stage, workshop: Workshop, participant: Participant | None
) -> None:
    """Participants change only the current, unlocked board; the facilitator any board."""
    if participant is None:
        return
    if workshop.current_stage_id != stage.id:
        raise DomainError(STAGE, "This board is not the current stage any more.")
    if settings(stage)["locked"]:
        raise DomainError(LOCKED, "The facilitator has locked the board.")


def _check_owner(note: Note, participant: Participant | None) -> None:
    if participant is not None and note.author_id != participant.id:
        raise DomainError(FORBIDDEN, "You can change only your own notes.")


def _clean_text(text: str) -> str:
    return clean_text(
        text,
        "text",
        NOTE_MAX,
        one_line=False,
        missing=N_("A note needs some text."),
        too_long=N_("A note has at most {max} characters ({given} given)."),
    )


def clean_title(title: str) -> str:
    refusal = N_("A group title has 1 to {max} characters.")
    return clean_text(title, "title", GROUP_TITLE_MAX, missing=refusal, too_long=refusal)


# -- notes --------------------------------------------------------------------------------


def _note_outcome(
    session: Session, note: Note, stage: Stage, participant: Participant | None, event_type: str
) -> Outcome:
    """The whole note in the event (cut per role when sent); the sender's view in the ack."""
    full = _full(session, note, stage)
    viewer = participant.id if participant else None
    role = "participant" if participant else "facilitator"
    return Outcome(
        result={"note": note_view(full, role, viewer)},
        events=[Event(event_type, {"note": full})],
    )


def create_note(
    session: Session,
    workshop: Workshop,
    participant: Participant | None,
    text: str,
    colour: str,
    x: float,
    y: float,
) -> Outcome:
    stage = current_board(workshop)
    check_participant_may_change(stage, workshop, participant)
    if participant is not None:
        quotas.check(
            session,
            Note,
            [Note.stage_id == stage.id, Note.author_id == participant.id],
            quotas.NOTES_PER_PARTICIPANT,
            N_(
                "You have reached the limit of {limit} notes on this board. "
                "Ask the facilitator if more are needed."
            ),
        )
    note = Note(
        workshop_id=workshop.id,
        stage_id=stage.id,
        author_id=participant.id if participant else None,
        text=_clean_text(text),
        colour=colour,
        x=x,
        y=y,
        private=participant is not None and settings(stage)["private"],
    )
    session.add(note)
    session.flush()
    return _note_outcome(session, note, stage, participant, protocol.NOTE_CREATED)


def edit_note(
    session: Session,
    workshop: Workshop,
    participant: Participant | None,
    note_id: int,
    version: int,
    text: str | None,
    colour: str | None,
) -> Outcome:
    note, stage = get_note(session, workshop, note_id)
    check_participant_may_change(stage, workshop, participant)
    _check_owner(note, participant)
    if note.version != version:
        raise DomainError(
            CONFLICT,
            "Someone changed this note while you were editing it. Here is the current text.",
            note_id=note.id,
            version=note.version,
            text=note.text,
            colour=note.colour,
        )
    if text is None and colour is None:
        raise DomainError(INVALID, "Nothing to change: give a text or a colour.")
    if text is not None:
        note.text = _clean_text(text)
    if colour is not None:
        note.colour = colour
    note.version += 1
    session.flush()
    return _note_outcome(session, note, stage, participant, protocol.NOTE_UPDATED)


def move_note(
    session: Session,
    workshop: Workshop,
    participant: Participant | None,
    note_id: int,
    x: float,
    y: float,
    group_id: int | None,
    set_group: bool,
) -> Outcome:
    note, stage = get_note(session, workshop, note_id)
    check_participant_may_change(stage, workshop, participant)
    _check_owner(note, participant)
    if set_group:
        if group_id is not None:
            group = get_group(session, workshop, group_id)
            if group.stage_id != stage.id:
                raise DomainError(
                    NOT_FOUND, "There is no group {id} on this board.", values={"id": group_id}
                )
            if participant is not None and not settings(stage)["participants_group"]:
                raise DomainError(FORBIDDEN, "Only the facilitator groups notes on this board.")
        note.group_id = group_id
    note.x, note.y = x, y
    session.flush()
    data = {
        "note_id": note.id,
        "stage_id": stage.id,
        "x": x,
        "y": y,
        "group_id": note.group_id,
        "private": note.private,
    }
    return Outcome(
        result={"note_id": note.id, "x": x, "y": y, "group_id": note.group_id},
        events=[Event(protocol.NOTE_MOVED, data)],
    )


def drag_note(
    session: Session,
    workshop: Workshop,
    participant: Participant | None,
    note_id: int,
    x: float,
    y: float,
) -> Outcome:
    """A position while dragging: checked like a move, passed on, never stored."""
    note, stage = get_note(session, workshop, note_id)
    check_participant_may_change(stage, workshop, participant)
    _check_owner(note, participant)
    if note.private:
        return Outcome(result={"note_id": note.id})
    data = {"note_id": note.id, "stage_id": stage.id, "x": x, "y": y}
    return Outcome(result={"note_id": note.id}, transient=[Event(protocol.NOTE_DRAGGING, data)])


def delete_note(
    session: Session, workshop: Workshop, participant: Participant | None, note_id: int
) -> Outcome:
    note, stage = get_note(session, workshop, note_id)
    check_participant_may_change(stage, workshop, participant)
    _check_owner(note, participant)
    session.delete(note)
    session.flush()
    data = {"note_id": note_id, "stage_id": stage.id}
    return Outcome(result=data, events=[Event(protocol.NOTE_DELETED, data)])


def all_notes(session: Session, stage: Stage) -> list[dict[str, Any]]:
    notes = list(session.scalars(select(Note).where(Note.stage_id == stage.id).order_by(Note.id)))
    names = author_names(session, notes)
    return [
        note_dict(n, stage, names.get(n.author_id) if n.author_id else "Facilitator") for n in notes
    ]


# -- snapshot part ------------------------------------------------------------------------


def boards_shared(session: Session, workshop: Workshop) -> dict[str, Any]:
    """Every board of the workshop as stored: the part of a snapshot that is the same
    for every screen (read-only; :func:`boards_view` makes each screen's view)."""
    boards: dict[str, Any] = {}
    for stage in workshop.stages:
        if stage.type != "board":
            continue
        groups = session.scalars(
            select(NoteGroup).where(NoteGroup.stage_id == stage.id).order_by(NoteGroup.id)
        )
        boards[str(stage.id)] = {
            "settings": settings(stage),
            "notes": all_notes(session, stage),
            "groups": [g.as_dict() for g in groups],
            "width": BOARD_WIDTH,
            "height": BOARD_HEIGHT,
        }
    return boards


def boards_view(
    shared: dict[str, Any], role: str, participant: Participant | None
) -> dict[str, Any]:
    """Every board as ``role`` (and this participant) may see it."""
    viewer = participant.id if participant else None
    return {
        stage_id: {**board, "notes": [note_view(n, role, viewer) for n in board["notes"]]}
        for stage_id, board in shared.items()
    }
