"""Languages: catalogues, the picker, the workshop's language, and the kit extractor."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import requests

from facilitator.core import i18n

from .support import LiveClient, csrf_from, error_code, join


def test_values_are_put_in_by_name_and_untranslated_text_stays_english():
    assert i18n.gettext("en", "Stage {n} of {total}", n=2, total=9) == "Stage 2 of 9"
    assert i18n.gettext("fr", "A text nobody translated {x}", x="<b>") == (
        "A text nobody translated <b>"
    )
    # A value holding a placeholder's name stays as typed.
    assert i18n.gettext("en", "{a} and {b}", a="{b}", b="x") == "{b} and x"
    assert i18n.ngettext("en", "{n} vote", "{n} votes", 1) == "1 vote"
    assert i18n.ngettext("en", "{n} vote", "{n} votes", 0) == "0 votes"
    assert i18n.kit_text("fr", "Typed by a facilitator") == "Typed by a facilitator"
    assert i18n.kit_text("fr", None) is None


def test_french_counts_zero_as_singular_and_urdu_reads_right_to_left():
    assert i18n._plural_index("fr", 0) == 0 and i18n._plural_index("en", 0) == 1
    assert i18n.direction("ur") == "rtl" and i18n.direction("fr") == "ltr"


def test_the_screens_catalogue_cannot_end_its_script():
    catalogue = i18n.screen_catalogue("fr")
    catalogue["</script><script>alert(1)</script>"] = "\u2028x"
    try:
        script = i18n.javascript("fr")
    finally:
        del catalogue["</script><script>alert(1)</script>"]
    assert "</script" not in script and "\u2028" not in script
    body = script.removeprefix("window.FACILITATOR_MESSAGES = ").rstrip().removesuffix(";")
    assert json.loads(body)["</script><script>alert(1)</script>"] == "\u2028x"


def test_the_kit_extractor_finds_what_people_read_and_not_organisations():
    kit = b"""
