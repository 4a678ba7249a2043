"""Three languages in real screens: the facilitator sets the workshop to Urdu and the
open projector turns right to left in Urdu; a phone joins in the workshop's language and
picks French for itself; user text in Arabic script shows as typed, in its direction.

Expected texts come from the catalogues (``facilitator.core.i18n``) and must differ from the
English, so an untranslated screen fails. Screenshots of each screen in each language go
to test-artifacts/languages/, and axe checks the Urdu phone and projector.
"""

from __future__ import annotations

from typing import Any

import pytest

from facilitator.core import i18n

from . import a11y
from .browser import Page, Pages
from .conftest import PASSWORD
from .test_browser import js, no_horizontal_scroll, open_projector
from .test_browser_design import log_in

pytestmark = pytest.mark.browser


def translated(lang: str, text: str, **values: Any) -> str:
    out = i18n.gettext(lang, text, **values)
    assert out != i18n.gettext("en", text, **values), f"{text!r} is not translated into {lang}"
    return out


def direction(page: Page) -> tuple[str, str, str]:
    page.wait_for("document.readyState === 'complete'", "the page loaded")
    return tuple(
        page.evaluate(
            "[document.documentElement.lang, document.documentElement.dir,"
            " getComputedStyle(document.body).direction]"
        )
    )


def join_in(pages: Pages, phone: Page, code: str, lang: str, *who: str) -> None:
    """The join form (in the workshop's language), filled as a person would."""
    name, organisation, sector = who
    phone.goto(f"{pages.base}/j/{code}")
    phone.wait_for("!!document.getElementById('join-form')", "the join form")
    assert phone.evaluate("document.documentElement.lang") == lang
    phone.fill("#name", name)
    phone.fill("#organisation", organisation)
    phone.choose("#sector", sector)
    phone.tap('#join-form button[type="submit"]')
    phone.wait_for("!!document.getElementById('phone')", "the phone screen after joining")
    phone.wait_text('[data-bind="connection"]', i18n.gettext(lang, "live"))


def choose_language(page: Page, lang: str) -> None:
    """The picker at the foot of the page, as a person uses it (no script needed)."""
    page.choose("#language-choice", lang)
    page.click('form.language button[type="submit"]')
    page.wait_for(f"document.documentElement.lang === {js(lang)}", f"the page in {lang}")


def test_workshop_language_and_each_phones_own(pages: Pages, room: dict[str, Any]) -> None:
    workshop = room["workshop"]
    first = workshop.stages[0]
    total = len(workshop.stages)
    folder = a11y.artifacts("languages")

    console = log_in(pages, room, workshop.id)
    projector = open_projector(pages, workshop)
    assert direction(projector) == ("en", "ltr", "ltr")
    a11y.screenshot(console, folder / "console-en.png")

    # The facilitator sets the room's language: the open projector follows by itself.
    console.choose('[data-bind="workshop-language"]', "ur")
    projector.wait_for("document.documentElement.lang === 'ur'", "the projector in Urdu", 20)
    assert direction(projector) == ("ur", "rtl", "rtl")
    projector.wait_text(
        '[data-bind="stage-count"]', translated("ur", "Stage {n} of {total}", n=1, total=total)
    )
    kit_title = i18n.kit_text("ur", first.title)
    assert kit_title != first.title, "the kit's first stage title has no Urdu translation"
    projector.wait_text('[data-bind="stage-title"]', kit_title)
    a11y.screenshot(projector, folder / "projector-ur.png", full=False)
    a11y.check(projector, "projector in Urdu", rules={"color-contrast-enhanced": True})

    # A phone follows the workshop (Urdu) until its owner picks French.
    urdu = pages.phone("phone-ur")
    join_in(pages, urdu, workshop.code, "ur", "عائشہ خان", "محکمہ صحت", workshop.sectors[0])
    assert direction(urdu) == ("ur", "rtl", "rtl")
    urdu.wait_text(
        '[data-bind="stage-count"]', translated("ur", "Stage {n} of {total}", n=1, total=total)
    )
    # The name shows as typed, right to left inside the bar.
    assert (
        urdu.evaluate("getComputedStyle(document.querySelector('[data-bind=\"me\"]')).direction")
        == "rtl"
    )
    urdu.wait_text('[data-bind="me"]', "عائشہ خان · محکمہ صحت")
    no_horizontal_scroll(urdu)
    a11y.screenshot(urdu, folder / "phone-ur.png")
    a11y.check(urdu, "phone in Urdu")

    french = pages.phone("phone-fr")
    join_in(pages, french, workshop.code, "ur", "Marie Dubois", "OMS", workshop.sectors[1])
    choose_language(french, "fr")
    assert direction(french) == ("fr", "ltr", "ltr")
    french.wait_text('[data-bind="connection"]', translated("fr", "live"))
    french.wait_text(
        '[data-bind="stage-count"]', translated("fr", "Stage {n} of {total}", n=1, total=total)
    )
    french.wait_text('[data-bind="stage-title"]', i18n.kit_text("fr", first.title))
    no_horizontal_scroll(french)
    a11y.screenshot(french, folder / "phone-fr.png")

    # The next stage reaches every screen, each in its language.
    second = workshop.stages[1]
    console.click('[data-action="next"]')
    projector.wait_text('[data-bind="stage-title"]', i18n.kit_text("ur", second.title))
    french.wait_text('[data-bind="stage-title"]', i18n.kit_text("fr", second.title))
    urdu.wait_text('[data-bind="stage-title"]', i18n.kit_text("ur", second.title))
    # The console stays in its own language (the facilitator's), listing both names.
    console.wait_for(
        "document.querySelector('[data-bind=\"participants\"]').textContent.includes('عائشہ خان')",
        "the Urdu name on the console",
    )
    assert console.evaluate("document.documentElement.lang") == "en"
    a11y.screenshot(console, folder / "console-en-stage-2.png")
    a11y.screenshot(urdu, folder / "phone-ur-stage-2.png")
    a11y.screenshot(french, folder / "phone-fr-stage-2.png")
    a11y.screenshot(projector, folder / "projector-ur-stage-2.png", full=False)

    # The French phone's own choice holds when the workshop's language changes again.
    console.choose('[data-bind="workshop-language"]', "en")
    projector.wait_for("document.documentElement.lang === 'en'", "the projector in English", 20)
    urdu.wait_for("document.documentElement.lang === 'en'", "the following phone in English", 20)
    assert french.evaluate("document.documentElement.lang") == "fr"
    pages.assert_clean()


