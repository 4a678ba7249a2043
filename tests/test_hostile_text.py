"""Hostile text (tests/hostile.py) typed as names, organisations, sectors, stakeholders,
notes, agenda items, actions, vote reasons and sign-off reservations shows as the
literal text on the console, the projector and a phone in headless Chromium, runs
nothing, and is printed literally in the signed plan's PDF.

The pages run with their Content-Security-Policy switched off (``Page.setBypassCSP``)
so escaping alone is tested: a payload that became markup would run and call
``__xss``, which every page defines before its own scripts. Bidirectional controls
are removed on input, so none reaches a page or the PDF.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import markupsafe
import pytest
from pypdf import PdfReader

from facilitator.core.db import db
from facilitator.domain.workshops import Workshop

from .browser import Page, Pages
from .conftest import PASSWORD
from .hostile import BIDI_CONTROLS, HOSTILE, shown
from .support import LiveClient, action_id, csrf_from, join
from .test_browser import username_of
from .test_browser_plan import sign_on_phone
from .test_http import login
from .test_plan_exports import fetch_pdf

#: Where each kind of text is typed, as a tag in front of the hostile string, so a
#: page showing a string is known to show it in that place.
TAGS = {
    "name": "Name:",
    "organisation": "Org:",
    "sector": "Sector:",
    "stakeholder": "Stake:",
    "note": "Note:",
    "agenda item": "Agenda:",
    "action": "Action:",
    "reason": "Reason:",
    "reservation": "Reserve:",
}

#: Defined in every page before its scripts: a payload that runs leaves its number.
TRAP = "window.__xss = (n) => { (window.__xssRan = window.__xssRan || []).push(String(n)); };"

#: The page's text as people see it: text nodes (not scripts or styles) and the values
#: of the fields (the console edits plan rows in place).
PAGE_TEXT = """(() => {
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => n.parentElement.closest("script, style, noscript, template")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT });
  const parts = [];
  while (walk.nextNode()) parts.push(walk.currentNode.data);
  for (const field of document.querySelectorAll("input:not([type=hidden]), textarea")) {
    parts.push(field.value);
  }
  return parts.join("\\n");
})()"""

#: Anything a payload would have added had it become markup.
PROBE = f"""(() => {{
  const text = {PAGE_TEXT};
  const onAttributes = [...document.querySelectorAll("*")].filter((el) =>
    [...el.attributes].some((a) => a.name.startsWith("on"))).map((el) => el.outerHTML.slice(0, 80));
  const injected = [...document.querySelectorAll(
    "iframe, math, script:not([src]), body style, img[src='x'], a[href^='javascript:' i]"
  )].map((el) => el.outerHTML.slice(0, 80));
  return {{
    ran: window.__xssRan || [],
    injected: onAttributes.concat(injected),
    bidi: /[\\u202a-\\u202e\\u2066-\\u2069]/.test(text),
    hidden: getComputedStyle(document.body).display === "none"
      || getComputedStyle(document.querySelector("main") || document.body).display === "none",
    evaluated: text.includes("49 ") || text.includes(" 49"),
  }};
}})()"""


#: Marks that print no glyph, so a PDF's text never holds them.
INVISIBLE = dict.fromkeys(map(ord, "\u200e\u200f\u061c"))


def in_pdf(text: str) -> str:
    return "".join(text.translate(INVISIBLE).split())


def tagged(kind: str, text: str) -> str:
    return TAGS[kind] + text


def expected(kind: str, indexes: range | list[int] | None = None) -> list[str]:
    """What the page must show for ``kind``: the tagged strings, less the bidi controls."""
    chosen = range(len(HOSTILE)) if indexes is None else indexes
    return [shown(tagged(kind, HOSTILE[i])) for i in chosen]


def open_page(pages: Pages, name: str, *, phone: bool = False) -> Page:
    page = pages.phone(name) if phone else pages.open(name, width=1280, height=900)
    page.send("Page.setBypassCSP", {"enabled": True})
    page.send("Page.addScriptToEvaluateOnNewDocument", {"source": TRAP})
    return page


class Checks:
    """Every (string, place, page) checked, for the summary printed at the end."""

    def __init__(self) -> None:
        self.count = 0
        self.places: set[tuple[str, str]] = set()

    def shows(self, page: Page, kind: str, strings: list[str], timeout: float = 15) -> None:
        """Wait until ``page`` shows every string as text, then look for anything run."""
        deadline = time.monotonic() + timeout
        while True:
            text = page.evaluate(PAGE_TEXT)
            missing = [s for s in strings if s not in text]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert missing == [], f"{page.name} does not show these {kind}s as text: {missing}"
        self.clean(page)
        self.count += len(strings)
        self.places.add((page.name, kind))

    def clean(self, page: Page) -> None:
        probe = page.evaluate(PROBE)
        assert probe["ran"] == [], f"{page.name}: payloads ran: {probe['ran']}"
        assert probe["injected"] == [], f"{page.name}: markup from text: {probe['injected']}"
        assert not probe["bidi"], f"{page.name} shows a bidirectional control"
        assert not probe["hidden"], f"{page.name} was hidden by injected CSS"
        assert not probe["evaluated"], f"{page.name} evaluated a template expression"


def js(value: Any) -> str:
    return json.dumps(value)


def goto(api: LiveClient, kind: str) -> None:
    stage = next(s for s in api.snapshots[0]["stages"] if s["type"] == kind)
    assert api.call("stage:goto", {"stage_id": stage["id"]})["ok"]


def send_from_page(page: Page, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An action sent by the page's own client (static/js/live.js), as its buttons do."""
    return page.evaluate(
        f"window.facilitatorLive.send({js(name)}, {js(payload)})"
        ".then((ack) => ack, (error) => ({ok: false, error}))"
    )


