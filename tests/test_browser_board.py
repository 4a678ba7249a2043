"""The board in headless Chromium: a phone drags its note with a finger and the
projector shows it at the new place; private mode hides notes until revealed."""

from __future__ import annotations

from typing import Any

import pytest

from .browser import Pages
from .support import LiveClient
from .test_browser import join_on_phone

pytestmark = pytest.mark.browser


@pytest.fixture
def on_board(room: dict[str, Any]) -> Any:
    workshop = room["workshop"]
    console = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    stage = next(s for s in console.snapshots[0]["stages"] if s["type"] == "board")
    assert console.call("stage:goto", {"stage_id": stage["id"]})["ok"]
    yield {**room, "console": console, "stage": stage}
    console.close()


def board_notes(console: LiveClient, stage_id: int) -> list[dict[str, Any]]:
    state = console.call("sync:request", {}, with_id=False)["snapshot"]
    return state["boards"][str(stage_id)]["notes"]


def projector_page(pages: Pages, workshop: Any, stage: dict[str, Any]):
    projector = pages.open(
        "projector",
        f"/w/{workshop.id}/projector?key={workshop.projector_key}",
        width=1280,
        height=720,
    )
    projector.wait_text('[data-bind="stage-title"]', stage["title"])
    return projector


def test_a_phone_drags_its_note_and_the_projector_follows(pages: Pages, on_board: Any) -> None:
    workshop, stage = on_board["workshop"], on_board["stage"]
    projector = projector_page(pages, workshop, stage)
    phone = pages.phone()
    join_on_phone(pages, phone, workshop.code, "Amina", "Ministry of Health", "Health")
    phone.fill("#note-text", "Too few midwives in rural districts")
    phone.tap('[data-form="note"] button[type="submit"]')
    phone.wait_for("document.querySelectorAll('.note.mine').length === 1", "my note on my phone")
    projector.wait_for(
        "document.querySelectorAll('.note').length === 1", "the note on the projector"
    )
    before = board_notes(on_board["console"], stage["id"])[0]

    phone.drag(".note.mine", 60, 45)

    def moved() -> bool:
        notes = board_notes(on_board["console"], stage["id"])
        return notes[0]["x"] != before["x"] or notes[0]["y"] != before["y"]

    on_board["console"].wait_for(moved, "the drop stored on the server")
    after = board_notes(on_board["console"], stage["id"])[0]
    # The phone shows the board at 2.2 x fit-width: 60 px is about 60 / (320/1200*2.2) units.
    assert after["x"] > before["x"] + 40 and after["y"] > before["y"] + 30
    # The projector draws it where the server has it.
    projector.wait_for(
        f"""(() => {{
          const el = document.querySelector('.note');
          const surface = document.querySelector('.board-surface');
          const s = surface.getBoundingClientRect().width / 1200;
          return Math.abs(parseFloat(el.style.left) - {after["x"]} * s) < 1.5 &&
                 Math.abs(parseFloat(el.style.top) - {after["y"]} * s) < 1.5;
        }})()""",
        "the note at its new place on the projector",
    )
    pages.assert_clean()


def test_private_notes_stay_hidden_until_the_facilitator_reveals_them(
    pages: Pages, on_board: Any
) -> None:
    workshop, stage, console = on_board["workshop"], on_board["stage"], on_board["console"]
    assert console.call("board:settings", {"private": True})["ok"]
    projector = projector_page(pages, workshop, stage)
    phone = pages.phone()
    join_on_phone(pages, phone, workshop.code, "Bilal", "UNICEF", "Development partners")
    phone.wait_for(
        "document.querySelector('[data-bind=board-notice]').textContent.includes('Private mode')",
        "the private-mode notice",
    )
    phone.fill("#note-text", "Donor targets drive the plan")
    phone.tap('[data-form="note"] button[type="submit"]')
    phone.wait_for(
        "document.querySelector('.note.mine .note-text')?.textContent === "
        "'Donor targets drive the plan'",
        "my private note, readable to me",
    )
    projector.wait_text(".board-hidden", "1 private note, shown when revealed")
    assert projector.evaluate("document.querySelectorAll('.note').length") == 0
    assert "Donor targets" not in projector.evaluate("document.body.innerText")

    assert console.call("board:reveal", {})["ok"]
    projector.wait_for(
        "document.querySelector('.note .note-text')?.textContent === "
        "'Donor targets drive the plan'",
        "the revealed note on the projector",
    )
    assert projector.text(".board-hidden") == ""
    pages.assert_clean()
