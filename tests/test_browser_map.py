"""The stakeholder map in headless Chromium: the facilitator edits a card in the
console, a phone places stakeholders with its sliders, the projector shows the
room's median."""

from __future__ import annotations

from typing import Any

import pytest

from .browser import Pages
from .conftest import PASSWORD
from .support import LiveClient
from .test_browser import join_on_phone, username_of

pytestmark = pytest.mark.browser


def test_console_edits_a_card_and_a_phone_places_it(pages: Pages, room: dict[str, Any]) -> None:
    workshop = room["workshop"]
    api = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    try:
        stage = next(s for s in api.snapshots[0]["stages"] if s["type"] == "stakeholder_map")
        assert api.call("stage:goto", {"stage_id": stage["id"]})["ok"]
        card = api.call(
            "stakeholder:add", {"name": "Ministry of Finance", "power": 8, "interest": 3}
        )["stakeholder"]

        console = pages.open("console", "/login")
        console.fill("#username", username_of(room["user_id"]))
        console.fill("#password", PASSWORD)
        console.click('form button[type="submit"]')
        console.wait_for("location.pathname === '/console'", "the workshops list")
        console.goto(f"{pages.base}/w/{workshop.id}/console")
        console.wait_for(
            f"!!document.querySelector('[data-stakeholder-id=\"{card['id']}\"]')",
            "the card on the console grid",
        )
        console.click(f'[data-edit="{card["id"]}"]')
        console.wait_for("!!document.querySelector('.stakeholder-editor')", "the card editor")
        console.choose(".stakeholder-editor select:nth-of-type(1)", "Public sector")
        console.evaluate(
            "document.querySelector('.stakeholder-editor label:nth-child(4) select').value = '-2'"
        )
        console.click(".stakeholder-editor button")
        api.wait_for(
            lambda: any(e["type"] == "stakeholder:updated" for e in api.events), "the edit stored"
        )
        edited = next(e for e in api.events if e["type"] == "stakeholder:updated")
        assert edited["data"]["stakeholder"]["position"] == -2
        assert edited["data"]["stakeholder"]["category"] == "Public sector"
        console.wait_for(
            f"document.querySelector('[data-stakeholder-id=\"{card['id']}\"]')"
            ".classList.contains('position-against')",
            "the card marked as against",
        )

        assert api.call("map:mode", {"participatory": True})["ok"]
        phone = pages.phone()
        join_on_phone(pages, phone, workshop.code, "Amina", "Ministry of Health", "Health")
        phone.wait_for(
            f"!!document.querySelector('[data-place-card=\"{card['id']}\"]')",
            "a slider card for the stakeholder",
        )
        phone.evaluate(f"""(() => {{
          const card = document.querySelector('[data-place-card="{card["id"]}"]');
          const [power, interest] = card.querySelectorAll('input[type=range]');
          power.value = 9; interest.value = 7;
        }})()""")
        phone.tap(f'[data-place="{card["id"]}"]')
        phone.wait_text(f'[data-place-card="{card["id"]}"] .muted', "saved")

        projector = pages.open(
            "projector",
            f"/w/{workshop.id}/projector?key={workshop.projector_key}",
            width=1280,
            height=720,
        )
        projector.wait_for(
            f"!!document.querySelector('[data-median-for=\"{card['id']}\"]')",
            "the room's median on the projector",
        )
        projector.wait_for(
            "document.querySelector('[data-contested]')?.textContent.includes('1 placed')",
            "the contested list",
        )
        pages.assert_clean()
    finally:
        api.close()