def ok(ack: dict[str, Any]) -> dict[str, Any]:
    assert ack.get("ok"), ack
    return ack


@pytest.mark.browser
def test_hostile_text_is_literal_text_on_every_screen_and_in_the_pdf(
    pages: Pages, room: dict[str, Any]
) -> None:
    workshop, base = room["workshop"], room["base"]
    checks = Checks()
    api = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    clients: list[LiveClient] = [api]
    first, rest = HOSTILE[0], HOSTILE[1:]
    everyone, me = None, [0]
    try:
        # The first person types the first hostile string on a phone, in the join form
        # and later in the stages' forms; everyone else sends one string each.
        phone = open_page(pages, "phone", phone=True)
        phone.goto(f"{base}/j/{workshop.code}")
        phone.fill("#name", tagged("name", first))
        phone.fill("#organisation", tagged("organisation", first))
        phone.choose("#sector", "__other__")
        phone.fill("#sector_other", tagged("sector", first))
        phone.tap('#join-form button[type="submit"]')
        phone.wait_for("!!document.getElementById('phone')", "the phone screen after joining")
        phone.wait_text('[data-bind="connection"]', "live")
        people = [
            LiveClient(
                base,
                workshop.id,
                "phone",
                join(
                    base,
                    workshop.code,
                    tagged("name", text),
                    tagged("organisation", text),
                    tagged("sector", text),
                ),
            ).connect()
            for text in rest
        ]
        clients += people

        console = open_page(pages, "console")
        console.goto(f"{base}/login")
        console.fill("#username", username_of(room["user_id"]))
        console.fill("#password", PASSWORD)
        console.click('form button[type="submit"]')
        console.wait_for("location.pathname === '/console'", "the workshops list")
        console.goto(f"{base}/w/{workshop.id}/console")
        console.wait_text('[data-bind="connection"]', "live")
        projector = open_page(pages, "projector")
        projector.goto(f"{base}/w/{workshop.id}/projector?key={workshop.projector_key}")
        projector.wait_text('[data-bind="stage-count"]', f"Stage 1 of {len(workshop.stages)}")

        # Who is in the room: every name, organisation and sector on the console, the
        # sectors on the projector, the phone's own name and organisation.
        for kind in ("name", "organisation", "sector"):
            checks.shows(console, kind, expected(kind, everyone))
        checks.shows(projector, "sector", expected("sector", everyone))
        for kind in ("name", "organisation"):
            checks.shows(phone, kind, expected(kind, me))

        # Stakeholders proposed from the phones and accepted by the facilitator.
        goto(api, "stakeholder_map")
        phone.fill("#propose-name", tagged("stakeholder", first))
        phone.tap('[data-form="propose"] button')
        phone.wait_for(
            "document.body.textContent.includes('Sent to the facilitator.')", "the proposal sent"
        )
        for person, text in zip(people, rest, strict=True):
            ok(person.call("stakeholder:add", {"name": tagged("stakeholder", text)}))
        items = api.call("sync:request", {}, with_id=False)["snapshot"]["stakeholders"]["items"]
        for item in items:
            if item["status"] == "proposed":
                ok(api.call("stakeholder:accept", {"stakeholder_id": item["id"]}))
        for page in (console, projector, phone):
            checks.shows(page, "stakeholder", expected("stakeholder", everyone))

        # Notes on the board, with their authors' names (shown by default).
        goto(api, "board")
        phone.fill("#note-text", tagged("note", first))
        phone.tap('[data-form="note"] button[type="submit"]')
        for i, (person, text) in enumerate(zip(people, rest, strict=True)):
            payload = {"text": tagged("note", text), "x": 60.0 * (i % 18), "y": 30.0 * (i // 6)}
            ok(person.call("note:create", payload))
        for page in (console, projector, phone):
            checks.shows(page, "note", expected("note", everyone))
        for page in (console, phone):  # the test kit hides authors on the projector
            checks.shows(page, "name", expected("name", everyone))

        goto(api, "agenda")
        phone.fill("#agenda-title", tagged("agenda item", first))
        phone.tap('[data-form="agenda"] button')
        for person, text in zip(people, rest, strict=True):
            ok(person.call("agenda:propose", {"title": tagged("agenda item", text)}))
        for page in (console, projector, phone):
            checks.shows(page, "agenda item", expected("agenda item", everyone))

        # A named poll: everyone's reason, with their name, once it closes.
        goto(api, "vote")
        poll = ok(
            api.call(
                "poll:create",
                {"title": "Adopt the priorities", "method": "consensus", "anonymous": False},
            )
        )["poll"]
        ok(api.call("poll:open", {"poll_id": poll["id"]}))
        vote = {"poll_id": poll["id"], "choice": "agree"}
        ok(send_from_page(phone, "poll:vote", {**vote, "reason": tagged("reason", first)}))
        for person, text in zip(people, rest, strict=True):
            ok(person.call("poll:vote", {**vote, "reason": tagged("reason", text)}))
        ok(api.call("poll:close", {"poll_id": poll["id"]}))
        for page in (console, projector, phone):
            checks.shows(page, "reason", expected("reason", everyone))
            checks.shows(page, "name", expected("name", everyone))

        # The plan: an action led by each organisation.
        goto(api, "action_plan")
        for text in HOSTILE:
            fields = {"activity": tagged("action", text), "lead": tagged("organisation", text)}
            ok(api.call("plan:add", {"fields": fields}))
        for page in (console, projector, phone):
            checks.shows(page, "action", expected("action", everyone))
            checks.shows(page, "organisation", expected("organisation", everyone))

        # Sign-off: each organisation's representative signs with reservations.
        version = ok(api.call("plan:freeze", {}))["version"]
        for participant in api.call("sync:request", {}, with_id=False)["snapshot"]["participants"]:
            ok(api.call("signoff:name", {"participant_id": participant["id"]}))
        goto(api, "signoff")
        sign_on_phone(phone, "endorse_with_reservations", "Director", tagged("reservation", first))
        for person, text in zip(people, rest, strict=True):
            signature = {
                "version_id": version["id"],
                "decision": "endorse_with_reservations",
                "full_name": tagged("name", text),
                "title": "Director",
                "text": tagged("reservation", text),
            }
            ok(person.call("signoff:sign", signature))
        for kind in ("reservation", "name", "organisation"):
            checks.shows(console, kind, expected(kind, everyone))
        checks.shows(projector, "organisation", expected("organisation", everyone))
        for kind in ("reservation", "name"):
            checks.shows(phone, kind, expected(kind, me))
        pages.assert_clean()

        # The signed plan's PDF prints every one of them as text.
        pdf = fetch_pdf(f"{base}{version['share_path']}.pdf").content
        pdf_text = "".join(in_pdf(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages)
        in_the_pdf = [k for k in TAGS if k != "note"]  # the plan has no board notes
        for kind in in_the_pdf:
            missing = [s for s in expected(kind) if in_pdf(s) not in pdf_text]
            assert missing == [], f"the PDF does not print these {kind}s: {missing}"
        assert not BIDI_CONTROLS.search(pdf_text)
        pdf_checks = len(in_the_pdf) * len(HOSTILE)
    finally:
        for client in clients:
            client.close()
    print(
        f"\n{len(HOSTILE)} hostile strings: {checks.count} shown literally in "
        f"{len(checks.places)} places on the console, projector and phone, none ran; "
        f"{pdf_checks} in the PDF's text ({len(in_the_pdf)} kinds of text)"
    )


# -- pages rendered by the server, and what is stored --------------------------------------------


def app_client(client: Any) -> Any:
    """Another browser (its own cookies) on the same application."""
    return client.application.test_client()


def escaped(text: str) -> str:
    return str(markupsafe.escape(text))


@pytest.mark.parametrize("text", HOSTILE)
def test_pages_rendered_by_the_server_escape_hostile_text(client, factory, text) -> None:
    """The workshop title (typed by a facilitator) on the workshop list, console,
    projector, join form and phone page, and a participant's details in the join form
    sent back with an error and on their phone page: escaped by Jinja every time."""
    user_id, username = factory.user()
    login(client, username)
    page = client.get("/console")
    created = client.post(
        "/workshops",
        data={"kit": "hrh-action-framework", "title": text, "csrf_token": csrf_from(page.text)},
    )
    assert created.status_code == 302, created.text
    workshop_id = int(created.headers["Location"].rsplit("/", 2)[-2])
    with db.reader() as s:
        workshop = s.get(Workshop, workshop_id)
        code, key = workshop.code, workshop.projector_key
    title = shown(text)
    pages = {
        "list": client.get("/console").text,
        "console": client.get(f"/w/{workshop_id}/console").text,
        "projector": client.get(f"/w/{workshop_id}/projector?key={key}").text,
    }
    phone = app_client(client)
    form = phone.get(f"/j/{code}")
    pages["join form"] = form.text
    refused = phone.post(
        f"/j/{code}",
        data={
            "csrf_token": csrf_from(form.text),
            "action_id": action_id(),
            "name": text,
            "organisation": text,
            "sector": "",
        },
    )
    assert refused.status_code == 400
    pages["join form with an error"] = refused.text
    joined = phone.post(
        f"/j/{code}",
        data={
            "csrf_token": csrf_from(form.text),
            "action_id": action_id(),
            "name": text,
            "organisation": text,
            "sector": "Health",
        },
    )
    assert joined.status_code == 302, joined.text
    pages["phone"] = phone.get(f"/j/{code}").text
    for name, html in pages.items():
        assert escaped(title) in html, f"the {name} page does not show the text escaped"
        if escaped(title) != title:
            assert title not in html, f"the {name} page holds the text as markup"
        assert not BIDI_CONTROLS.search(html), name


def test_bidirectional_controls_are_removed_from_everything_typed(room) -> None:
    base, workshop = room["base"], room["workshop"]
    override = "Amina \u202egnp.exe\u202c \u2067\u05e9\u05dc\u05d5\u05dd\u2069 \u200fok"
    clean = "Amina gnp.exe \u05e9\u05dc\u05d5\u05dd \u200fok"  # letters and marks kept
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    phone = LiveClient(
        base, workshop.id, "phone", join(base, workshop.code, override, override, override)
    ).connect()
    try:
        me = phone.snapshots[0]["me"]
        assert (me["name"], me["organisation"], me["sector"]) == (clean, clean, clean)
        goto(console, "board")
        note = phone.call("note:create", {"text": override, "x": 1.0, "y": 1.0})["note"]
        assert note["text"] == clean
        # Nested values too: a plan row's fields.
        goto(console, "action_plan")
        row = console.call("plan:add", {"fields": {"activity": override, "lead": override}})
        assert row["action"]["fields"]["activity"] == clean
        assert row["action"]["fields"]["lead"] == clean
    finally:
        for client in (console, phone):
            client.close()
