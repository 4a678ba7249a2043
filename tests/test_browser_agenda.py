"""The agenda in headless Chromium: a phone proposes a topic and spends its dots;
the projector shows the revealed totals, the current item and its timer."""

from __future__ import annotations

from typing import Any

import pytest

from .browser import Pages
from .support import LiveClient
from .test_browser import join_on_phone

pytestmark = pytest.mark.browser


def test_phone_dots_and_the_projector_agenda(pages: Pages, room: dict[str, Any]) -> None:
    workshop = room["workshop"]
    api = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    try:
        stage = next(s for s in api.snapshots[0]["stages"] if s["type"] == "agenda")
        assert api.call("stage:goto", {"stage_id": stage["id"]})["ok"]
        other = api.call("agenda:propose", {"title": "Training budgets"})["item"]
        phone = pages.phone()
        join_on_phone(pages, phone, workshop.code, "Amina", "Ministry of Health", "Health")
        phone.fill("#agenda-title", "Rural retention allowances")
        phone.tap('[data-form="agenda"] button[type="submit"]')
        phone.wait_for("document.querySelectorAll('[data-agenda-item]').length === 2", "two topics")
        mine = phone.evaluate(
            "[...document.querySelectorAll('[data-agenda-item]')].find((li) => "
            "li.textContent.includes('Rural retention')).dataset.agendaItem"
        )
        for _ in range(2):
            phone.tap(f'[data-add-dot="{mine}"]')
        phone.tap(f'[data-add-dot="{other["id"]}"]')
        phone.wait_text('[data-bind="dots-left"]', "0 of 3 dots left")  # placed, not yet saved
        phone.tap('[data-action="save-dots"]')
        phone.wait_text(
            '[data-bind="dots-left"]', "Saved. You can change them until the dots are revealed."
        )

        revealed = api.call("agenda:reveal", {})
        assert revealed["totals"] == {mine: 2, str(other["id"]): 1}
        assert api.call("agenda:order_by_dots", {})["order"][0] == int(mine)
        assert api.call("agenda:current", {"item_id": int(mine)})["ok"]
        assert api.call("agenda:timer", {"command": "start"})["ok"]

        projector = pages.open(
            "projector",
            f"/w/{workshop.id}/projector?key={workshop.projector_key}",
            width=1280,
            height=720,
        )
        projector.wait_for(
            f"document.querySelector('[data-agenda-item=\"{mine}\"]')"
            "?.classList.contains('current')",
            "the current item highlighted",
        )
        projector.wait_for(
            "/^[0-9]+:[0-9]{2}$/.test(document.querySelector('[data-timer]')?.textContent || '')",
            "the timer counting down",
        )
        assert "● 2" in projector.text(f'[data-agenda-item="{mine}"]')
        pages.assert_clean()
    finally:
        api.close()


def test_a_phone_promotes_its_board_note_to_the_agenda(pages: Pages, room: dict[str, Any]) -> None:
    workshop = room["workshop"]
    api = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    try:
        stages = {s["type"]: s["id"] for s in api.snapshots[0]["stages"]}
        assert api.call("stage:goto", {"stage_id": stages["board"]})["ok"]
        phone = pages.phone()
        join_on_phone(pages, phone, workshop.code, "Bilal", "UNICEF", "Development partners")
        phone.fill("#note-text", "Salaries paid three months late")
        phone.tap('[data-form="note"] button[type="submit"]')
        phone.wait_for("document.querySelectorAll('.note.mine').length === 1", "my note")
        assert api.call("stage:goto", {"stage_id": stages["agenda"]})["ok"]
        phone.wait_for("!!document.querySelector('[data-promote]')", "the promote button")
        phone.tap("[data-promote]")
        phone.wait_for(
            "[...document.querySelectorAll('[data-agenda-item]')].some((li) => "
            "li.textContent.includes('Salaries paid three months late'))",
            "the note as an agenda topic",
        )
        phone.wait_for("!document.querySelector('[data-promote]')", "the note no longer offered")
        pages.assert_clean()
    finally:
        api.close()
