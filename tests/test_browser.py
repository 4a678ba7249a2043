"""The real screens in headless Chromium: a phone joining, the projector and the
console reacting live, and no page logging an error or fetching from another host.

See tests/browser.py for the DevTools client and why it is used. Without a
Chromium binary these tests are skipped, or fail when FACILITATOR_REQUIRE_SERVICES=1.
Every test ends with ``pages.assert_clean()``: no console error, uncaught
exception, browser log error or failed request in any page it opened, and every
request (documents, assets, WebSockets) went to the test server.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from facilitator.core.db import db
from facilitator.domain.accounts import User

from .browser import Page, Pages
from .conftest import PASSWORD

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360


def username_of(user_id: int) -> str:
    with db.reader() as s:
        user = s.get(User, user_id)
        assert user is not None
        return user.username


def js(value: Any) -> str:
    return json.dumps(value)


def join_on_phone(
    pages: Pages, phone: Page, code: str, name: str, organisation: str, sector: str
) -> None:
    """Fill the join form at /j/<code> as a person would; wait for the phone screen."""
    phone.goto(f"{pages.base}/j/{code}")
    phone.wait_for("!!document.getElementById('join-form')", "the join form")
    no_horizontal_scroll(phone)
    phone.fill("#name", name)
    phone.fill("#organisation", organisation)
    phone.choose("#sector", sector)
    phone.tap('#join-form button[type="submit"]')
    phone.wait_for(
        f"location.pathname === {js(f'/j/{code}')} && !!document.getElementById('phone')",
        "the phone screen after joining",
    )
    phone.wait_text('[data-bind="connection"]', "live")


def no_horizontal_scroll(page: Page) -> None:
    inner, *widths = page.evaluate(
        "[window.innerWidth, document.documentElement.scrollWidth, document.body.scrollWidth]"
    )
    assert inner == PHONE_WIDTH, f"the phone viewport is {inner} px wide, not {PHONE_WIDTH}"
    assert max(widths) <= PHONE_WIDTH, (
        f"{page.name} scrolls sideways at {PHONE_WIDTH} px: its content is {max(widths)} px wide"
    )


def open_projector(pages: Pages, workshop: Any) -> Page:
    projector = pages.open(
        "projector",
        f"/w/{workshop.id}/projector?key={workshop.projector_key}",
        width=1280,
        height=720,
    )
    # Only the script writes "Stage 1 of N", from its snapshot: the projector is live.
    projector.wait_text('[data-bind="stage-count"]', f"Stage 1 of {len(workshop.stages)}")
    return projector


def sectors_on(projector: Page) -> dict[str, str]:
    """The projector's sector list: sector -> count shown."""
    return projector.evaluate(
        """Object.fromEntries([...document.querySelectorAll('[data-bind="sectors"] li')]
             .map((li) => [li.querySelector('.sector-name').textContent,
                           li.querySelector('.sector-count').textContent]))"""
    )


def test_phone_joins_and_the_projector_counts_them(pages: Pages, room: dict[str, Any]) -> None:
    workshop = room["workshop"]
    first = workshop.stages[0]
    total = len(workshop.stages)
    # A sector that is not the first option, so picking it really changes the form.
    sector = workshop.sectors[2]
    assert first.title != workshop.title, "the server-rendered title would pass the check"

    projector = open_projector(pages, workshop)
    projector.wait_text('[data-bind="count"]', "0")
    assert sectors_on(projector) == {}

    phone = pages.phone()
    join_on_phone(pages, phone, workshop.code, "Amina Diallo", "Ministry of Health", sector)

    phone.wait_text('[data-bind="stage-title"]', first.title)
    phone.wait_text('[data-bind="stage-count"]', f"Stage 1 of {total}")
    phone.wait_text('[data-bind="me"]', "Amina Diallo · Ministry of Health")
    # The welcome stage shows the participant's own details, ready to correct.
    phone.wait_for(
        "document.querySelector('#p-sector')?.value === " + js(sector),
        "the welcome form with the chosen sector",
    )
    no_horizontal_scroll(phone)

    projector.wait_text('[data-bind="count"]', "1")
    projector.wait_for(
        f"!!document.querySelector('[data-bind=\"sectors\"] li[data-sector=' "
        f"+ CSS.escape({js(sector)}) + ']')",
        f"{sector!r} in the sector list",
    )
    assert sectors_on(projector) == {sector: "1"}
    projector.wait_text('[data-bind="organisations"]', "1 organisation")

    # The record that assert_clean checks includes the live WebSocket connections.
    assert any(url.startswith("ws://") for url in phone.requests + projector.requests)

    pages.assert_clean()