title = "Kit title"
sectors = ["Health", "Education"]
[[stages]]
id = "map"
type = "stakeholder_map"
title = "Who matters"
prompt = "Place each stakeholder."
minutes = 20
[[starters]]
name = "UNICEF"
"""
    found = [m[2] for m in i18n.extract_kit(io.BytesIO(kit), None, None, None)]
    assert set(found) == {
        "Kit title",
        "Health",
        "Education",
        "Who matters",
        "Place each stakeholder.",
    }
    assert "UNICEF" not in found and "map" not in found


def test_the_screens_get_their_texts_and_not_the_pages_or_the_pdfs():
    screens = i18n.screen_catalogue("fr")
    assert "Stage {n} of {total}" in screens  # phone.js
    assert "Whole-hearted endorsement" in screens  # a label the server hands the screens
    assert "Welcome and purpose" in screens or len(screens) > 300  # kit texts
    everything = i18n.catalogue("fr")
    assert "Your organisation" in everything and "Your organisation" not in screens  # a page
    assert len(screens) < len(everything)


def test_accept_language_picks_a_shipped_language():
    accept = SimpleNamespace(best_match=lambda offered: "fr" if "fr" in offered else None)
    assert i18n.negotiate(accept) == "fr"
    assert i18n.negotiate(None) == "en"


def test_the_picker_remembers_a_language_and_goes_back_only_to_this_server(live_server):
    http = requests.Session()
    page = http.get(f"{live_server}/")
    token = csrf_from(page.text)
    assert 'name="lang"' in page.text and 'lang="en" dir="ltr"' in page.text
    chosen = http.post(
        f"{live_server}/language",
        data={"lang": "ur", "next": "/verify", "csrf_token": token},
        allow_redirects=False,
    )
    assert chosen.status_code == 303 and chosen.headers["Location"].endswith("/verify")
    assert "HttpOnly" in chosen.headers["Set-Cookie"]
    assert '<html lang="ur" dir="rtl">' in http.get(f"{live_server}/verify").text
    for elsewhere in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        away = http.post(
            f"{live_server}/language",
            data={"lang": "fr", "next": elsewhere, "csrf_token": token},
            allow_redirects=False,
        )
        assert away.status_code == 303 and away.headers["Location"].endswith("/"), elsewhere
    bad = http.post(
        f"{live_server}/language", data={"lang": "xx", "csrf_token": token}, allow_redirects=False
    )
    assert bad.status_code == 400
    forged = requests.post(f"{live_server}/language", data={"lang": "fr"}, allow_redirects=False)
    assert forged.status_code in (400, 403)


def test_catalogue_scripts_are_served_for_shipped_languages_only(live_server):
    served = requests.get(f"{live_server}/i18n/fr.js")
    assert served.status_code == 200 and served.text.startswith("window.FACILITATOR_MESSAGES")
    assert "javascript" in served.headers["Content-Type"]
    assert requests.get(f"{live_server}/i18n/xx.js").status_code == 404
    assert requests.get(f"{live_server}/i18n/en.js").status_code == 200


def test_the_workshop_language_sets_the_projector_and_the_phones_default(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    try:
        bad = console.call("workshop:set_language", {"language": "de"})
        assert error_code(bad) == "invalid" and "de" in bad["error"]["message"]
        assert console.call("workshop:set_language", {"language": "ur"})["ok"]
        event = console.wait_for(
            lambda: next((e for e in console.events if e["type"] == "workshop:language"), None),
            "the language event",
        )
        assert event["data"] == {"language": "ur"}
        snapshot = console.call("sync:request", {}, with_id=False)["snapshot"]
        assert snapshot["workshop"]["language"] == "ur"
    finally:
        console.close()
    projector = requests.get(
        f"{base}/w/{workshop.id}/projector", params={"key": workshop.projector_key}
    )
    assert '<html lang="ur" dir="rtl" data-follows-workshop-language>' in projector.text
    assert 'name="lang"' not in projector.text  # the room's screen has no picker
    # A phone follows the workshop until its owner chooses.
    phone = join(base, workshop.code, "Amina", "Ministry of Health", "Health")
    page = phone.get(f"{base}/j/{workshop.code}")
    assert '<html lang="ur" dir="rtl" data-follows-workshop-language>' in page.text
    phone.post(
        f"{base}/language",
        data={"lang": "fr", "next": f"/j/{workshop.code}", "csrf_token": csrf_from(page.text)},
    )
    assert '<html lang="fr" dir="ltr">' in phone.get(f"{base}/j/{workshop.code}").text  # its own
    # The projector ignores a person's own choice: the room reads one language.
    phone_projector = phone.get(
        f"{base}/w/{workshop.id}/projector", params={"key": workshop.projector_key}
    )
    assert '<html lang="ur" dir="rtl" data-follows-workshop-language>' in phone_projector.text


def test_a_refusal_carries_its_template_and_shows_in_the_persons_language(room):
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    try:
        ack = console.call("workshop:set_language", {"language": "de"})
    finally:
        console.close()
    error = ack["error"]
    assert error["template"] == "Unknown language {code}: one of {languages}."
    assert error["values"]["code"] == "'de'" and error["message"] == (
        "Unknown language 'de': one of en, fr, ur."
    )
    # The join form, in French, refuses an empty name in French, the field's name too.
    http = requests.Session()
    http.cookies.set("lang", "fr")
    page = http.get(f"{base}/j/{workshop.code}")
    refused = http.post(
        f"{base}/j/{workshop.code}",
        data={
            "csrf_token": csrf_from(page.text),
            "action_id": "a" * 24,
            "name": " ",
            "organisation": "OMS",
            "sector": workshop.sectors[0],
        },
    )
    assert refused.status_code == 400
    expected = i18n.gettext("fr", "Please give your {field}.", field=i18n.gettext("fr", "name"))
    assert expected != "Please give your name." and expected in refused.text
