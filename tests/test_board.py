"""Board actions over the real server: notes, groups, versions, private mode, authors."""

from __future__ import annotations

import pytest

from .support import LiveClient, action_id, error_code, join


@pytest.fixture
def board(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    projector = LiveClient(base, workshop.id, "projector", key=workshop.projector_key).connect()
    amina = LiveClient(
        base,
        workshop.id,
        "phone",
        join(base, workshop.code, "Amina", "Ministry of Health", "Health"),
    ).connect()
    bilal = LiveClient(
        base,
        workshop.id,
        "phone",
        join(base, workshop.code, "Bilal", "UNICEF", "Development partners"),
    ).connect()
    stage = next(s for s in console.snapshots[0]["stages"] if s["type"] == "board")
    assert console.call("stage:goto", {"stage_id": stage["id"]})["ok"]
    yield {
        "console": console,
        "projector": projector,
        "amina": amina,
        "bilal": bilal,
        "stage_id": stage["id"],
        **room,
    }
    for client in (console, projector, amina, bilal):
        client.close()


def note(client, text="Too few midwives in rural districts", **extra):
    ack = client.call("note:create", {"text": text, "x": 100, "y": 200, **extra})
    assert ack["ok"], ack
    return ack["note"]


def last_event(client, type_, pred=lambda d: True):
    return client.wait_for(
        lambda: next(
            (e for e in reversed(client.events) if e["type"] == type_ and pred(e["data"])), None
        ),
        type_,
    )


# -- notes ------------------------------------------------------------------------


def test_participant_adds_a_note_everyone_sees_it(board):
    created = note(board["amina"], colour="green")
    assert created["mine"] is True and created["colour"] == "green"
    on_projector = last_event(board["projector"], "note:created")["data"]["note"]
    assert on_projector["text"] == created["text"]
    # The kit hides authors on the projector; phones and console see them.
    assert on_projector["author"] is None and "author_id" not in on_projector
    assert last_event(board["bilal"], "note:created")["data"]["note"]["author"] == "Amina"
    assert last_event(board["console"], "note:created")["data"]["note"]["author_id"] is not None


def test_note_text_over_the_limit_or_outside_the_board_is_refused(board):
    ack = board["amina"].call("note:create", {"text": "x" * 281, "x": 1, "y": 1})
    assert error_code(ack) == "invalid" and "at most 280 characters" in ack["error"]["message"]
    ack = board["amina"].call("note:create", {"text": "ok", "x": 5000, "y": 1})
    assert error_code(ack) == "invalid" and "x" in ack["error"]["message"]
    ack = board["amina"].call("note:create", {"text": "ok", "x": 1, "y": 1, "colour": "black"})
    assert error_code(ack) == "invalid"
    state = board["console"].call("sync:request", {}, with_id=False)["snapshot"]
    assert state["boards"][str(board["stage_id"])]["notes"] == []


def test_note_create_outside_a_board_stage_is_refused(board):
    board["console"].call("stage:next", {})
    ack = board["amina"].call("note:create", {"text": "late", "x": 1, "y": 1})
    assert error_code(ack) == "wrong_stage"
    assert (
        error_code(board["console"].call("note:create", {"text": "x", "x": 1, "y": 1}))
        == "wrong_stage"
    )


def test_projector_may_not_write_notes(board):
    assert (
        error_code(board["projector"].call("note:create", {"text": "x", "x": 1, "y": 1}))
        == "forbidden"
    )


def test_a_stale_edit_is_refused_with_the_current_text(board):
    created = note(board["amina"])
    first = board["amina"].call(
        "note:edit", {"note_id": created["id"], "version": 1, "text": "Too few midwives"}
    )
    assert first["ok"] and first["note"]["version"] == 2
    stale = board["console"].call(
        "note:edit", {"note_id": created["id"], "version": 1, "text": "Facilitator's wording"}
    )
    assert error_code(stale) == "conflict"
    assert stale["error"]["details"]["text"] == "Too few midwives"
    assert stale["error"]["details"]["version"] == 2


def test_only_the_author_or_facilitator_edits_moves_or_deletes(board):
    created = note(board["amina"])
    for name, payload in (
        ("note:edit", {"version": 1, "text": "mine now"}),
        ("note:move", {"x": 10, "y": 10}),
        ("note:delete", {}),
    ):
        ack = board["bilal"].call(name, {"note_id": created["id"], **payload})
        assert error_code(ack) == "forbidden"
    assert board["console"].call("note:move", {"note_id": created["id"], "x": 500, "y": 500})["ok"]
    assert board["amina"].call("note:delete", {"note_id": created["id"]})["ok"]
    assert last_event(board["bilal"], "note:deleted")["data"]["note_id"] == created["id"]


def test_unknown_notes_are_refused(board):
    ack = board["console"].call("note:move", {"note_id": 999999, "x": 1, "y": 1})
    assert error_code(ack) == "not_found"


def test_the_last_committed_move_wins_everywhere(board):
    created = note(board["amina"])
    moves = [
        board["amina"].call("note:move", {"note_id": created["id"], "x": 300, "y": 300}),
        board["console"].call("note:move", {"note_id": created["id"], "x": 700, "y": 400}),
    ]
    last = max(moves, key=lambda a: a["seq"])
    for name in ("console", "projector", "amina", "bilal"):
        event = last_event(board[name], "note:moved", lambda d: True)
        board[name].wait_for(
            lambda n=name: any(e["seq"] == last["seq"] for e in board[n].events), "the last move"
        )
    state = board["bilal"].call("sync:request", {}, with_id=False)["snapshot"]
    stored = state["boards"][str(board["stage_id"])]["notes"][0]
    assert (stored["x"], stored["y"]) == (last["x"], last["y"])
    assert event is not None


def test_drag_positions_stream_without_sequence_numbers_at_a_bounded_rate(board):
    created = note(board["amina"])
    acks = [
        board["amina"].call(
            "note:drag", {"note_id": created["id"], "x": 100 + i, "y": 200}, with_id=False
        )
        for i in range(10)
    ]
    assert all(a["ok"] for a in acks)
    dropped = sum(1 for a in acks if a.get("dropped"))
    assert dropped >= 1  # ten calls in far less than half a second
    before = len(board["projector"].events)
    board["projector"].wait_for(lambda: board["projector"].transients, "a drag position")
    assert all(t["type"] == "note:dragging" for t in board["projector"].transients)
    # Batched: the latest position per note, at most every 50 ms.
    items = [i for t in board["projector"].transients for i in t["data"]["items"]]
    assert {i["note_id"] for i in items} == {created["id"]}
    assert len(board["projector"].transients) < len(acks)
    assert len(board["projector"].events) == before  # nothing numbered, nothing stored
    assert (
        error_code(
            board["bilal"].call(
                "note:drag", {"note_id": created["id"], "x": 1, "y": 1}, with_id=False
            )
        )
        == "forbidden"
    )


# -- private mode ----------------------------------------------------------------------


def test_private_mode_hides_notes_until_the_facilitator_reveals_them(board):
    assert board["console"].call("board:settings", {"private": True})["ok"]
    secret = note(board["amina"], text="Donor targets drive our plan")
    assert secret["private"] is True and secret["text"]
    for name in ("projector", "bilal"):
        seen = last_event(board[name], "note:created")["data"]["note"]
        assert seen == {"id": secret["id"], "stage_id": board["stage_id"], "private": True}
    bilal_state = board["bilal"].call("sync:request", {}, with_id=False)["snapshot"]
    assert "Donor targets" not in str(bilal_state)
    amina_state = board["amina"].call("sync:request", {}, with_id=False)["snapshot"]
    assert amina_state["boards"][str(board["stage_id"])]["notes"][0]["text"] == secret["text"]
    assert last_event(board["console"], "note:created")["data"]["note"]["text"] == secret["text"]

    assert board["console"].call("board:reveal", {})["ok"]
    revealed = last_event(board["projector"], "board:changed", lambda d: "notes" in d)["data"]
    assert revealed["notes"][0]["text"] == secret["text"]
    assert revealed["settings"]["private"] is False


def test_board_controls_are_the_facilitators_alone(board):
    for name in ("amina", "projector"):
        assert error_code(board[name].call("board:settings", {"locked": True})) == "forbidden"
        assert error_code(board[name].call("board:reveal", {})) == "forbidden"
        assert error_code(board[name].call("board:focus", {"note_id": None})) == "forbidden"


# -- lock, authors, focus ------------------------------------------------------------


def test_a_locked_board_refuses_participants_changes(board):
    created = note(board["amina"])
    assert board["console"].call("board:settings", {"locked": True})["ok"]
    assert error_code(board["amina"].call("note:create", {"text": "x", "x": 1, "y": 1})) == "locked"
    ack = board["amina"].call("note:move", {"note_id": created["id"], "x": 9, "y": 9})
    assert error_code(ack) == "locked"
    assert board["console"].call("note:move", {"note_id": created["id"], "x": 9, "y": 9})["ok"]


def test_anonymous_boards_show_no_author_to_anyone(board):
    assert board["console"].call("board:settings", {"authors": "anonymous"})["ok"]
    note(board["amina"])
    for name in ("console", "projector", "bilal"):
        seen = last_event(board[name], "note:created")["data"]["note"]
        assert seen["author"] is None and "author_id" not in seen
    state = board["amina"].call("sync:request", {}, with_id=False)["snapshot"]
    assert state["boards"][str(board["stage_id"])]["notes"][0]["mine"] is True


def test_focus_one_note_on_the_projector(board):
    created = note(board["amina"])
    assert board["console"].call("board:focus", {"note_id": created["id"]})["ok"]
    seen = last_event(board["projector"], "board:changed")["data"]["settings"]["focus"]
    assert seen == {"note_id": created["id"]}
    ack = board["console"].call("board:focus", {"note_id": created["id"], "group_id": 1})
    assert error_code(ack) == "invalid"


# -- groups ----------------------------------------------------------------------------


def test_facilitator_groups_notes_and_the_group_moves_with_them(board):
    a, b = note(board["amina"]), note(board["bilal"], text="Salaries paid late")
    group = board["console"].call("group:create", {"title": "Finance", "x": 800, "y": 100})["group"]
    for n in (a, b):
        assert board["console"].call(
            "note:move", {"note_id": n["id"], "x": 820, "y": 150, "group_id": group["id"]}
        )["ok"]
    moved = board["console"].call("group:move", {"group_id": group["id"], "x": 900, "y": 200})
    assert moved["ok"]
    data = last_event(board["projector"], "group:moved")["data"]
    assert {n["id"]: (n["x"], n["y"]) for n in data["notes"]} == {
        a["id"]: (920, 250),
        b["id"]: (920, 250),
    }
    # A note can leave its group.
    assert board["console"].call(
        "note:move", {"note_id": a["id"], "x": 10, "y": 10, "group_id": None}
    )["ok"]
    assert board["console"].call("group:rename", {"group_id": group["id"], "title": "Pay"})["ok"]
    gone = board["console"].call("group:delete", {"group_id": group["id"]})
    assert gone["ok"] and gone["note_ids"] == [b["id"]]


def test_participants_may_not_group_unless_the_stage_allows(board):
    ack = board["amina"].call("group:create", {"title": "Mine", "x": 1, "y": 1})
    assert error_code(ack) == "forbidden"
    group = board["console"].call("group:create", {"title": "Finance", "x": 1, "y": 1})["group"]
    mine = note(board["amina"])
    ack = board["amina"].call(
        "note:move", {"note_id": mine["id"], "x": 1, "y": 1, "group_id": group["id"]}
    )
    assert error_code(ack) == "forbidden"
    for name, payload in (
        ("group:rename", {"title": "X"}),
        ("group:move", {"x": 2, "y": 2}),
        ("group:delete", {}),
    ):
        assert (
            error_code(board["amina"].call(name, {"group_id": group["id"], **payload}))
            == "forbidden"
        )
    assert (
        error_code(board["projector"].call("group:create", {"title": "P", "x": 1, "y": 1}))
        == "forbidden"
    )


def test_the_same_note_action_id_twice_makes_one_note(board):
    payload = {"action_id": action_id(), "text": "Once", "x": 1, "y": 1}
    first = board["amina"].call("note:create", payload)
    second = board["amina"].call("note:create", payload)
    assert first == second
    state = board["console"].call("sync:request", {}, with_id=False)["snapshot"]
    assert len(state["boards"][str(board["stage_id"])]["notes"]) == 1