@pytest.mark.parametrize("lang", ["fr", "ur"])
def test_every_stage_on_every_screen_in_french_and_urdu(
    pages: Pages, factory: Any, live_server: str, lang: str
) -> None:
    """The shipped HRH kit in the workshop's language, stage by stage: the console (its
    facilitator chose the same language), the projector and two phones show the stage in
    that language and direction, nothing scrolls sideways, axe finds nothing serious on
    the phone; a screenshot of each screen at each stage for people to look at."""
    from facilitator.core.db import db
    from facilitator.domain.seeding import create_workshop

    from .test_browser_workshop import KIT, SHIPPED

    kit = SHIPPED.load(KIT)
    user_id, username = factory.user()
    with db.transaction() as s:
        workshop = create_workshop(s, user_id, KIT, kit, "Atelier / ورکشاپ", language=lang)
        s.expunge(workshop)
    folder = a11y.artifacts("languages", f"tour-{lang}")
    dir_ = i18n.direction(lang)

    console = pages.open("console", "/login")
    choose_language(console, lang)
    console.fill("#username", username)
    console.fill("#password", PASSWORD)
    console.click('form button[type="submit"]')
    console.wait_for("location.pathname === '/console'", "the workshops list")
    console.goto(f"{pages.base}/w/{workshop.id}/console")
    console.wait_text('[data-bind="connection"]', i18n.gettext(lang, "live"))
    projector = pages.open(
        "projector", f"/w/{workshop.id}/projector?key={workshop.projector_key}", width=1280
    )
    phones = []
    for i, (name, sector) in enumerate((("Amina Yusuf", 0), ("بلال احمد", 3))):
        phone = pages.phone(f"phone-{i}")
        join_in(pages, phone, workshop.code, lang, name, f"Org {i}", kit.sectors[sector])
        phones.append(phone)
    screens = {
        "console": console,
        "projector": projector,
        **{f"phone{i}": p for i, p in enumerate(phones)},
    }
    total = len(kit.stages)
    for index, stage in enumerate(kit.stages):
        if index:
            console.click('[data-action="next"]')
        count = i18n.gettext(lang, "Stage {n} of {total}", n=index + 1, total=total)
        title = i18n.kit_text(lang, stage.title)
        assert title != stage.title, f"{stage.title!r} has no {lang} translation"
        for page in (projector, *phones):
            page.wait_text('[data-bind="stage-count"]', count)
            page.wait_text('[data-bind="stage-title"]', title)
        for name, page in screens.items():
            assert direction(page) == (lang, dir_, dir_), name
            a11y.screenshot(
                page,
                folder / f"{index + 1:02d}-{stage.type}-{name}.png",
                full=page is not projector,
            )
        for phone in phones:
            no_horizontal_scroll(phone)
            # A note's character count reads "typed / most" in either direction.
            counter = phone.evaluate(
                "(() => { const c = document.querySelector('.counter');"
                " return c && [c.textContent, getComputedStyle(c).direction]; })()"
            )
            if counter:
                assert counter[1] == "ltr" and counter[0].endswith("/ 280"), counter
            # A translated prompt runs in the page's direction, even when it starts
            # with a word in Latin script (SWOT).
            assert (
                phone.evaluate(
                    "getComputedStyle(document.querySelector('[data-bind=\"stage-prompt\"]'))"
                    ".direction"
                )
                == dir_
            )
        a11y.check(phones[0], f"phone in {lang}, {stage.type}")
    pages.assert_clean()
