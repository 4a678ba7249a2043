"""A whole workshop in headless Chromium, from the shipped HRH Action Framework kit.

One facilitator console, one projector and five phones (360 x 740, touch) go
through every stage of the kit as people in the room would: the phones join by
the workshop's URL, write notes on the board, propose and place stakeholders,
propose agenda topics and spend their dots, vote, offer to lead and propose
actions, and, named as their organisations' representatives, sign the frozen
plan; the facilitator drives the console with its own buttons; the organiser
downloads the signed PDF and checks its hash on the verify page.

At every stage each screen is photographed into the artifacts folder
(``test-artifacts/workshop/<nn>-<stage>-<screen>.png``, or under
$FACILITATOR_ARTIFACTS), each screen is checked for what that stage shows, and
axe-core checks the console, the projector (with the AAA contrast rule) and a
phone for serious or critical accessibility violations (tests/a11y.py).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import pytest

from facilitator.core.config import PROJECT_ROOT
from facilitator.core.db import db
from facilitator.domain.kits import KitLibrary
from facilitator.domain.seeding import create_workshop

from . import a11y
from .browser import Page, Pages
from .conftest import PASSWORD
from .test_browser import js, no_horizontal_scroll

pytestmark = pytest.mark.browser

KIT = "hrh-action-framework"
SHIPPED = KitLibrary(PROJECT_ROOT / "workshop_kits")
#: Stage types the console's tools and the phones' views are checked at.
STAGE_TYPES = (
    "welcome", "board", "stakeholder_map", "agenda", "vote", "action_plan", "signoff", "close"
)  # fmt: skip
#: Generous for a busy two-core machine; every wait ends as soon as its condition holds.
WAIT = 20.0


@dataclass
class Person:
    name: str
    organisation: str
    sector: str
    page: Page | None = None

    @property
    def phone(self) -> Page:
        assert self.page is not None
        return self.page


PEOPLE = (
    Person("Amina Yusuf", "Ministry of Health", "Health"),
    Person("Bilal Khan", "WHO country office", "Development partners"),
    Person("Chen Wei", "Nursing and Midwifery Council", "Professional regulation"),
    Person("Dina Osei", "Ministry of Finance", "Finance"),
    Person("Emeka Obi", "Health Workers Union", "Public service and labour"),
)


class Room:
    """The screens of the workshop, with the checks every stage shares."""

    def __init__(self, pages: Pages, workshop: Any, kit: Any) -> None:
        self.pages = pages
        self.workshop = workshop
        self.kit = kit
        self.folder = a11y.artifacts("workshop")
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.console: Page
        self.projector: Page
        self.people = [Person(p.name, p.organisation, p.sector) for p in PEOPLE]
        self.index = 0
        self.timings: dict[str, float] = {}

    @property
    def phones(self) -> list[Page]:
        return [p.phone for p in self.people]

    def screens(self) -> list[tuple[str, Page]]:
        named = [("console", self.console), ("projector", self.projector)]
        return named + [
            (f"phone{i + 1}-{p.name.split()[0].lower()}", p.phone)
            for i, p in enumerate(self.people)
        ]

    def state(self, expression: str) -> Any:
        """Something from the console's live state (ids the buttons carry)."""
        return self.console.evaluate(
            f"(() => {{ const s = window.facilitatorLive.state; return {expression}; }})()"
        )

    def stage(self) -> dict[str, Any]:
        return self.state("s.stages.find((x) => x.id === s.current_stage_id)")

    def next_stage(self) -> dict[str, Any]:
        """The console's Next button; every screen then shows the new stage."""
        self.index += 1
        total = len(self.kit.stages)
        title = self.kit.stages[self.index].title
        self.console.click('[data-action="next"]')
        self.console.wait_text(".stages li.current button", f"{self.index + 1}. {title}")
        for page in [self.projector, *self.phones]:
            page.wait_text('[data-bind="stage-title"]', title, timeout=WAIT)
            page.wait_text('[data-bind="stage-count"]', f"Stage {self.index + 1} of {total}")
        # Screen readers hear it: the live region of every screen says the new stage.
        said = f"Now stage {self.index + 1} of {total}: {title}."
        for _, page in self.screens():
            page.wait_for(announced(said), "the stage change announced in the live region")
        stage = self.stage()
        assert stage["title"] == title and stage["key"] == self.kit.stages[self.index].id
        if stage["type"] not in ("welcome", "close"):  # the console's tools for the stage
            self.console.wait_text('[data-bind="stage-tools-title"]', title)
        return stage

    def record(self, label: str, *, axe: bool = True) -> None:
        """Photographs every screen; axe checks the console, the projector and a phone."""
        started = time.monotonic()
        tag = f"{self.index + 1:02d}-{label}"
        for name, page in self.screens():
            a11y.screenshot(
                page, self.folder / f"{tag}-{name}.png", full=page is not self.projector
            )
        for page in self.phones:
            no_horizontal_scroll(page)
        if axe:
            a11y.check(self.console, f"console, {label}")
            a11y.check(
                self.projector, f"projector, {label}", rules={"color-contrast-enhanced": True}
            )
            a11y.check(self.phones[0], f"phone, {label}")
        self.timings[label] = time.monotonic() - started


