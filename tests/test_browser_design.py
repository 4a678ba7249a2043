"""The console's programme in headless Chromium: stages added, renamed, given
areas, moved, timed from a start time, fitted to a total, duplicated and removed
through the panel; a refused removal shows the server's reason; a draft workshop
shows its banner until it is opened to participants."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from .browser import Page, Pages
from .conftest import PASSWORD
from .support import LiveClient, csrf_from, join
from .test_browser import js, username_of

pytestmark = pytest.mark.browser


def log_in(pages: Pages, room: dict[str, Any], workshop_id: int) -> Page:
    console = pages.open("console", "/login")
    console.fill("#username", username_of(room["user_id"]))
    console.fill("#password", PASSWORD)
    console.click('form button[type="submit"]')
    console.wait_for("location.pathname === '/console'", "the workshops list")
    console.goto(f"{pages.base}/w/{workshop_id}/console")
    console.wait_text('[data-bind="connection"]', "live")
    console.evaluate("window.confirm = () => true")
    return console


def row(stage_id: int, inner: str = "") -> str:
    return f'li[data-design-stage="{stage_id}"] {inner}'.strip()


def shown_titles(console: Page) -> list[str]:
    return console.evaluate(
        "[...document.querySelectorAll('.programme-list [data-field=\"title\"]')]"
        ".map((el) => el.value)"
    )


def wait_titles(console: Page, titles: list[str]) -> None:
    console.wait_for(
        "JSON.stringify([...document.querySelectorAll('.programme-list [data-field=\"title\"]')]"
        f".map((el) => el.value)) === JSON.stringify({js(titles)})",
        f"the programme to read {titles}",
    )


def commit(console: Page) -> None:
    """Leave the field, as a person moving on would (its change is sent)."""
    console.evaluate("document.activeElement.blur()")


def value_of(console: Page, selector: str) -> str:
    return console.evaluate(f"document.querySelector({js(selector)}).value")


def stages_of(api: LiveClient) -> list[dict[str, Any]]:
    return api.call("sync:request", {}, with_id=False)["snapshot"]["stages"]


def test_the_programme_is_shaped_from_the_console(pages: Pages, room: dict[str, Any]) -> None:
    base, workshop = room["base"], room["workshop"]
    api = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    try:
        kit_titles = [s["title"] for s in stages_of(api)]
        console = log_in(pages, room, workshop.id)
        assert console.evaluate("document.querySelector('[data-bind=\"programme\"]').open") is False
        assert console.evaluate("document.querySelector('[data-bind=\"draft-banner\"]').hidden")
        console.click('[data-bind="programme"] summary')
        wait_titles(console, kit_titles)

        # Add a board after the first stage.
        console.choose('[data-design="add-type"]', "board")
        console.fill('[data-design="add-title"]', "Risks we see")
        console.fill('[data-design="add-minutes"]', "20")
        first_id = stages_of(api)[0]["id"]
        console.choose('[data-design="add-after"]', str(first_id))
        console.click('[data-design="add"]')
        wait_titles(console, [kit_titles[0], "Risks we see", *kit_titles[1:]])
        board = stages_of(api)[1]
        assert (board["type"], board["minutes"]) == ("board", 20)
        # The new board's part of the state came with a fresh snapshot.
        console.wait_for(
            f"!!window.facilitatorLive.state.boards[{js(str(board['id']))}]", "the new board"
        )

        # Rename it, give it areas, move it up.
        console.fill(row(board["id"], '[data-field="title"]'), "Risks and mitigations")
        commit(console)
        console.click(row(board["id"], '[data-design="details"]'))
        console.fill(row(board["id"], '[data-config="areas"]'), "Money\nPeople\n")
        commit(console)
        console.wait_for(
            f"window.facilitatorLive.state.stages.find((s) => s.id === {board['id']})"
            ".config.areas?.length === 2",
            "the areas stored",
        )
        console.click(row(board["id"], '[data-design="up"]'))
        wait_titles(console, ["Risks and mitigations", *kit_titles])
        board = stages_of(api)[0]
        assert board["config"] == {"areas": ["Money", "People"]}

        # A field being typed in keeps what is typed when the programme changes.
        second = stages_of(api)[1]
        title, minutes = (
            row(second["id"], "[data-field=title]"),
            row(second["id"], "[data-field=minutes]"),
        )
        console.fill(title, "Half typed")
        assert api.call("stage:edit", {"stage_id": second["id"], "minutes": 25})["ok"]
        console.wait_for(f"document.querySelector({js(minutes)}).value === '25'", "the time box")
        assert value_of(console, title) == "Half typed"
        console.fill(title, second["title"])
        commit(console)

        # Clock times from a start time; then the total fitted.
        console.fill('[data-design="starts-at"]', "9:00")
        commit(console)
        console.wait_text(row(board["id"], '[data-design="clock"]'), "09:00–09:20")
        console.wait_text(row(second["id"], '[data-design="clock"]'), "09:20–09:45")
        total = sum(s["minutes"] for s in stages_of(api))
        assert console.text('[data-design="total"]') == f"{total // 60} h {total % 60} min"
        console.fill('[data-design="fit-total"]', "5:00")
        console.click('[data-design="fit"]')
        console.wait_text('[data-design="total"]', "5 h")
        assert console.text('[data-design="ends"]') == "· 09:00–14:00"
        assert sum(s["minutes"] for s in stages_of(api)) == 300

        # Duplicate the board, then remove the copy.
        console.click(row(board["id"], '[data-design="duplicate"]'))
        wait_titles(console, ["Risks and mitigations", "Risks and mitigations (copy)", *kit_titles])
        copy = stages_of(api)[1]
        console.click(row(copy["id"], '[data-design="remove"]'))
        wait_titles(console, ["Risks and mitigations", *kit_titles])

        # A board holding a note stays, and the panel says why.
        phone = LiveClient(
            base, workshop.id, "phone", join(base, workshop.code, "Amina", "MoH", "Health")
        ).connect()
        try:
            assert api.call("stage:goto", {"stage_id": board["id"]})["ok"]
            assert phone.call("note:create", {"text": "Budget cuts", "x": 10, "y": 10})["ok"]
            assert api.call("stage:goto", {"stage_id": second["id"]})["ok"]
        finally:
            phone.close()
        console.click(row(board["id"], '[data-design="remove"]'))
        console.wait_for(
            "document.querySelector('.programme [data-bind=\"error\"]').textContent"
            ".includes('holds what the room made')",
            "the refusal in the programme's error line",
        )
        assert shown_titles(console)[0] == "Risks and mitigations"
        pages.assert_clean()
    finally:
        api.close()


def test_a_draft_shows_its_banner_until_it_is_opened(pages: Pages, room: dict[str, Any]) -> None:
    base, facilitator = room["base"], room["facilitator"]
    listing = facilitator.get(f"{base}/console", timeout=10).text
    created = facilitator.post(
        f"{base}/workshops",
        data={
            "csrf_token": csrf_from(listing),
            "kit": "hrh-action-framework",
            "title": "Planned later",
            "place": "Quetta",
            "draft": "1",
        },
        timeout=10,
    )
    workshop_id = int(created.url.rstrip("/").split("/")[-2])
    console = log_in(pages, room, workshop_id)
    code = console.text('[data-bind="code"]')
    assert requests.get(f"{base}/j/{code}", timeout=10).status_code == 409

    console.wait_for(
        "!document.querySelector('[data-bind=\"draft-banner\"]').hidden", "the draft banner"
    )
    assert "participants cannot join yet" in console.text('[data-bind="draft-banner"]')
    assert console.evaluate("document.querySelector('[data-bind=\"programme\"]').open")
    assert console.evaluate("!document.querySelector('[data-bind=\"join-closed\"]').hidden")

    console.click('[data-action="start"]')
    console.wait_for(
        "document.querySelector('[data-bind=\"draft-banner\"]').hidden", "the banner to go"
    )
    console.wait_text('[data-bind="status"]', "live")
    assert console.evaluate("document.querySelector('[data-bind=\"join-closed\"]').hidden")
    assert requests.get(f"{base}/j/{code}", timeout=10).status_code == 200
    pages.assert_clean()
