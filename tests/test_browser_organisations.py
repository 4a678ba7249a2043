"""The register of organisations in headless Chromium: a phone's join form offers the
workshop's organisations by any of their names; one written another way is added and
marked new on the console, which says which it may be and merges it there."""

from __future__ import annotations

from typing import Any

import pytest

from .a11y import artifacts, screenshot
from .browser import Pages
from .support import LiveClient
from .test_browser import join_on_phone, js
from .test_browser_plan import open_console, snapshot

pytestmark = pytest.mark.browser


def test_a_phone_picks_an_organisation_and_the_console_merges_a_second_spelling(
    pages: Pages, room: dict[str, Any]
) -> None:
    workshop = room["workshop"]
    api = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    try:
        ack = api.call("organisation:add", {"organisation": {
            "name": "Lady Health Workers Association", "short_name": "LHWA",
            "sector": "Civil society",
        }})  # fmt: skip
        assert ack["ok"], ack
        kept = ack["organisation"]
        first = pages.phone("amina")
        first.goto(f"{pages.base}/j/{workshop.code}")
        first.wait_for("!!document.getElementById('join-form')", "the join form")
        offered = first.evaluate(
            "[...document.querySelectorAll('#organisation-names option')].map(o => o.value)"
        )
        assert {"Lady Health Workers Association", "LHWA"} <= set(offered)
        screenshot(first, artifacts("organisations") / "join-360.png")
        join_on_phone(pages, first, workshop.code, "Amina", "LHWA", "Civil society")
        second = pages.phone("bano")
        join_on_phone(pages, second, workshop.code, "Bano", "Lady Health Workers' Association",
                      "Civil society")  # fmt: skip
        people = {p["name"]: p for p in snapshot(api)["participants"]}
        assert people["Amina"]["organisation"] == "Lady Health Workers Association"
        assert people["Bano"]["organisation"] == "Lady Health Workers' Association"

        console = open_console(pages, room, width=1366, height=768)
        flagged = next(o for o in snapshot(api)["organisations"] if o["flagged"])
        row = f'[data-organisation="{flagged["id"]}"]'
        console.wait_for(f"!!document.querySelector({js(row + ' .tag')})", "the new one marked")
        assert "May be the same as: Lady Health Workers Association" in (console.text(row) or "")
        screenshot(console, artifacts("organisations") / "console-1366.png")
        # Contacts and signatories, names with commas kept whole (lists split at ";").
        contacts = f'[data-organisation="{kept["id"]}"]'
        console.click(f"{contacts} [data-contacts] summary")
        console.fill(f"{contacts} [data-emails]", "lhwa@example.org; chair@example.org")
        console.fill(f"{contacts} [data-signatories]", "Rabia Ncube, Chair; Bano Khan")
        console.click(f"{contacts} .organisation-contacts button")
        api.wait_for(
            lambda: (
                next(o for o in snapshot(api)["organisations"] if o["id"] == kept["id"])[
                    "signatories"
                ]
                == ["Rabia Ncube, Chair", "Bano Khan"]
            ),
            "the signatories saved",
        )
        saved = next(o for o in snapshot(api)["organisations"] if o["id"] == kept["id"])
        assert saved["emails"] == ["lhwa@example.org", "chair@example.org"]
        console.evaluate("window.confirm = () => true")
        # As picking from the list does (the list goes back to "Merge into…" at once).
        merge = f'{row} [data-merge="{flagged["id"]}"]'
        console.evaluate(f"""(() => {{
          const el = document.querySelector({js(merge)});
          el.value = {js(str(kept["id"]))};
          el.dispatchEvent(new Event("change", {{bubbles: true}}));
        }})()""")
        api.wait_for(
            lambda: (
                [o["name"] for o in snapshot(api)["organisations"]]
                == ["Lady Health Workers Association"]
            ),
            "one organisation left",
        )
        people = {p["name"]: p for p in snapshot(api)["participants"]}
        assert people["Bano"]["organisation"] == "Lady Health Workers Association"
        console.wait_for(f"!document.querySelector({js(row)})", "the merged row gone")
        pages.assert_clean()
    finally:
        api.close()
