"""Board operations called directly: visibility rules, versions, group moves."""

from __future__ import annotations

import pytest

from facilitator.core.db import db
from facilitator.core.errors import DomainError
from facilitator.domain import board, board_controls, board_groups
from facilitator.domain import workshops as ws

NOTE = {
    "id": 1,
    "stage_id": 2,
    "text": "t",
    "colour": "yellow",
    "x": 1,
    "y": 1,
    "group_id": None,
    "version": 1,
    "private": False,
    "author_id": 7,
    "author": "Amina",
    "authors": "show",
}


def test_note_view_follows_the_author_mode():
    assert board.note_view(NOTE, "projector")["author"] == "Amina"
    assert "author_id" not in board.note_view(NOTE, "projector")
    assert board.note_view(NOTE, "facilitator")["author_id"] == 7
    hidden = {**NOTE, "authors": "hide_projector"}
    assert board.note_view(hidden, "projector")["author"] is None
    assert board.note_view(hidden, "participant")["author"] == "Amina"
    anonymous = {**NOTE, "authors": "anonymous"}
    for role in ("facilitator", "projector", "participant"):
        shown = board.note_view(anonymous, role)
        assert shown["author"] is None and "author_id" not in shown


def test_private_notes_are_stubs_except_for_author_and_facilitator():
    private = {**NOTE, "private": True}
    assert board.note_view(private, "projector") == {"id": 1, "stage_id": 2, "private": True}
    assert board.note_view(private, "participant", viewer=8) == {
        "id": 1,
        "stage_id": 2,
        "private": True,
    }
    assert board.note_view(private, "participant", viewer=7)["text"] == "t"
    assert board.note_view(private, "facilitator")["text"] == "t"


@pytest.fixture
def on_board(factory):
    workshop = factory.workshop()
    stage = next(s for s in workshop.stages if s.type == "board")
    with db.transaction() as s:
        w = s.get(ws.Workshop, workshop.id)
        ws.goto_stage(s, w, stage.id)
        person = ws.join(s, w, "Amina", "MoH", "Health").result["participant"]["id"]
    return workshop.id, person


def test_each_text_edit_needs_the_current_version(on_board):
    workshop_id, person = on_board
    with db.transaction() as s:
        w = s.get(ws.Workshop, workshop_id)
        me = s.get(ws.Participant, person)
        note = board.create_note(s, w, me, "  first  ", "blue", 10, 10).result["note"]
        assert note["text"] == "first" and note["version"] == 1
        second = board.edit_note(s, w, me, note["id"], 1, "second", None).result["note"]
        assert second["version"] == 2
        with pytest.raises(DomainError) as caught:
            board.edit_note(s, w, me, note["id"], 1, "third", None)
    assert caught.value.code == "conflict" and caught.value.details["text"] == "second"


def test_a_group_move_keeps_its_notes_on_the_board(on_board):
    workshop_id, _ = on_board
    with db.transaction() as s:
        w = s.get(ws.Workshop, workshop_id)
        group = board_groups.create_group(s, w, None, "Finance", 100, 100).result["group"]
        note = board.create_note(s, w, None, "edge", "yellow", 1100, 700).result["note"]
        board.move_note(s, w, None, note["id"], 1100, 700, group["id"], True)
        moved = board_groups.move_group(s, w, None, group["id"], 300, 300)
    positions = moved.events[0].data["notes"]
    assert positions == [
        {"id": note["id"], "x": board.BOARD_WIDTH, "y": board.BOARD_HEIGHT, "private": False}
    ]


def test_a_locked_board_refuses_participants_but_not_the_facilitator(on_board):
    workshop_id, person = on_board
    with db.transaction() as s:
        w = s.get(ws.Workshop, workshop_id)
        board_controls.change_settings(s, w, True, None, None)
        with pytest.raises(DomainError) as caught:
            board.create_note(s, w, s.get(ws.Participant, person), "no", "yellow", 1, 1)
        assert board.create_note(s, w, None, "yes", "yellow", 1, 1).result["note"]["text"] == "yes"
    assert caught.value.code == "locked"