#: The console's live state, where the tests read the ids its buttons carry.
LIVE = "window.facilitatorLive.state"


def q(selector: str) -> str:
    """JavaScript: the first element matching ``selector``, or null."""
    return f"document.querySelector({js(selector)})"


def qa(selector: str) -> str:
    """JavaScript: an array of the elements matching ``selector``."""
    return f"[...document.querySelectorAll({js(selector)})]"


def announced(text: str) -> str:
    """A condition: the page's live region has said ``text``."""
    return f"document.querySelector('[data-bind=\"announce\"]').textContent.includes({js(text)})"


def open_workshop(factory: Any) -> tuple[Any, Any, str]:
    kit = SHIPPED.load(KIT)
    user_id, username = factory.user()
    with db.transaction() as s:
        workshop = create_workshop(s, user_id, KIT, kit, "Provincial HRH planning")
        s.expunge(workshop)
    return workshop, kit, username


def test_a_whole_workshop_on_seven_screens(pages: Pages, factory: Any, live_server: str) -> None:
    started = time.monotonic()
    workshop, kit, username = open_workshop(factory)
    room = Room(pages, workshop, kit)
    assert [s.type for s in kit.stages][:1] == ["welcome"]
    assert set(STAGE_TYPES) <= {s.type for s in kit.stages}

    # -- the facilitator logs in and opens the console; the projector comes up ---------
    console = room.console = pages.open("console", "/login")
    a11y.check(console, "log-in page")
    console.fill("#username", username)
    console.fill("#password", PASSWORD)
    console.click('form button[type="submit"]')
    console.wait_for("location.pathname === '/console'", "the workshops list")
    console.wait_for(
        f"!!document.querySelector('a[href=\"/w/{workshop.id}/console\"]')", "the workshop"
    )
    a11y.check(console, "workshops list")
    a11y.screenshot(console, room.folder / "00-workshops-console.png")
    console.click(f'a[href="/w/{workshop.id}/console"]')
    console.wait_text('[data-bind="connection"]', "live", timeout=WAIT)
    room.projector = pages.open(
        "projector",
        f"/w/{workshop.id}/projector?key={workshop.projector_key}",
        width=1280,
        height=720,
    )
    room.projector.wait_text(
        '[data-bind="stage-count"]', f"Stage 1 of {len(kit.stages)}", timeout=WAIT
    )
    join_url = room.projector.text(".join-label strong") or ""
    assert join_url.endswith(f"/j/{workshop.code}"), join_url

    # -- 1. welcome: five phones join by the URL the projector shows ----------------------
    for i, person in enumerate(room.people):
        phone = person.page = pages.phone(person.name)
        phone.goto(f"{pages.base}/j/{workshop.code}")  # the room's address is this server
        phone.wait_for("!!document.getElementById('join-form')", "the join form")
        if i == 0:
            a11y.check(phone, "phone join page")
            a11y.screenshot(phone, room.folder / "00-join-phone.png")
        phone.fill("#name", person.name)
        phone.fill("#organisation", person.organisation)
        phone.choose("#sector", person.sector)
        phone.tap('#join-form button[type="submit"]')
        phone.wait_text('[data-bind="connection"]', "live", timeout=WAIT)
    room.projector.wait_text('[data-bind="count"]', "5", timeout=WAIT)
    room.projector.wait_text('[data-bind="organisations"]', "5 organisations")
    shown_sectors = room.projector.evaluate(
        qa('[data-bind="sectors"] .sector-name') + ".map((e) => e.textContent)"
    )
    assert sorted(shown_sectors) == sorted(p.sector for p in room.people)
    console.wait_text('[data-bind="count"]', "5")
    for person in room.people:
        console.wait_for(
            qa("[data-participant-id] span") + f".some((s) => s.textContent === {js(person.name)})",
            f"{person.name} in the console's participants",
        )
        person.phone.wait_text('[data-bind="stage-title"]', kit.stages[0].title)
        person.phone.wait_text('[data-bind="me"]', f"{person.name} · {person.organisation}")
        person.phone.wait_for(
            "document.querySelector('[data-bind=\"others\"]')?.textContent === '4'", "4 others here"
        )
    room.record("welcome")

    # -- 2. a board: every phone writes a note; one puts it in an area without dragging ---
    stage = room.next_stage()
    assert stage["type"] == "board"
    areas = kit.stages[1].config["areas"]
    notes = {
        p.name: f"{p.organisation}: figure {i + 1} on staff in post"
        for i, p in enumerate(room.people)
    }
    for i, person in enumerate(room.people):
        phone = person.phone
        phone.fill("#note-text", notes[person.name])
        phone.tap('[data-form="note"] button[type="submit"]')
        phone.wait_for(
            "document.querySelectorAll('.note.mine').length === 1", "my note on my phone"
        )
        phone.wait_text('[data-bind="board-notice"]', "1 note of yours.")
        if i == 0:
            # The first note goes under the first area's title without a drag: a tap
            # (before other notes can cover it) opens it, the editor offers the areas.
            phone.tap(".note.mine")
            phone.wait_for("!!document.querySelector('#note-area')", "the note editor's areas")
            group_id = phone.evaluate(
                "[...document.querySelectorAll('#note-area option')]"
                f".find((o) => o.textContent === {js(areas[0])}).value"
            )
            phone.choose("#note-area", group_id)
            phone.wait_for(announced(f"Moved to {areas[0]}."), "the move announced")
    room.projector.wait_for(
        "document.querySelectorAll('.note').length === 5", "five notes on the projector"
    )
    on_projector = room.projector.evaluate(
        "[...document.querySelectorAll('.note .note-text')].map((e) => e.textContent)"
    )
    assert sorted(on_projector) == sorted(notes.values())
    assert (
        room.projector.evaluate(
            "[...document.querySelectorAll('.group-title')].map((e) => e.textContent)"
        )
        == areas
    )
    # Amina's note now sits under the first area's title, on the projector too.
    room.projector.wait_for(
        f"""(() => {{
          const note = [...document.querySelectorAll('.note')].find((n) =>
            n.textContent.includes({js(notes["Amina Yusuf"])})).getBoundingClientRect();
          const title = [...document.querySelectorAll('.group-title')].find((t) =>
            t.textContent === {js(areas[0])}).getBoundingClientRect();
          return note.top > title.bottom && Math.abs(note.left - title.left) < 40;
        }})()""",
        "the note under its area's title",
    )
    console.wait_for(
        q('[data-bind="selection"]') + "?.textContent.startsWith('5 notes, 3 groups')",
        "the console's board summary",
    )
    room.record("context-board")

    # -- 3. the stakeholder map: a phone proposes, the console accepts, all place --------
    stage = room.next_stage()
    assert stage["type"] == "stakeholder_map"
    starters = len(SHIPPED.load(KIT).stakeholder_map.starters)
    console.wait_text(".stakeholder-list > strong", f"{starters} stakeholders")
    chen = room.people[2].phone
    chen.fill("#propose-name", "Parliamentary health committee")
    chen.tap('[data-form="propose"] button[type="submit"]')
    chen.wait_text('[data-form="propose"] + p', "Sent to the facilitator.")
    proposed = console.wait_for(
        "window.facilitatorLive.state.stakeholders.items.find((i) => i.status === 'proposed')?.id",
        "the proposal on the console",
    )
    console.click(f'[data-accept="{proposed}"]')
    console.wait_text(".stakeholder-list > strong", f"{starters + 1} stakeholders")
    console.click('[data-control="participatory"]')
    finance = room.state("s.stakeholders.items.find((i) => i.name === 'Ministry of Finance').id")
    quadrants = ["keep_satisfied", "keep_satisfied", "manage_closely", "keep_satisfied", "monitor"]
    for person, quadrant in zip(room.people, quadrants, strict=True):
        phone = person.phone
        phone.wait_for(
            f"!!document.querySelector('[data-quadrant=\"{proposed}\"]')",
            "a card for every stakeholder",
        )
        assert (
            phone.evaluate("document.querySelectorAll('[data-place-card]').length") == starters + 1
        )
        phone.choose(f'[data-quadrant="{finance}"]', quadrant)
        phone.tap(f'[data-place="{finance}"]')
        phone.wait_text(f'[data-place-card="{finance}"] .muted', "saved")
        phone.choose(f'[data-quadrant="{proposed}"]', "keep_informed")
        phone.tap(f'[data-place="{proposed}"]')
        phone.wait_text(f'[data-place-card="{proposed}"] .muted', "saved")
    room.projector.wait_for(
        q(f'[data-contested="{finance}"]') + "?.textContent.includes('5 placed')",
        "the Ministry of Finance among the most contested",
    )
    assert room.projector.evaluate(f"!!document.querySelector('[data-median-for=\"{proposed}\"]')")
    assert (
        room.projector.evaluate("document.querySelectorAll('.grid-surface .card').length")
        == starters + 1
    )
    console.wait_for(
        q(f'[data-stakeholder-row="{finance}"]') + "?.textContent.includes('5 placed')",
        "the placements counted on the console",
    )
    room.record("stakeholder-map")

    # -- 4. the SWOT board: its 24 areas on every screen ---------------------------------
    stage = room.next_stage()
    assert stage["type"] == "board"
    room.projector.wait_for(
        "document.querySelectorAll('.group-title').length === 24", "the SWOT areas"
    )
    for phone in room.phones:
        phone.wait_for(
            "document.querySelectorAll('.phone-board .group-title').length === 24", "the areas"
        )
    room.record("swot-board", axe=False)

    # -- 5. the agenda: topics, two dots each, revealed and ordered, the first timed ------
    stage = room.next_stage()
    assert stage["type"] == "agenda"
    topics = ["Rural retention allowances", "Pre-service training places", "Late salary payments"]
    for person, topic in zip(room.people, topics, strict=False):
        person.phone.fill("#agenda-title", topic)
        person.phone.tap('[data-form="agenda"] button[type="submit"]')
    for phone in room.phones:
        phone.wait_for(
            "document.querySelectorAll('[data-agenda-item]').length === 3", "three topics"
        )
    ids = room.state(
        "Object.fromEntries(Object.values(s.agendas)[0].items.map((i) => [i.title, i.id]))"
    )
    ballots = [(0, 1), (0, 1), (0, 2), (0, 1), (0, 2)]  # two dots each: 5, 3 and 2
    for person, picks in zip(room.people, ballots, strict=True):
        phone = person.phone
        for pick in picks:
            phone.tap(f'[data-add-dot="{ids[topics[pick]]}"]')
        phone.wait_text('[data-bind="dots-left"]', "0 of 2 dots left (one per topic)")
        phone.tap('[data-action="save-dots"]')
        phone.wait_text(
            '[data-bind="dots-left"]', "Saved. You can change them until the dots are revealed."
        )
    room.projector.wait_for(
        "document.querySelector('.agenda-view')?.textContent.includes('5 have placed their dots')",
        "the count of who has voted",
    )
    console.click('[data-action="reveal-dots"]')
    console.click('[data-action="order-by-dots"]')
    top = ids[topics[0]]
    console.wait_for(
        q("[data-agenda-host] [data-agenda-item]") + f"?.dataset.agendaItem === '{top}'",
        "the most dotted topic first",
    )
    console.click(f'[data-current="{top}"]')
    console.click('[data-action="timer-start"]')
    room.projector.wait_for(
        f"document.querySelector('[data-agenda-item=\"{top}\"]')?.classList.contains('current')",
        "the current topic on the projector",
    )
    room.projector.wait_for(
        f"/^[0-9]+:[0-9]{{2}}$/.test({q('.current-item [data-timer]')}?.textContent || '')",
        "the timer",
    )
    totals = room.projector.evaluate(
        "[...document.querySelectorAll('[data-agenda-item]')].map((li) => "
        "[li.querySelector('.agenda-title').textContent,"
        " li.querySelector('.dots-total').textContent])"
    )
    assert [(t, re.sub(r"\D", "", d)) for t, d in totals] == [
        (topics[0], "5"),
        (topics[1], "3"),
        (topics[2], "2"),
    ], totals
    for phone in room.phones:
        phone.wait_for(
            f"document.querySelector('.notice')?.textContent.startsWith({js('Now: ' + topics[0])})",
            "the current topic on the phone",
        )
        phone.wait_for(
            announced("Dots revealed"),
            "the reveal announced",
        )
    room.record("agenda")

    # -- 6. a vote: the kit's proposal, opened, five ballots, closed and counted ---------
    stage = room.next_stage()
    assert stage["type"] == "vote"
    poll = room.state(f"s.polls.find((e) => e.poll.stage_id === {stage['id']}).poll")
    console.click(f'[data-open="{poll["id"]}"]')
    room.projector.wait_for(
        "document.querySelector('[data-turnout]')?.dataset.turnout === '0'", "the open poll"
    )
    for person, choice in zip(room.people, (1, 2, 1, 3, 2), strict=True):
        phone = person.phone
        phone.wait_for(f"!!document.querySelector('[data-poll=\"{poll['id']}\"]')", "the ballot")
        phone.tap(f'label[for="c-{poll["id"]}-{choice}"]')
        phone.tap(f'[data-vote="{poll["id"]}"]')
        phone.wait_text(
            '[data-bind="my-vote"]',
            "Your vote is counted; you can change it until the poll closes.",
        )
    room.projector.wait_for(
        "document.querySelector('[data-turnout]')?.dataset.turnout === '5'", "five votes counted"
    )
    room.record("vote-open")
    console.click(f'[data-close="{poll["id"]}"]')
    room.projector.wait_for(
        q(f'[data-outcome="{poll["id"]}"] [data-decision]') + "?.dataset.decision === 'yes'",
        "the outcome on the projector",
    )
    assert "5 of 5 voted" in room.projector.evaluate("document.body.innerText")
    for phone in room.phones:
        phone.wait_for(
            q(f'[data-outcome="{poll["id"]}"] [data-decision]') + "?.textContent === 'Agreed'",
            "the outcome on the phone",
        )
        phone.wait_for(
            announced("Agreed"),
            "the result announced",
        )
    console.wait_for(
        f"!!document.querySelector('[data-outcome=\"{poll['id']}\"]')", "the outcome on the console"
    )
    room.record("vote-result")

    # -- 7. the action plan: rows with one lead each, an offer, a proposal, the freeze ---
    stage = room.next_stage()
    assert stage["type"] == "action_plan"
    rows = [
        (
            "Retain health workers in rural posts",
            "Pay a rural allowance from the next budget",
            "Ministry of Finance",
        ),
        (
            "Retain health workers in rural posts",
            "Publish vacancy data every quarter",
            "Ministry of Health",
        ),
        ("Train enough nurses and midwives", "Accredit two more nursing schools", None),
    ]
    for objective, activity, _ in rows:
        console.fill('[data-control="plan-objective"]', objective)
        console.fill('[data-control="plan-activity"]', activity)
        console.click('[data-action="plan-add"]')
        console.wait_for(
            qa('[data-plan-row] [data-field="activity"]')
            + f".some((e) => e.value === {js(activity)})",
            "the new row",
        )
    row_ids = room.state("Object.fromEntries(s.plan.actions.map((a) => [a.fields.activity, a.id]))")
    for _, activity, lead in rows:
        if lead:
            field = f'[data-plan-row="{row_ids[activity]}"] [data-field="lead"]'
            console.fill(field, lead)
            console.click('[data-bind="version"]')  # leaving the field saves it
            console.wait_for(
                f"{LIVE}.plan.actions.find((a) => a.id === {row_ids[activity]})"
                f".fields.lead === {js(lead)}",
                "the lead saved",
            )
    # The Nursing and Midwifery Council offers to lead the third; the console accepts.
    third = row_ids[rows[2][1]]
    chen.tap(f'[data-offer="{third}"][data-role="lead"]')
    chen.wait_for(f"!!document.querySelector('[data-my-offer=\"{third}\"]')", "my offer waiting")
    council = "Nursing and Midwifery Council"
    console.click(f'[data-settle="{third}:{council}:true"]')
    chen.wait_for(
        q(f'[data-plan-row="{third}"]') + f"?.textContent.includes({js('Lead: ' + council)})",
        "the council shown as lead on the phone",
    )
    # A phone proposes an action; the console accepts it and names its lead.
    bilal = room.people[1].phone
    proposal = "Fund a pre-service training review"
    bilal.fill("#plan-activity", proposal)
    bilal.tap('[data-form="plan-propose"] button[type="submit"]')
    proposed_row = console.wait_for(
        f"{LIVE}.plan.actions.find((a) => a.fields.activity === {js(proposal)})?.id",
        "the proposal on the console",
    )
    console.click(f'[data-accept="{proposed_row}"]')
    console.fill(f'[data-plan-row="{proposed_row}"] [data-field="lead"]', "WHO country office")
    console.click('[data-bind="version"]')
    room.projector.wait_for(
        "document.querySelectorAll('.plan-compact tbody tr').length === 4 && "
        f"!{qa('.plan-compact td.col-lead')}.some((td) => td.classList.contains('missing'))",
        "four rows, each with a lead, on the projector",
    )
    leads = room.projector.evaluate(
        "[...document.querySelectorAll('.plan-compact td.col-lead')].map((td) => td.textContent)"
    )
    assert sorted(leads) == sorted(
        ["Ministry of Finance", "Ministry of Health", council, "WHO country office"]
    )
    room.projector.wait_for(
        q("[data-accountability] h2") + "?.textContent === 'Accountability · 4 actions'",
        "the accountability panel",
    )
    for phone in room.phones:
        phone.wait_for(
            "document.querySelectorAll('.plan-list .plan-card').length === 4",
            "the plan on the phone",
        )
    console.click('[data-action="freeze"]')
    console.wait_for(
        "document.querySelector('[data-version]')?.dataset.version === '1'", "version 1"
    )
    version = room.state("s.signoff.version")
    room.record("action-plan")

    # -- 8 and 9. peer review and the plan's agreement: shown, not driven ----------------
    stage = room.next_stage()
    assert stage["type"] == "board"
    room.projector.wait_for(
        "document.querySelectorAll('.group-title').length === 3", "the review areas"
    )
    room.record("peer-review", axe=False)
    stage = room.next_stage()
    assert stage["type"] == "vote"
    for phone in room.phones:
        phone.wait_text(".stage-body .notice", "The facilitator will open the vote here.")
    room.record("agreement", axe=False)

    # -- 10. sign-off: the console names each organisation's representative; they sign ---
    stage = room.next_stage()
    assert stage["type"] == "signoff"
    participants = room.state("Object.fromEntries(s.participants.map((p) => [p.name, p.id]))")
    for person in room.people:
        select = f"[data-representative={js(person.organisation)}]"
        console.wait_for(f"!!document.querySelector({js(select)})", "the representatives table")
        console.choose(select, str(participants[person.name]))
        console.wait_for(
            f"{LIVE}.signoff.representatives.some((r) => r.name === {js(person.name)})",
            f"{person.name} named",
        )
    decisions = ["endorse", "endorse", "endorse_with_reservations", "endorse", "endorse"]
    for person, decision in zip(room.people, decisions, strict=True):
        phone = person.phone
        phone.wait_for("!!document.querySelector('[data-form=\"sign\"]')", "the signing form")
        phone.tap(f'label[for="sign-{decision}"]')
        phone.fill("#sign-title", "Director")
        if decision != "endorse":
            phone.fill("#sign-text", "Subject to the budget round.")
        phone.tap('[data-action="sign"]')
        phone.wait_for(
            f"document.querySelector('[data-signed]')?.dataset.signed === {js(decision)}",
            "the signature recorded on the phone",
        )
        phone.wait_for(
            announced("is recorded"),
            "the signature announced",
        )
    for person, decision in zip(room.people, decisions, strict=True):
        room.projector.wait_for(
            q(f"[data-org={js(person.organisation)}] [data-sign-state]")
            + f"?.dataset.signState === {js(decision)}",
            f"{person.organisation} signed on the projector",
        )
    room.projector.wait_for(
        q(".share-qr") + f"?.getAttribute('src') === {js(version['share_path'] + '/qr.svg')}"
        " && document.querySelector('.share-qr').naturalWidth > 0",
        "the QR code of the signed plan",
    )
    console.wait_text(
        '[data-bind="signed-count"]',
        "5 of 5 organisations have endorsed version 1. "
        "1 with reservations · 0 declined · 0 not yet",
    )
    room.record("signoff")

    # -- 11. close: the phones offer the signed plan -----------------------------------------
    stage = room.next_stage()
    assert stage["type"] == "close"
    for phone in room.phones:
        phone.wait_for(
            q('[data-download="pdf"]')
            + f"?.getAttribute('href') === {js(version['share_path'] + '.pdf')}",
            "the PDF link on the phone",
        )
    room.record("close")
    assert room.index == len(kit.stages) - 1, "every stage of the kit was shown"

    # -- the organiser downloads the signed PDF and checks its hash -------------------------
    console.goto(f"{pages.base}/workshops/{workshop.id}/plans")
    console.wait_for(f"document.body.textContent.includes({js(version['sha256'])})", "the version")
    assert "5 signatures" in (
        console.text(f'[data-workshop="{workshop.id}"] [data-version="1"]') or ""
    )
    a11y.check(console, "signed plans page")
    a11y.screenshot(console, room.folder / "12-plans-console.png")
    link = console.evaluate(
        qa("a") + ".find((a) => a.textContent.trim() === 'PDF').getAttribute('href')"
    )
    assert link == version["share_path"] + ".pdf"
    # The organiser clicks it: a page says the PDF is being prepared, then it downloads.
    downloads = a11y.artifacts("workshop", "download")
    for old in downloads.iterdir():
        old.unlink()
    console.browser.connection.send(
        "Browser.setDownloadBehavior",
        {
            "behavior": "allow",
            "browserContextId": console.context_id,
            "downloadPath": str(downloads),
        },
    )
    console.click(f'a[href="{link}"]')
    console.wait_for(
        "document.querySelector('[data-render-state]')?.dataset.renderState === 'rendering'",
        "the page saying the PDF is being prepared",
    )
    a11y.check(console, "PDF being prepared page")
    a11y.screenshot(console, room.folder / "12-pdf-rendering-console.png")
    deadline = time.monotonic() + 120
    while not (done := [f for f in downloads.glob("*.pdf") if f.stat().st_size]):
        assert time.monotonic() < deadline, "no PDF downloaded within 120 s"
        time.sleep(0.2)
    # A navigation that turns into a download is reported as aborted: expected here.
    console.failures[:] = [
        f for f in console.failures if f != f"net::ERR_ABORTED {pages.base}{link}"
    ]
    data = done[0].read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 10_000, done
    (room.folder / "signed-plan.pdf").write_bytes(data)
    console.goto(f"{pages.base}{version['share_path']}")
    console.wait_for("!!document.querySelector('[data-signatures]')", "the share page")
    assert console.evaluate("document.querySelectorAll('[data-signatures] li').length") == 5
    a11y.check(console, "plan share page")
    console.goto(f"{pages.base}/verify")
    a11y.check(console, "verify page")
    console.fill("#hash", version["sha256"])
    console.click('form button[type="submit"]')
    console.wait_for(
        "document.querySelector('[data-verdict]')?.dataset.verdict === 'version'", "the verdict"
    )
    a11y.check(console, "verify page with a verdict")
    a11y.screenshot(console, room.folder / "12-verify-console.png")

    pages.assert_clean()
    a11y.write_results("workshop")
    shots = sorted(room.folder.glob("*.png"))
    assert len(shots) == 5 + 7 * 12, len(shots)  # 12 moments of 7 screens, 5 pages
    elapsed = time.monotonic() - started
    print(
        f"\nworkshop: {elapsed:.0f} s; screenshots and axe per stage: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in room.timings.items())
    )