def test_console_next_moves_the_projector_and_the_phone(pages: Pages, room: dict[str, Any]) -> None:
    workshop = room["workshop"]
    first, second = workshop.stages[0], workshop.stages[1]
    total = len(workshop.stages)

    console = pages.open("console", "/login")
    console.fill("#username", username_of(room["user_id"]))
    console.fill("#password", PASSWORD)
    console.click('form button[type="submit"]')
    console.wait_for("location.pathname === '/console'", "the workshops list after logging in")
    console.click(f'a[href="/w/{workshop.id}/console"]')
    console.wait_for(
        f"location.pathname === {js(f'/w/{workshop.id}/console')}", "the workshop console"
    )
    console.wait_text('[data-bind="connection"]', "live")
    console.wait_text(".stages li.current button", f"1. {first.title}")

    projector = open_projector(pages, workshop)
    phone = pages.phone()
    join_on_phone(
        pages, phone, workshop.code, "Kofi Mensah", "District Health Office", workshop.sectors[0]
    )
    phone.wait_text('[data-bind="stage-title"]', first.title)
    console.wait_text('[data-bind="count"]', "1")

    next_button = '[data-action="next"]'
    assert console.text(next_button) == "Next ▶"
    console.click(next_button)

    projector.wait_text('[data-bind="stage-title"]', second.title)
    projector.wait_text('[data-bind="stage-count"]', f"Stage 2 of {total}")
    phone.wait_text('[data-bind="stage-title"]', second.title)
    phone.wait_text('[data-bind="stage-count"]', f"Stage 2 of {total}")
    console.wait_text(".stages li.current button", f"2. {second.title}")
    assert console.evaluate("document.querySelector('[data-action=\"prev\"]').disabled") is False
    no_horizontal_scroll(phone)

    pages.assert_clean()


def test_every_other_screen_loads_cleanly(pages: Pages, room: dict[str, Any]) -> None:
    """Home, the code form, login and the workshops list: no error, nothing external."""
    workshop = room["workshop"]

    phone = pages.phone("phone", "/")
    no_horizontal_scroll(phone)
    phone.fill("#code", workshop.code.lower())
    phone.tap('form button[type="submit"]')
    phone.wait_for(
        f"location.pathname === {js(f'/j/{workshop.code}')}", "the join form after typing the code"
    )
    phone.wait_for("!!document.getElementById('join-form')", "the join form")
    no_horizontal_scroll(phone)

    login = pages.phone("phone login", "/login")
    no_horizontal_scroll(login)

    console = pages.open("workshops list", "/login")
    console.fill("#username", username_of(room["user_id"]))
    console.fill("#password", PASSWORD)
    console.click('form button[type="submit"]')
    console.wait_for("location.pathname === '/console'", "the workshops list")
    console.wait_for(
        f"!!document.querySelector('a[href=\"/w/{workshop.id}/console\"]')",
        "the workshop in the list",
    )

    pages.assert_clean()


def test_the_checks_see_errors_and_foreign_requests(pages: Pages) -> None:
    """A control: what assert_clean looks for is really recorded."""
    page = pages.open("control", "/")
    assert pages.problems() == [] and pages.foreign_requests() == []
    page.evaluate("console.error('deliberate console error')")
    page.evaluate("setTimeout(() => { throw new Error('deliberate uncaught error'); }, 0)")
    page.evaluate("fetch('/no-such-page').then((r) => r.status)")
    page.evaluate("import('/static/js/no-such-module.js').catch(() => null)")
    # ".invalid" never resolves, and the browser's resolver rules stop it anyway.
    page.evaluate("fetch('http://external.invalid/x.js').catch(() => null)")

    page.wait_for("true", "nothing")  # one more round trip for the events to arrive
    problems = "\n".join(pages.problems())
    for expected in (
        "console.error: deliberate console error",
        "deliberate uncaught error",
        "HTTP 404",
        "/no-such-page",
        "no-such-module.js",
    ):
        assert expected in problems, f"{expected!r} not recorded in:\n{problems}"
    # The Content-Security-Policy stops the request before it leaves; either way it shows.
    assert any("external.invalid" in r for r in pages.foreign_requests()) or (
        "external.invalid" in problems
    ), problems
    with pytest.raises(AssertionError):
        pages.assert_clean()
