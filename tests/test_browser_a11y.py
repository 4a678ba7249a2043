"""Accessibility in headless Chromium, beyond what the whole-workshop test checks
(tests/test_browser_workshop.py runs axe on every screen at every stage):

* axe-core on the pages a workshop does not pass through (home, refusals,
  a draft's console with its programme);
* a participant who only has a keyboard: a note written and moved, a
  stakeholder placed, dots spent, a vote cast and the plan signed, by key
  presses alone, each confirmed through the page's live region;
* text at 200 % on a 360-px phone at every stage: nothing scrolls sideways and
  no control is cut off;
* the projector's text against its background, computed from the computed
  styles at every stage, at least 7:1.

The room's content is made through the live API (tests/support.py) so each test
drives only what it is about; the screens are real pages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from . import a11y
from .browser import Page, Pages
from .conftest import PASSWORD
from .support import LiveClient, join
from .test_browser import PHONE_WIDTH, join_on_phone, username_of

pytestmark = pytest.mark.browser

OTHERS = (
    ("Bilal Khan", "WHO", "Development partners"),
    ("Chen Wei", "Nursing and Midwifery Council of the Republic", "Professional regulation"),
)


def ok(ack: dict[str, Any]) -> dict[str, Any]:
    assert ack["ok"], ack
    return ack


class Room:
    """A workshop from the test kit with a console and two phones on the live API."""

    def __init__(self, room: dict[str, Any]) -> None:
        self.base = room["base"]
        self.workshop = room["workshop"]
        self.api = LiveClient(self.base, self.workshop.id, "console", room["facilitator"]).connect()
        self.stages_list = self.api.snapshots[0]["stages"]
        self.stages = {s["type"]: s for s in self.stages_list}
        self.phones: list[LiveClient] = []
        for name, organisation, sector in OTHERS:
            http = join(self.base, self.workshop.code, name, organisation, sector)
            self.phones.append(LiveClient(self.base, self.workshop.id, "phone", http).connect())

    def call(self, client: LiveClient, name: str, data: dict[str, Any]) -> dict[str, Any]:
        return ok(client.call(name, data))

    def go(self, kind: str) -> dict[str, Any]:
        stage = self.stages[kind]
        self.call(self.api, "stage:goto", {"stage_id": stage["id"]})
        return stage

    def snapshot(self) -> dict[str, Any]:
        return self.api.call("sync:request", {}, with_id=False)["snapshot"]

    def participant(self, name: str) -> int:
        return next(p["id"] for p in self.snapshot()["participants"] if p["name"] == name)

    # -- content of each stage, as the room would make it --------------------------------

    def fill_map(self) -> list[dict[str, Any]]:
        cards = [
            self.call(self.api, "stakeholder:add", {"name": name, "power": p, "interest": i})
            for name, p, i in (
                ("Ministry of Finance, budget and expenditure department", 6, 9.5),
                ("Community health worker networks", 1, 0.5),
                ("Public Service Commission", 7, 2),
            )
        ]
        items = [c["stakeholder"] for c in cards]
        self.call(self.api, "stakeholder:update", {
            "stakeholder_id": items[0]["id"], "version": items[0]["version"], "position": -2,
        })  # fmt: skip
        self.call(self.api, "map:mode", {"participatory": True})
        for phone, (power, interest) in zip(self.phones, ((8, 3), (2, 9)), strict=True):
            self.call(phone, "placement:set", {
                "stakeholder_id": items[0]["id"], "power": power, "interest": interest,
            })  # fmt: skip
        return items

    def fill_board(self) -> None:
        board = self.snapshot()["boards"][str(self.stages["board"]["id"])]
        assert board is not None
        self.call(self.api, "group:create", {"title": "Finance", "x": 40, "y": 40})
        for phone, (text, colour) in zip(
            self.phones,
            (("Salaries paid three months late", "pink"), ("Too few tutors", "blue")),
            strict=True,
        ):
            self.call(phone, "note:create", {"text": text, "colour": colour, "x": 300, "y": 200})

    def fill_agenda(self) -> None:
        items = [
            self.call(self.phones[0], "agenda:propose", {"title": title})["item"]
            for title in ("Rural retention allowances", "Training budgets")
        ]
        self.call(self.phones[1], "agenda:dot", {"dots": {str(items[0]["id"]): 2}})
        self.call(self.api, "agenda:reveal", {})
        self.call(self.api, "agenda:current", {"item_id": items[0]["id"]})
        self.call(self.api, "agenda:timer", {"command": "start"})

    def open_poll(self) -> dict[str, Any]:
        poll = self.call(
            self.api,
            "poll:create",
            {"title": "Adopt retention as priority one", "method": "consensus"},
        )["poll"]
        self.call(self.api, "poll:open", {"poll_id": poll["id"]})
        for phone, choice in zip(self.phones, ("agree", "block"), strict=True):
            reason = "Not funded yet" if choice == "block" else ""
            ballot = {"poll_id": poll["id"], "choice": choice, "reason": reason}
            self.call(phone, "poll:vote", ballot)
        return poll

    def fill_plan(self) -> None:
        rows = (
            {
                "activity": "Pay a rural allowance",
                "lead": "Ministry of Finance",
                "due": "2027-06-30",
                "indicator": "Share of rural posts filled",
            },
            {"activity": "Publish vacancy data every quarter"},
        )
        for fields in rows:
            self.call(self.api, "plan:add", {"fields": fields})

    def freeze_and_sign(self, me: str) -> dict[str, Any]:
        version = self.call(self.api, "plan:freeze", {"override_reason": "Leads agreed next week"})
        for name in (me, *(o[0] for o in OTHERS)):
            self.call(self.api, "signoff:name", {"participant_id": self.participant(name)})
        return version["version"]

    def sign_others(self, version: dict[str, Any]) -> None:
        for phone, decision in zip(
            self.phones, ("endorse_with_reservations", "decline"), strict=True
        ):
            self.call(phone, "signoff:sign", {
                "version_id": version["id"], "decision": decision, "full_name": "A. Person",
                "title": "Director", "text": "Subject to the budget round.",
            })  # fmt: skip

    def close(self) -> None:
        for client in (self.api, *self.phones):
            client.close()


@pytest.fixture
def live_room(room: dict[str, Any]) -> Any:
    opened = Room(room)
    yield opened
    opened.close()


def stage_shown(page: Page, stage: dict[str, Any]) -> None:
    page.wait_text('[data-bind="stage-title"]', stage["title"], timeout=15)


def announced(page: Page, text: str, what: str) -> None:
    page.wait_for(
        "document.querySelector('[data-bind=\"announce\"][aria-live]')"
        f".textContent.includes({json.dumps(text)})",
        f"the live region to say {what}",
    )


# -- axe on the remaining pages -----------------------------------------------------------


def test_pages_a_workshop_does_not_pass_through_pass_axe(
    pages: Pages, room: dict[str, Any], factory: Any
) -> None:
    home = pages.phone("home", "/")
    a11y.check(home, "home (join code)")
    home.fill("#code", "NOSUCH")
    home.tap('form button[type="submit"]')
    home.wait_for("!!document.querySelector('.error')", "the refusal")
    a11y.check(home, "home with an unknown code")

    login = pages.open("login", "/login")
    login.fill("#username", "nobody")
    login.fill("#password", "wrong password")
    login.click('form button[type="submit"]')
    login.wait_for("!!document.querySelector('.error')", "the refusal")
    a11y.check(login, "log-in page with an error")

    # A draft: the console opens on its programme panel, with the draft banner.
    draft = factory.workshop(room["user_id"])
    with_draft = LiveClient(room["base"], draft.id, "console", room["facilitator"]).connect()
    try:
        console = pages.open("console", "/login")
        console.fill("#username", username_of(room["user_id"]))
        console.fill("#password", PASSWORD)
        console.click('form button[type="submit"]')
        console.wait_for("location.pathname === '/console'", "the workshops list")
        console.goto(f"{pages.base}/w/{draft.id}/console")
        console.wait_text('[data-bind="connection"]', "live")
        console.wait_for("!!document.querySelector('.programme .design-stage')", "the programme")
        console.evaluate("document.querySelector('[data-bind=\"programme\"]').open = true")
        a11y.check(console, "console with the programme panel open")
    finally:
        with_draft.close()

    # A closed workshop's join link.
    closed = factory.workshop(room["user_id"])
    closing = LiveClient(room["base"], closed.id, "console", room["facilitator"]).connect()
    try:
        ok(closing.call("workshop:close", {}))
    finally:
        closing.close()
    late = pages.phone("late", f"/j/{closed.code}")
    late.wait_for("!!document.querySelector('h1')", "the page")
    a11y.check(late, "a closed workshop's join page")
    # The refusals above are answered 401 and 404 on purpose; nothing else may fail.
    refused = tuple(f"{pages.base}{path}" for path in ("/join", "/login", f"/j/{closed.code}"))
    unexpected = [
        p for p in pages.problems() if not (p.endswith(refused) and (" 401" in p or " 404" in p))
    ]
    assert unexpected == [], "\n".join(unexpected)
    assert pages.foreign_requests() == []
    a11y.write_results("pages")


# -- the keyboard only --------------------------------------------------------------------


def test_a_participant_does_everything_with_the_keyboard(pages: Pages, live_room: Room) -> None:
    """No tap, no click, no drag: Tab, arrows, Space, Enter and typed characters."""
    workshop = live_room.workshop
    phone = pages.open("keyboard", None, width=1024, height=768)  # a laptop, no touch
    join_on_keyboard(pages, phone, workshop.code)
    phone.wait_text('[data-bind="connection"]', "live")
    # Drawn from its snapshot (only the script writes it): stage changes are news from here.
    phone.wait_text('[data-bind="stage-count"]', f"Stage 1 of {len(live_room.stages_list)}")

    # A note: typed, added, then moved with the arrow keys and into an area.
    stage = live_room.go("board")
    stage_shown(phone, stage)
    announced(phone, stage["title"], "the new stage")
    live_room.call(live_room.api, "group:create", {"title": "Finance", "x": 700, "y": 400})
    a11y.tab_to(phone, "#note-text")
    a11y.type_text(phone, "Posts stay vacant for a year")
    a11y.tab_to(phone, '[data-form="note"] button[type="submit"]')
    a11y.press(phone, "Enter")
    announced(phone, "Your note is on the board.", "the note added")

    def notes() -> list[dict[str, Any]]:
        return live_room.snapshot()["boards"][str(stage["id"])]["notes"]

    note = next(n for n in notes() if n["text"] == "Posts stay vacant for a year")
    # From a known place (the facilitator's move), so no step is stopped by the edge.
    live_room.call(live_room.api, "note:move", {"note_id": note["id"], "x": 300, "y": 200})
    phone.wait_for(
        "window.facilitatorLive.state.boards[" + json.dumps(str(stage["id"])) + "].notes"
        f".find((n) => n.id === {note['id']}).x === 300",
        "the note at its starting place",
    )
    a11y.tab_to(phone, ".note.mine")
    for _ in range(3):
        a11y.press(phone, "ArrowRight")
    a11y.press(phone, "ArrowDown", shift=True)

    def moved() -> bool:
        now = next(n for n in notes() if n["id"] == note["id"])
        return (now["x"], now["y"]) == (360, 300)

    try:
        live_room.api.wait_for(moved, "the note moved by three steps right and a big step down")
    except AssertionError:
        now = next(n for n in notes() if n["id"] == note["id"])
        raise AssertionError(
            f"the note is at {now['x']}, {now['y']}, not 360, 300; the phone shows "
            + phone.evaluate("document.querySelector('.note.mine').style.cssText")
            + f"; problems: {pages.problems()}; focus: "
            + str(phone.evaluate("document.activeElement?.outerHTML.slice(0, 80)"))
        ) from None
    assert a11y.focused(phone, ".note.mine"), "the focus stays on the note while it moves"
    a11y.press(phone, "Enter")  # opens it, as a tap does
    phone.wait_for("!document.querySelector('.note-editor').hidden", "the note's editor")
    a11y.tab_to(phone, "#note-area")
    a11y.press(phone, "ArrowDown")  # a closed select takes the next option from the arrow key
    announced(phone, "Moved to Finance.", "the move into the area")

    # A stakeholder placed with the sliders' keys and saved.
    stage = live_room.go("stakeholder_map")
    stage_shown(phone, stage)
    card = live_room.call(live_room.api, "stakeholder:add", {"name": "Ministry of Finance"})
    card_id = card["stakeholder"]["id"]
    live_room.call(live_room.api, "map:mode", {"participatory": True})
    power = f'[data-place-card="{card_id}"] input[aria-label^="Power"]'
    phone.wait_for(f"!!document.querySelector({json.dumps(power)})", "the placement card")
    a11y.tab_to(phone, power)
    a11y.press(phone, "End")
    a11y.tab_to(phone, f'[data-place-card="{card_id}"] input[aria-label^="Interest"]')
    a11y.press(phone, "Home")
    for _ in range(2):
        a11y.press(phone, "ArrowRight")
    a11y.tab_to(phone, f'[data-place="{card_id}"]')
    a11y.press(phone, "Enter")
    announced(phone, "Ministry of Finance placed: power 10, interest 1.", "the placement")
    mine = live_room.snapshot()["stakeholders"]["summaries"][str(card_id)]
    assert mine["count"] == 1 and mine["power"] == 10 and mine["interest"] == 1, mine

    # Dots: two on one topic, one on another, saved.
    stage = live_room.go("agenda")
    stage_shown(phone, stage)
    first = live_room.call(live_room.phones[0], "agenda:propose", {"title": "Rural allowances"})
    second = live_room.call(live_room.phones[0], "agenda:propose", {"title": "Training budgets"})
    a, b = first["item"]["id"], second["item"]["id"]
    phone.wait_for("document.querySelectorAll('[data-add-dot]').length === 2", "the topics")
    a11y.tab_to(phone, f'[data-add-dot="{a}"]')
    a11y.press(phone, "Enter")
    a11y.press(phone, " ")
    a11y.tab_to(phone, f'[data-add-dot="{b}"]')
    a11y.press(phone, "Enter")
    phone.wait_text('[data-bind="dots-left"]', "0 of 3 dots left")
    a11y.tab_to(phone, '[data-action="save-dots"]')
    a11y.press(phone, "Enter")
    announced(phone, "Your dots are saved.", "the dots saved")
    agenda = live_room.snapshot()["agendas"][str(stage["id"])]
    assert agenda["voters"] == 1

    # A vote: the arrow keys choose within the radio group, Enter on the button casts.
    stage = live_room.go("vote")
    stage_shown(phone, stage)
    poll = live_room.call(live_room.api, "poll:create", {"title": "Adopt", "method": "consensus"})
    poll_id = poll["poll"]["id"]
    live_room.call(live_room.api, "poll:open", {"poll_id": poll_id})
    announced(phone, "Voting is open: Adopt.", "the poll opened")
    a11y.tab_to(phone, f'input[name="poll-{poll_id}"]')
    a11y.press(phone, " ")  # the first choice, "agree"
    a11y.press(phone, "ArrowDown")  # the next: "abstain"
    assert (
        phone.evaluate(f"document.querySelector('input[name=\"poll-{poll_id}\"]:checked').value")
        == "abstain"
    )
    a11y.tab_to(phone, f'[data-vote="{poll_id}"]')
    a11y.press(phone, "Enter")
    announced(phone, "Your vote is counted", "the vote counted")
    live_room.call(live_room.api, "poll:close", {"poll_id": poll_id})
    announced(phone, "Result of Adopt:", "the result")

    # Signing for the organisation: a decision, a title, the button.
    live_room.go("action_plan")
    live_room.fill_plan()
    version = live_room.freeze_and_sign("Keyboard User")
    stage = live_room.go("signoff")
    stage_shown(phone, stage)
    phone.wait_for("!!document.querySelector('[data-form=\"sign\"]')", "the signing form")
    a11y.tab_to(phone, 'input[name="decision"]')
    a11y.press(phone, " ")
    assert (
        phone.evaluate("document.querySelector('input[name=\"decision\"]:checked').value")
        == "endorse"
    )
    a11y.tab_to(phone, "#sign-title")
    a11y.type_text(phone, "Director of Planning")
    a11y.tab_to(phone, '[data-action="sign"]')
    a11y.press(phone, "Enter")
    announced(phone, "Your signature for Ministry of Health is recorded.", "the signature")
    signatures = live_room.snapshot()["signoff"]["version"]["signatures"]
    assert [(s["organisation"], s["decision"], s["title"]) for s in signatures] == [
        ("Ministry of Health", "endorse", "Director of Planning")
    ]
    assert version["id"] == live_room.snapshot()["signoff"]["version"]["id"]
    pages.assert_clean()


def join_on_keyboard(pages: Pages, phone: Page, code: str) -> None:
    """The join form, filled and sent with the keyboard."""
    phone.goto(f"{pages.base}/j/{code}")
    phone.wait_for("document.readyState === 'complete'", "the join form")
    a11y.tab_to(phone, "#name")
    a11y.type_text(phone, "Keyboard User")
    a11y.press(phone, "Tab")
    assert a11y.focused(phone, "#organisation")
    a11y.type_text(phone, "Ministry of Health")
    a11y.press(phone, "Tab")
    assert a11y.focused(phone, "#sector")
    a11y.press(phone, "ArrowDown")  # the first sector
    assert phone.evaluate("document.getElementById('sector').value") == "Health"
    a11y.tab_to(phone, '#join-form button[type="submit"]')
    a11y.press(phone, "Enter")
    phone.wait_for(
        "!!document.getElementById('phone')", "the phone screen after joining", timeout=15
    )


# -- text at 200 % on a phone ---------------------------------------------------------------

#: Every control of the page that is cut off (its content wider than its box) or reaches
#: out of the viewport; and the page's own width against the viewport's.
OVERFLOW = (Path(__file__).parent / "pagejs" / "overflow.js").read_text(encoding="utf-8")


#: The browser's default font sizes doubled (16 -> 32 px, monospace 13 -> 26 px).
LARGE_TEXT = {"fontSizes": {"standard": 32, "fixed": 26}}


def large_text(phone: Page, what: str) -> None:
    """Nothing scrolls sideways, no control is cut off; a screenshot for the record."""
    # Set again: Chromium drops the setting when the emulated screen is resized (as a
    # full-page screenshot does).
    phone.send("Page.setFontSizes", LARGE_TEXT)
    phone.wait_for(
        "getComputedStyle(document.documentElement).fontSize === '34px'", "the text at 200 %"
    )
    found = phone.evaluate(OVERFLOW)
    a11y.screenshot(phone, a11y.artifacts("text-200") / f"{what}.png")
    assert found["root"] == "34px", f"the text is not at 200 %: root font {found['root']}"
    # A phone widens its layout to fit content that is too wide: that is the sideways scroll.
    assert found["width"] == PHONE_WIDTH, (
        f"{what} at 200 % text: the page is laid out {found['width']} px wide on a "
        f"{PHONE_WIDTH}-px phone"
    )
    assert found["scroll"] <= found["width"] + 1, (
        f"{what} at 200 % text: the page scrolls sideways "
        f"({found['scroll']} px in {found['width']})"
    )
    assert not found["bad"], f"{what} at 200 % text:\n" + "\n".join(found["bad"])


def test_phone_text_at_200_percent_keeps_everything_in_reach(pages: Pages, live_room: Room) -> None:
    """The browser's text size doubled (as a reader's setting does), on a 360-px phone."""
    workshop = live_room.workshop
    phone = pages.phone("large text")
    # The browser's default font size, 16 -> 32 px: the page's text follows it, since its
    # root size is a percentage.
    phone.send("Page.setFontSizes", LARGE_TEXT)
    phone.goto(f"{pages.base}/j/{workshop.code}")
    phone.wait_for("!!document.getElementById('join-form')", "the join form")
    large_text(phone, "01-join")
    join_on_phone(pages, phone, workshop.code, "Amina Yusuf", "Ministry of Health", "Health")
    large_text(phone, "02-welcome")

    stage = live_room.go("board")
    stage_shown(phone, stage)
    live_room.fill_board()
    phone.fill("#note-text", "Too few midwives in rural districts")
    phone.tap('[data-form="note"] button[type="submit"]')
    phone.wait_for("document.querySelectorAll('.note').length === 3", "the notes")
    phone.evaluate("document.querySelector('.note.mine').click()")  # its editor, with areas
    phone.wait_for("!document.querySelector('.note-editor').hidden", "the editor")
    large_text(phone, "03-board")

    stage = live_room.go("stakeholder_map")
    stage_shown(phone, stage)
    live_room.fill_map()
    phone.wait_for("document.querySelectorAll('[data-place-card]').length === 3", "the cards")
    large_text(phone, "04-map")
    live_room.call(live_room.api, "map:mode", {"participatory": False})
    phone.wait_for("document.querySelectorAll('.grid-surface .card').length === 3", "the grid")
    large_text(phone, "05-map-grid")

    stage = live_room.go("agenda")
    stage_shown(phone, stage)
    items = [
        live_room.call(live_room.phones[0], "agenda:propose", {"title": title})["item"]
        for title in ("Rural retention allowances for nurses and midwives", "Training budgets")
    ]
    phone.wait_for("document.querySelectorAll('[data-add-dot]').length === 2", "the topics")
    phone.tap(f'[data-add-dot="{items[0]["id"]}"]')
    large_text(phone, "06-agenda")

    stage = live_room.go("vote")
    stage_shown(phone, stage)
    poll = live_room.open_poll()
    phone.wait_for(f"!!document.querySelector('[data-poll=\"{poll['id']}\"]')", "the ballot")
    large_text(phone, "07-vote")
    live_room.call(live_room.api, "poll:close", {"poll_id": poll["id"]})
    phone.wait_for("!!document.querySelector('[data-outcome]')", "the result")
    large_text(phone, "08-vote-result")

    stage = live_room.go("action_plan")
    stage_shown(phone, stage)
    live_room.fill_plan()
    phone.wait_for("document.querySelectorAll('.plan-card').length === 2", "the plan")
    large_text(phone, "09-plan")

    version = live_room.freeze_and_sign("Amina Yusuf")
    stage = live_room.go("signoff")
    stage_shown(phone, stage)
    phone.wait_for("!!document.querySelector('[data-form=\"sign\"]')", "the signing form")
    large_text(phone, "10-signoff")
    live_room.sign_others(version)
    phone.tap('label[for="sign-endorse"]')
    phone.fill("#sign-title", "Director")
    phone.tap('[data-action="sign"]')
    phone.wait_for("!!document.querySelector('[data-signed]')", "the signature")
    large_text(phone, "11-signed")
    pages.assert_clean()


# -- the projector's contrast ----------------------------------------------------------------

#: Each visible text of the page (a text node's element, not hidden, not covered) with its
#: colour against the colour behind it: the element's own background or the first
#: ancestor's that has one, blended over what lies below while translucent, and the
#: element's and its ancestors' opacity applied to the text.
CONTRAST = (Path(__file__).parent / "pagejs" / "contrast.js").read_text(encoding="utf-8")


def contrast_at_least_7(projector: Page, what: str) -> int:
    texts = projector.evaluate(CONTRAST)
    a11y.screenshot(projector, a11y.artifacts("projector-contrast") / f"{what}.png", full=False)
    low = [t for t in texts if t["ratio"] < 7]
    assert texts, f"{what}: no text measured on the projector"
    assert not low, f"projector, {what}: text below 7:1\n" + "\n".join(
        f"  {t['ratio']}:1 {t['text']!r} (.{t['cls']}) {t['fg']} on {t['bg']}" for t in low
    )
    return len(texts)


def test_projector_text_has_contrast_of_7_to_1_at_every_stage(
    pages: Pages, live_room: Room
) -> None:
    workshop = live_room.workshop
    projector = pages.open(
        "projector",
        f"/w/{workshop.id}/projector?key={workshop.projector_key}",
        width=1280,
        height=720,
    )
    projector.wait_text('[data-bind="count"]', "2", timeout=15)
    measured = {"welcome": contrast_at_least_7(projector, "01-welcome")}

    stage = live_room.go("stakeholder_map")
    stage_shown(projector, stage)
    cards = live_room.fill_map()
    projector.wait_for(
        f"!!document.querySelector('[data-median-for=\"{cards[0]['id']}\"]')", "the median"
    )
    measured["map"] = contrast_at_least_7(projector, "02-map")

    stage = live_room.go("board")
    stage_shown(projector, stage)
    live_room.fill_board()
    projector.wait_for("document.querySelectorAll('.note').length === 2", "the notes")
    measured["board"] = contrast_at_least_7(projector, "03-board")

    stage = live_room.go("agenda")
    stage_shown(projector, stage)
    live_room.fill_agenda()
    projector.wait_for("!!document.querySelector('.current-item [data-timer]')", "the timer")
    measured["agenda"] = contrast_at_least_7(projector, "04-agenda")

    stage = live_room.go("vote")
    stage_shown(projector, stage)
    poll = live_room.open_poll()
    projector.wait_for(
        "document.querySelector('[data-turnout]')?.dataset.turnout === '2'", "the turnout"
    )
    measured["vote open"] = contrast_at_least_7(projector, "05-vote-open")
    live_room.call(live_room.api, "poll:close", {"poll_id": poll["id"]})
    projector.wait_for("!!document.querySelector('[data-decision]')", "the outcome")
    measured["vote result"] = contrast_at_least_7(projector, "06-vote-result")

    stage = live_room.go("action_plan")
    stage_shown(projector, stage)
    live_room.fill_plan()
    projector.wait_for("document.querySelectorAll('.plan-compact tbody tr').length === 2", "rows")
    measured["plan"] = contrast_at_least_7(projector, "07-plan")

    join(live_room.base, workshop.code, "Amina Yusuf", "Ministry of Health", "Health")
    version = live_room.freeze_and_sign("Amina Yusuf")
    stage = live_room.go("signoff")
    stage_shown(projector, stage)
    live_room.sign_others(version)
    projector.wait_for("!!document.querySelector('.share-qr')", "the signatures and the QR code")
    measured["signoff"] = contrast_at_least_7(projector, "08-signoff")

    live_room.call(live_room.api, "display:set", {"share_of_voice": True})
    projector.wait_for(
        "!document.querySelector('[data-bind=\"voice-overlay\"]').hidden"
        " && !!document.querySelector('table.voice tbody tr')",
        "the share of voice",
    )
    measured["share of voice"] = contrast_at_least_7(projector, "09-share-of-voice")
    print("\nprojector texts measured at 7:1 or more:", measured)
    pages.assert_clean()


def test_the_facilitator_groups_notes_and_places_cards_without_dragging(
    pages: Pages, live_room: Room, room: dict[str, Any]
) -> None:
    """Every drag of the console has a keyboard way: notes into groups, groups and
    map cards moved with the arrow keys."""
    console = pages.open("console", "/login")
    console.fill("#username", username_of(room["user_id"]))
    console.fill("#password", PASSWORD)
    console.click('form button[type="submit"]')
    console.wait_for("location.pathname === '/console'", "the workshops list")
    console.goto(f"{pages.base}/w/{live_room.workshop.id}/console")
    console.wait_text('[data-bind="connection"]', "live")

    stage = live_room.go("board")
    live_room.fill_board()
    group = next(g for g in live_room.snapshot()["boards"][str(stage["id"])]["groups"])
    console.wait_for("document.querySelectorAll('.console-board .note').length === 2", "notes")
    # A group title: Enter selects it, the arrow keys move it.
    a11y.tab_to(console, f'[data-group-title="{group["id"]}"]')
    a11y.press(console, "ArrowRight", shift=True)
    a11y.press(console, "ArrowDown")

    def board() -> dict[str, Any]:
        return live_room.snapshot()["boards"][str(stage["id"])]

    live_room.api.wait_for(
        lambda: [(g["x"], g["y"]) for g in board()["groups"]] == [(140, 60)],
        "the group moved by a big step right and a step down",
    )
    # A note: Enter selects it, and the selection offers the groups.
    note = next(n for n in board()["notes"] if n["text"] == "Too few tutors")
    a11y.tab_to(console, f'.console-board [data-note-id="{note["id"]}"]')
    a11y.press(console, "Enter")
    console.wait_for(
        "!!document.querySelector('[data-control=\"note-group\"]')", "the group choice"
    )
    a11y.tab_to(console, '[data-control="note-group"]')
    a11y.press(console, "ArrowDown")
    live_room.api.wait_for(
        lambda: (
            next(n for n in board()["notes"] if n["id"] == note["id"])["group_id"] == group["id"]
        ),
        "the note in the group",
    )

    # A map card: the arrow keys place it, each press stored.
    live_room.go("stakeholder_map")
    card = live_room.call(
        live_room.api, "stakeholder:add", {"name": "Ministry of Finance", "power": 5, "interest": 5}
    )["stakeholder"]
    a11y.tab_to(console, f'.grid-surface [data-stakeholder-id="{card["id"]}"]')
    for key in ("ArrowUp", "ArrowUp", "ArrowLeft"):
        a11y.press(console, key)

    def placed() -> tuple[float, float]:
        item = next(
            i for i in live_room.snapshot()["stakeholders"]["items"] if i["id"] == card["id"]
        )
        return item["power"], item["interest"]

    live_room.api.wait_for(lambda: placed() == (6, 4.5), "the card one point up, half left")
    assert a11y.focused(console, f'[data-stakeholder-id="{card["id"]}"]'), "the focus stays"
    a11y.check(console, "console, map card moved by keyboard")
    pages.assert_clean()
