"""Voting in headless Chromium: phones vote with their own controls, the
projector shows the turnout while the poll is open and the result on close."""

from __future__ import annotations

from typing import Any

import pytest

from .browser import Pages
from .support import LiveClient
from .test_browser import join_on_phone

pytestmark = pytest.mark.browser


def test_phones_vote_and_the_projector_reveals_the_result(
    pages: Pages, room: dict[str, Any]
) -> None:
    workshop = room["workshop"]
    api = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    try:
        stage = next(s for s in api.snapshots[0]["stages"] if s["type"] == "vote")
        assert api.call("stage:goto", {"stage_id": stage["id"]})["ok"]
        poll = api.call(
            "poll:create", {"title": "Adopt retention as priority one", "method": "consensus"}
        )["poll"]
        projector = pages.open(
            "projector",
            f"/w/{workshop.id}/projector?key={workshop.projector_key}",
            width=1280,
            height=720,
        )
        projector.wait_text('[data-bind="stage-title"]', stage["title"])
        assert api.call("poll:open", {"poll_id": poll["id"]})["ok"]
        projector.wait_for(
            "document.querySelector('[data-turnout]')?.dataset.turnout === '0'",
            "the open poll with no votes yet",
        )

        for name, choice in (("Amina", "agree"), ("Bilal", "agree")):
            phone = pages.phone(name)
            join_on_phone(pages, phone, workshop.code, name, "Ministry of Health", "Health")
            phone.wait_for(
                f"!!document.querySelector('[data-poll=\"{poll['id']}\"]')", "the ballot"
            )
            phone.tap(f'label[for="c-{poll["id"]}-{choice}"]')
            phone.tap(f'[data-vote="{poll["id"]}"]')
            phone.wait_text(
                '[data-bind="my-vote"]',
                "Your vote is counted; you can change it until the poll closes.",
            )
        projector.wait_for(
            "document.querySelector('[data-turnout]')?.dataset.turnout === '2'",
            "two votes counted on the projector",
        )
        # Results stay hidden until the close (the default).
        assert projector.evaluate("document.querySelectorAll('.tally li').length") == 0

        assert api.call("poll:close", {"poll_id": poll["id"]})["ok"]
        projector.wait_for(
            f'document.querySelector(\'[data-outcome="{poll["id"]}"] '
            "[data-decision]')?.dataset.decision === 'yes'",
            "the result: agreed",
        )
        assert "2 of 2 voted" in projector.evaluate("document.body.innerText")
        pages.assert_clean()
    finally:
        api.close()
