"""The action plan and its sign-off in headless Chromium: the console edits rows
field by field and freezes; phones offer their organisation, propose actions and,
as named representatives, sign; the projector shows the signatures and the QR
code of the signed plan."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from .a11y import artifacts, screenshot
from .browser import Page, Pages
from .conftest import PASSWORD
from .support import LiveClient, join
from .test_browser import join_on_phone, js, no_horizontal_scroll, username_of

pytestmark = pytest.mark.browser


def goto(api: LiveClient, kind: str) -> None:
    stage = next(s for s in api.snapshots[0]["stages"] if s["type"] == kind)
    assert api.call("stage:goto", {"stage_id": stage["id"]})["ok"]


def add(api: LiveClient, **fields: Any) -> dict[str, Any]:
    ack = api.call("plan:add", {"fields": fields})
    assert ack["ok"], ack
    return ack["action"]


def snapshot(api: LiveClient) -> dict[str, Any]:
    return api.call("sync:request", {}, with_id=False)["snapshot"]


def participant_id(api: LiveClient, name: str) -> int:
    return next(p["id"] for p in snapshot(api)["participants"] if p["name"] == name)


def open_projector(pages: Pages, workshop: Any) -> Page:
    return pages.open(
        "projector",
        f"/w/{workshop.id}/projector?key={workshop.projector_key}",
        width=1280,
        height=720,
    )


def open_console(pages: Pages, room: dict[str, Any], width: int = 1280, height: int = 800) -> Page:
    workshop = room["workshop"]
    console = pages.open("console", "/login", width=width, height=height)
    console.fill("#username", username_of(room["user_id"]))
    console.fill("#password", PASSWORD)
    console.click('form button[type="submit"]')
    console.wait_for("location.pathname === '/console'", "the workshops list")
    console.goto(f"{pages.base}/w/{workshop.id}/console")
    console.wait_text('[data-bind="connection"]', "live")
    return console


def sign_on_phone(phone: Page, decision: str, title: str, text: str = "") -> None:
    phone.wait_for("!!document.querySelector('[data-form=\"sign\"]')", "the signing form")
    phone.tap(f'label[for="sign-{decision}"]')
    assert phone.evaluate("document.getElementById('sign-name').value"), "name is prefilled"
    phone.fill("#sign-title", title)
    if text:
        phone.fill("#sign-text", text)
    no_horizontal_scroll(phone)
    phone.tap('[data-action="sign"]')
    phone.wait_for(
        f"document.querySelector('[data-signed]')?.dataset.signed === {js(decision)}",
        f"the recorded signature ({decision})",
    )


def sign_state(projector: Page, organisation: str) -> str | None:
    return projector.evaluate(
        f"document.querySelector('[data-org={js(organisation)}] [data-sign-state]')"
        "?.dataset.signState"
    )


def test_representatives_sign_on_their_phones_and_the_projector_shows_it(
    pages: Pages, room: dict[str, Any]
) -> None:
    workshop = room["workshop"]
    api = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    try:
        goto(api, "action_plan")
        amina, bilal = pages.phone("Amina"), pages.phone("Bilal")
        join_on_phone(pages, amina, workshop.code, "Amina Yusuf", "Ministry of Health", "Health")
        join_on_phone(pages, bilal, workshop.code, "Bilal Khan", "WHO", "Development partners")
        add(
            api,
            activity="Fill rural nurse posts",
            lead="Ministry of Health",
            due="2027-06-30",
            indicator="Vacancy rate",
        )
        add(api, activity="Fund a pre-service training review", lead="WHO")
        version = api.call("plan:freeze", {})["version"]
        for name in ("Amina Yusuf", "Bilal Khan"):
            assert api.call("signoff:name", {"participant_id": participant_id(api, name)})["ok"]
        goto(api, "signoff")

        projector = open_projector(pages, workshop)
        projector.wait_for(
            f"document.querySelector('[data-org=\"WHO\"]') && "
            f"document.body.textContent.includes({js(version['sha256'][:12])})",
            "the version and the organisations",
        )
        assert sign_state(projector, "WHO") == "none"
        assert projector.evaluate("!document.querySelector('.share-qr')"), "no QR before signing"

        sign_on_phone(amina, "endorse", "Director, Human Resources")
        projector.wait_for(
            "document.querySelector('[data-org=\"Ministry of Health\"] [data-sign-state]')"
            "?.dataset.signState === 'endorse'",
            "Ministry of Health endorsed on the projector",
        )
        qr = f"{version['share_path']}/qr.svg"
        projector.wait_for(
            f"document.querySelector('.share-qr')?.getAttribute('src') === {js(qr)}",
            "the QR code of the signed plan",
        )
        projector.wait_for(
            "document.querySelector('.share-qr').complete"
            " && document.querySelector('.share-qr').naturalWidth > 0",
            "the QR image drawn (a standalone SVG file)",
        )
        share = projector.text("[data-share]") or ""
        assert "Scan to download the signed plan" in share
        # The address phones reach the server at, as in the QR codes, not the projector's own.
        room_url = urlsplit(projector.text(".join-label strong") or "")
        assert f"{room_url.scheme}://{room_url.netloc}{version['share_path']}" in share

        sign_on_phone(
            bilal, "endorse_with_reservations", "HRH Officer", "Subject to the 2027 budget round."
        )
        projector.wait_for(
            "document.querySelector('[data-org=\"WHO\"] [data-sign-state]')"
            "?.dataset.signState === 'endorse_with_reservations'",
            "WHO endorsed with reservations on the projector",
        )
        assert "Subject to the 2027 budget round." in (bilal.text("[data-signed]") or "")
        for phone in (amina, bilal):
            phone.wait_for(
                "document.querySelector('[data-download=\"pdf\"]')?.getAttribute('href') === "
                f"{js(version['share_path'] + '.pdf')}",
                "the PDF download link",
            )
        signatures = snapshot(api)["signoff"]["version"]["signatures"]
        assert {(s["organisation"], s["decision"], s["representative"]) for s in signatures} == {
            ("Ministry of Health", "endorse", "Amina Yusuf"),
            ("WHO", "endorse_with_reservations", "Bilal Khan"),
        }

        # The organiser finds the signed version on the plans page and downloads its PDF.
        console = open_console(pages, room)
        console.goto(f"{pages.base}/workshops/{workshop.id}/plans")
        console.wait_for(
            f"document.body.textContent.includes({js(version['sha256'])})", "the version hash"
        )
        link = console.evaluate(
            "[...document.querySelectorAll('a')].find((a) => a.textContent.trim() === 'PDF')"
            "?.getAttribute('href')"
        )
        assert link == version["share_path"] + ".pdf"
        download = console.evaluate(
            f"""(async () => {{
              for (let i = 0; i < 200; i++) {{  // the first request starts the rendering
                const r = await fetch({js(link)});
                if (r.status === 200) {{
                  const bytes = new Uint8Array(await r.arrayBuffer());
                  return {{type: r.headers.get('content-type'), size: bytes.length,
                          head: String.fromCharCode(...bytes.slice(0, 5))}};
                }}
                await new Promise((ok) => setTimeout(ok, 300));
              }}
              return null;
            }})()""",
            timeout=90,
        )
        assert download and download["type"] == "application/pdf", download
        assert download["head"] == "%PDF-" and download["size"] > 10_000
        pages.assert_clean()
    finally:
        api.close()


def test_a_phone_offers_to_lead_and_its_proposal_is_shown_as_text(
    pages: Pages, room: dict[str, Any]
) -> None:
    workshop = room["workshop"]
    api = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    try:
        goto(api, "action_plan")
        row = add(api, activity="Accredit nursing schools")
        phone = pages.phone()
        join_on_phone(
            pages, phone, workshop.code, "Chen", "Nursing Council", "Professional regulation"
        )
        phone.tap(f'[data-offer="{row["id"]}"][data-role="lead"]')
        phone.wait_for(
            f"!!document.querySelector('[data-my-offer=\"{row['id']}\"]')",
            "my offer shown as waiting",
        )
        api.wait_for(
            lambda: any(
                e["type"] == "plan:updated"
                and e["data"]["action"]["offers"]
                == [
                    {
                        "organisation": "Nursing Council",
                        "role": "lead",
                        "participant_id": participant_id(api, "Chen"),
                    }
                ]
                for e in api.events
            ),
            "the offer on the console",
        )
        assert api.call(
            "plan:settle_offer",
            {"action": row["id"], "organisation": "Nursing Council", "accept": True},
        )["ok"]
        phone.wait_for(
            f"document.querySelector('[data-plan-row=\"{row['id']}\"]')?.textContent"
            ".includes('Lead: Nursing Council')",
            "Nursing Council shown as the lead",
        )

        typed = "<script>window.injected = 1</script> Fund clinical tutors"
        phone.fill("#plan-activity", typed)
        phone.tap('[data-form="plan-propose"] button[type="submit"]')
        phone.wait_for(
            "[...document.querySelectorAll('.plan-card.proposal')].some((li) => "
            f"li.textContent.includes({js(typed)}))",
            "my proposal on the phone",
        )
        # Its author edits it (the objective), with the version it started from.
        phone.tap(".plan-card.proposal [data-edit]")
        phone.fill("#edit-objective", "Teaching capacity")
        phone.tap('[data-form="plan-edit"] [data-action="save-edit"]')
        api.wait_for(
            lambda: any(
                e["type"] == "plan:updated"
                and e["data"]["action"]["fields"]["objective"] == "Teaching capacity"
                for e in api.events
            ),
            "the edited proposal",
        )
        phone.wait_for(
            "document.querySelector('.plan-card.proposal')?.textContent"
            ".includes('Teaching capacity')",
            "the proposal showing its objective",
        )
        no_horizontal_scroll(phone)
        projector = open_projector(pages, workshop)
        projector.wait_for(
            "[...document.querySelectorAll('[data-activity]')].some((td) => "
            f"td.textContent.includes({js(typed)}))",
            "the proposal as literal text on the projector",
        )
        assert (
            projector.evaluate(
                "document.querySelectorAll('[data-bind=\"stage-body\"] script').length"
            )
            == 0
        )
        assert projector.evaluate("window.injected === undefined")
        assert phone.evaluate("window.injected === undefined")
        pages.assert_clean()
    finally:
        api.close()


def test_the_console_edits_fields_shows_conflicts_freezes_and_names(
    pages: Pages, room: dict[str, Any]
) -> None:
    workshop = room["workshop"]
    api = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    try:
        goto(api, "action_plan")
        join(room["base"], workshop.code, "Dina Osei", "Ghana Health Service", "Health")
        row = add(api, activity="Review staffing norms", indicator="Norms published")
        console = open_console(pages, room)
        field = f'[data-plan-row="{row["id"]}"] [data-field="{{}}"]'
        console.wait_for(f"!!document.querySelector({js(field.format('lead'))})", "the row")

        # A change is sent when the field is left, with the version it started from.
        console.fill(field.format("lead"), "Ghana Health Service")
        console.click('[data-bind="version"]')
        api.wait_for(
            lambda: any(
                e["type"] == "plan:updated"
                and e["data"]["action"]["fields"]["lead"] == "Ghana Health Service"
                for e in api.events
            ),
            "the lead saved",
        )

        # Someone else changes the indicator while the console is typing in it.
        console.fill(field.format("indicator"), "Norms adopted")
        assert api.call(
            "plan:edit",
            {
                "action": row["id"],
                "changes": {"indicator": "Norms gazetted"},
                "versions": {"indicator": row["versions"]["indicator"]},
            },
        )["ok"]
        console.wait_for(
            "window.facilitatorLive.state.plan.actions[0].fields.indicator === 'Norms gazetted'",
            "the other edit arriving",
        )
        assert (
            console.evaluate(f"document.querySelector({js(field.format('indicator'))}).value")
            == "Norms adopted"
        ), "a field being typed in is not overwritten"
        console.click('[data-bind="version"]')
        console.wait_for(
            "document.querySelector('.plan-console [data-bind=\"error\"]')?.textContent"
            ".includes('Norms gazetted')",
            "the conflict naming the stored value",
        )
        console.wait_for(
            f"document.querySelector({js(field.format('indicator'))}).value === 'Norms gazetted'",
            "the field showing the stored value",
        )

        # Freezing with an action that has no lead needs a recorded reason.
        add(api, activity="Publish vacancy data")
        console.click('[data-action="freeze"]')
        console.wait_for(
            "document.querySelector('[data-bind=\"missing\"]')?.textContent"
            ".includes('no lead organisation')",
            "the list of what is missing",
        )
        console.click('[data-action="freeze-anyway"]')
        console.wait_for(
            "!document.querySelector('.plan-console [data-bind=\"error\"]').hidden",
            "a reason asked for",
        )
        console.fill("#freeze-reason", "Lead to be agreed at the steering committee")
        console.click('[data-action="freeze-anyway"]')
        console.wait_for(
            "document.querySelector('[data-version]')?.dataset.version === '1'", "version 1 shown"
        )
        version = snapshot(api)["signoff"]["version"]
        assert version["override"]["reason"] == "Lead to be agreed at the steering committee"
        assert version["sha256"][:12] in (console.text('[data-bind="version"]') or "")

        # A change after the freeze: the console says the version is stale.
        console.fill(field.format("objective"), "Staff every rural post")
        console.click('[data-bind="version"]')
        console.wait_for(
            "!document.querySelector('[data-bind=\"stale\"]').hidden", "the stale warning"
        )
        assert console.text('[data-bind="stale"]') == (
            "The plan changed after version 1; freeze again."
        )

        goto(api, "signoff")
        select = '[data-representative="Ghana Health Service"]'
        console.wait_for(f"!!document.querySelector({js(select)})", "the representatives")
        console.choose(select, str(participant_id(api, "Dina Osei")))
        api.wait_for(
            lambda: any(e["type"] == "signoff:representative" for e in api.events),
            "the representative named",
        )
        assert (
            console.evaluate("document.querySelector('[data-link=\"plans\"]').getAttribute('href')")
            == f"/workshops/{workshop.id}/plans"
        )
        pages.assert_clean()
    finally:
        api.close()


def test_a_date_typed_digit_by_digit_and_a_partner_with_commas_are_each_saved_once(
    pages: Pages, room: dict[str, Any]
) -> None:
    """The due date is saved when the field is left, as typed; a partner whose name
    holds commas is one partner, from the chip to the frozen plan."""
    workshop = room["workshop"]
    api = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    try:
        goto(api, "action_plan")
        row = add(api, activity="Train lady health workers", lead="Ministry of Health",
                  indicator="Workers trained")  # fmt: skip
        console = open_console(pages, room, width=1366, height=768)
        field = f'[data-plan-row="{row["id"]}"] [data-field="{{}}"]'
        due = field.format("due")
        console.wait_for(f"!!document.querySelector({js(due)})", "the row")

        console.type_keys(due, "06302027")  # month, day, year: the order of an en-US field
        assert console.evaluate(f"document.querySelector({js(due)}).value") == "2027-06-30"
        assert not any(e["type"] == "plan:updated" for e in api.events), "saved while typing"
        console.click('[data-bind="version"]')  # leaves the field
        api.wait_for(
            lambda: any(
                e["type"] == "plan:updated" and e["data"]["action"]["fields"]["due"]
                for e in api.events
            ),
            "the due date saved",
        )
        stored = next(a for a in snapshot(api)["plan"]["actions"] if a["id"] == row["id"])
        assert stored["fields"]["due"] == "2027-06-30"
        assert stored["versions"]["due"] == 1, "the due date was saved more than once"

        entry = f'[data-plan-row="{row["id"]}"] [data-partner-entry]'
        for name in ("Department of Health, Punjab", "Lady Health Workers Association"):
            console.fill(entry, name)
            console.press("Enter")
        console.wait_for(
            f"document.querySelectorAll({js(field.format('partners') + ' .chip')}).length === 2",
            "two partner chips",
        )
        api.wait_for(
            lambda: (
                next(a for a in snapshot(api)["plan"]["actions"] if a["id"] == row["id"])["fields"][
                    "partners"
                ]
                == ["Department of Health, Punjab", "Lady Health Workers Association"]
            ),
            "both partners saved, the comma kept",
        )
        console.click(
            f'{field.format("partners")} [data-partner="Lady Health Workers Association"] button'
        )
        api.wait_for(
            lambda: (
                next(a for a in snapshot(api)["plan"]["actions"] if a["id"] == row["id"])["fields"][
                    "partners"
                ]
                == ["Department of Health, Punjab"]
            ),
            "a partner removed with its ×",
        )
        assert console.evaluate(f"document.querySelector({js(due)}).dataset.save") == "saved"
        frozen = api.call("plan:freeze", {})
        assert frozen["ok"], frozen
        plan = snapshot(api)["signoff"]["version"]
        assert plan is not None
        console.wait_for(
            "!document.querySelector('.plan-console').textContent"
            ".includes('Lady Health Workers Association')",
            "the removed partner gone from the ownership table",
        )
        screenshot(console, artifacts("plan") / "console-partners-1366.png")
        pages.assert_clean()
    finally:
        api.close()
