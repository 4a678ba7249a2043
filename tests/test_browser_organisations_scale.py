"""The register of organisations and the plan's partner chips with a real room's
content (20 organisations, 30 actions with leads and partners), at the console's
1366×768 and 1920×1080 and a phone's 360×640: screenshots to look at, and nothing
wider than the screen."""

from __future__ import annotations

from typing import Any

import pytest

from .a11y import artifacts, screenshot
from .browser import Pages
from .support import LiveClient
from .test_browser_plan import add, goto, open_console

pytestmark = pytest.mark.browser

ORGANISATIONS = [
    ("Ministry of Health", "MoH"), ("Department of Health, Punjab", "DoH Punjab"),
    ("Lady Health Workers Association", "LHWA"), ("World Health Organization", "WHO"),
    ("UNICEF", ""), ("Pakistan Nursing and Midwifery Council", "PNMC"),
    ("Provincial Health Services Academy", "PHSA"), ("Finance Department", ""),
    ("Planning and Development Board", "P&D"), ("Civil Service Academy", ""),
    ("Aga Khan University School of Nursing and Midwifery", "AKU-SONAM"),
    ("Jhpiego", ""), ("Save the Children", ""), ("Midwives' Association of Pakistan", "MAP"),
    ("Young Nurses Association", "YNA"), ("Private Hospitals Association", ""),
    ("District Health Authority Lahore", "DHA Lahore"), ("UNFPA", ""),
    ("World Bank", ""), ("Higher Education Commission", "HEC"),
]  # fmt: skip


def test_the_register_and_the_plan_with_a_real_rooms_content(
    pages: Pages, room: dict[str, Any]
) -> None:
    workshop = room["workshop"]
    api = LiveClient(room["base"], workshop.id, "console", room["facilitator"]).connect()
    try:
        for name, short in ORGANISATIONS:
            fields = {"name": name, **({"short_name": short} if short else {})}
            assert api.call("organisation:add", {"organisation": fields})["ok"]
        goto(api, "action_plan")
        for i in range(30):
            lead = ORGANISATIONS[i % len(ORGANISATIONS)][0]
            partners = [ORGANISATIONS[(i + k) % len(ORGANISATIONS)][0] for k in (1, 2, 5)]
            add(api, activity=f"Action {i + 1}: train and deploy community midwives in "
                "the districts with the most vacant posts", lead=lead, partners=partners,
                indicator="Midwives deployed per 10,000 births", due="2027-06-30")  # fmt: skip
        for width, height in ((1366, 768), (1920, 1080)):
            console = open_console(pages, room, width=width, height=height)
            console.wait_for(
                "document.querySelectorAll('[data-plan-row]').length === 30", "30 plan rows"
            )
            console.wait_for(
                "document.querySelectorAll('[data-organisation]').length === 20",
                "20 organisations",
            )
            wide = console.evaluate(
                "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert wide <= 0, f"the console is {wide} px wider than the screen at {width}"
            chips = console.evaluate(
                "[...document.querySelectorAll('.chip')].filter(c => {"
                " const r = c.getBoundingClientRect(), p = c.closest('td').getBoundingClientRect();"
                " return r.right > p.right + 1 || r.left < p.left - 1; }).length"
            )
            assert chips == 0, f"{chips} partner chips stick out of their cell at {width}"
            screenshot(console, artifacts("organisations") / f"console-{width}-30-actions.png")
            console.close()
        phone = pages.phone("amina")
        metrics = {"width": 360, "height": 640, "deviceScaleFactor": 2, "mobile": True}
        phone.send("Emulation.setDeviceMetricsOverride", metrics)
        phone.goto(f"{pages.base}/j/{workshop.code}")
        phone.wait_for("!!document.getElementById('join-form')", "the join form")
        count = phone.evaluate("document.querySelectorAll('#organisation-names option').length")
        assert count == 20 + sum(1 for _, short in ORGANISATIONS if short)
        assert phone.evaluate(
            "document.scrollingElement.scrollWidth <= document.documentElement.clientWidth"
        ), "the join form is wider than the phone"
        screenshot(phone, artifacts("organisations") / "join-360x640.png", full=False)
        pages.assert_clean()
    finally:
        api.close()
