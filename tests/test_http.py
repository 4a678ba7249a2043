"""The HTTP edges: joining from a phone, logging in, creating and viewing workshops."""

from __future__ import annotations

import re

from facilitator.core.db import db
from facilitator.domain.workshops import Participant

from .conftest import PASSWORD
from .support import csrf_from

ACTION_RE = re.compile(r'name="action_id" value="([^"]+)"')


def login(client, username, password=PASSWORD, next_url=None):
    page = client.get("/login")
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(
        url,
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
    )


def join_form(client, code, **fields):
    page = client.get(f"/j/{code}")
    assert page.status_code == 200
    data = {
        "csrf_token": csrf_from(page.text),
        "action_id": ACTION_RE.search(page.text).group(1),
        "name": "Amina",
        "organisation": "Ministry of Health",
        "sector": "Health",
        **fields,
    }
    return client.post(f"/j/{code}", data=data), data


# -- joining -----------------------------------------------------------------------


def test_home_page_offers_the_code_form(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'name="code"' in page.text


def test_typed_code_is_normalised_and_leads_to_the_join_form(client, factory):
    workshop = factory.workshop()
    page = client.get("/")
    typed = f" {workshop.code[:3].lower()}-{workshop.code[3:].lower()} "
    resp = client.post("/join", data={"code": typed, "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/j/{workshop.code}")


def test_unknown_code_gets_a_clear_page(client):
    resp = client.get("/j/ZZZZZZ")
    assert resp.status_code == 404
    assert "No open workshop has the code ZZZZZZ" in resp.text
    page = client.get("/")
    resp = client.post("/join", data={"code": "nope", "csrf_token": csrf_from(page.text)})
    assert resp.status_code == 404 and "No open workshop" in resp.text


def test_join_form_lists_the_kit_sectors_and_another(client, factory):
    workshop = factory.workshop()
    page = client.get(f"/j/{workshop.code}")
    for sector in workshop.kit_data["sectors"]:
        assert f">{sector}</option>" in page.text
    assert "Another sector" in page.text


def test_joining_keeps_the_same_participant_on_reload_and_rejoin(client, factory):
    workshop = factory.workshop()
    resp, data = join_form(client, workshop.code)
    assert resp.status_code == 302
    phone = client.get(f"/j/{workshop.code}")
    assert 'id="phone"' in phone.text and "Amina" in phone.text
    # The same form sent again (a double tap) is not a second participant.
    again = client.post(f"/j/{workshop.code}", data=data)
    assert again.status_code == 200 and 'id="phone"' in again.text
    with db.reader() as s:
        people = s.query(Participant).filter_by(workshop_id=workshop.id).all()
    assert [p.name for p in people] == ["Amina"]


def test_a_new_sector_can_be_given(client, factory):
    workshop = factory.workshop()
    resp, _ = join_form(client, workshop.code, sector="__other__", sector_other="Media")
    assert resp.status_code == 302
    with db.reader() as s:
        assert s.query(Participant).filter_by(workshop_id=workshop.id).one().sector == "Media"


def test_a_kit_sector_typed_in_another_case_is_the_kit_sector(client, factory):
    workshop = factory.workshop()
    join_form(client, workshop.code, sector="__other__", sector_other="  health ")
    with db.reader() as s:
        assert s.query(Participant).filter_by(workshop_id=workshop.id).one().sector == "Health"


def test_over_long_or_missing_fields_are_refused_with_the_limit(client, factory):
    workshop = factory.workshop()
    resp, _ = join_form(client, workshop.code, name="N" * 61)
    assert resp.status_code == 400
    assert "name must have at most 60 characters" in resp.text
    resp, _ = join_form(client, workshop.code, organisation="O" * 81)
    assert "organisation must have at most 80 characters" in resp.text
    resp, _ = join_form(client, workshop.code, sector="__other__", sector_other="")
    assert "Please give your sector" in resp.text
    with db.reader() as s:
        assert s.query(Participant).filter_by(workshop_id=workshop.id).count() == 0


def test_user_text_is_escaped_on_the_phone(client, factory):
    workshop = factory.workshop()
    join_form(client, workshop.code, name="<script>alert(1)</script>")
    page = client.get(f"/j/{workshop.code}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_a_post_without_the_csrf_token_is_refused(client, factory):
    workshop = factory.workshop()
    client.get(f"/j/{workshop.code}")
    resp = client.post(
        f"/j/{workshop.code}", data={"name": "A", "organisation": "B", "sector": "C"}
    )
    assert resp.status_code == 400
    assert "form has expired" in resp.text


# -- facilitators ------------------------------------------------------------------


def test_login_with_wrong_password_is_refused(client, factory):
    _, username = factory.user()
    resp = login(client, username, "wrong password")
    assert resp.status_code == 401
    assert "Unknown username or wrong password" in resp.text
    assert client.get("/console").status_code == 302


def test_login_redirects_only_to_local_paths(client, factory):
    _, username = factory.user()
    resp = login(client, username, next_url="https://evil.example/")
    assert resp.headers["Location"] == "/console"
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/console").text)})
    resp = login(client, username, next_url="/console")
    assert resp.headers["Location"] == "/console"


def test_facilitator_creates_a_workshop_from_a_kit(client, factory):
    _, username = factory.user()
    login(client, username)
    page = client.get("/console")
    assert "HRH Action Framework planning workshop" in page.text
    resp = client.post(
        "/workshops",
        data={
            "kit": "hrh-action-framework",
            "title": "District plan",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert resp.status_code == 302
    console = client.get(resp.headers["Location"])
    assert console.status_code == 200 and "District plan" in console.text
    assert "/j/" in console.text


def test_an_unknown_kit_or_a_path_is_refused(client, factory):
    _, username = factory.user()
    login(client, username)
    for kit in ("no-such-kit", "../pyproject", "/etc/passwd"):
        page = client.get("/console")
        resp = client.post("/workshops", data={"kit": kit, "csrf_token": csrf_from(page.text)})
        assert resp.status_code == 400
        assert "That kit cannot be used" in resp.text


def test_another_facilitators_console_is_forbidden(client, factory):
    workshop = factory.workshop()
    _, username = factory.user()
    login(client, username)
    assert client.get(f"/w/{workshop.id}/console").status_code == 403
    assert client.get(f"/w/{workshop.id}/projector").status_code == 403
    assert client.get(f"/w/{workshop.id}/qr.svg").status_code == 403
    assert client.get("/w/999999/console").status_code == 404


def test_projector_opens_with_its_key_and_shows_code_and_qr(client, factory):
    workshop = factory.workshop()
    page = client.get(f"/w/{workshop.id}/projector?key={workshop.projector_key}")
    assert page.status_code == 200
    assert workshop.code in page.text
    assert "<svg" in page.text
    svg = client.get(f"/w/{workshop.id}/qr.svg?key={workshop.projector_key}")
    assert svg.mimetype == "image/svg+xml" and svg.text.startswith("<svg")
    assert client.get(f"/w/{workshop.id}/projector?key=wrong").status_code == 403


def test_join_url_uses_the_lan_address_not_localhost(client, factory):
    workshop = factory.workshop()
    page = client.get(f"/w/{workshop.id}/projector?key={workshop.projector_key}")
    match = re.search(r"Join at <strong>([^<]+)</strong>", page.text)
    assert match and match.group(1).endswith(f"/j/{workshop.code}")
    assert "localhost" not in match.group(1)


def test_protocol_module_matches_the_python_names(client):
    from facilitator.core import protocol

    text = client.get("/protocol.js").text
    for name in protocol.ACTIONS + protocol.EVENT_TYPES:
        assert f'"{name}"' in text


def test_healthz(client):
    assert client.get("/healthz").json == {"ok": True}


def test_readyz_checks_the_database_and_the_queue(client, app):
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"ok": True, "database": "ok", "queue": "none (one process)"}
    app.config["MESSAGE_QUEUE"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        down = client.get("/readyz")
    finally:
        app.config["MESSAGE_QUEUE"] = None
    assert down.status_code == 503
    assert down.json["ok"] is False and down.json["queue"].startswith("unreachable")


def test_pages_carry_a_content_security_policy_without_inline_scripts(client, app):
    page = client.get("/")
    csp = page.headers["Content-Security-Policy"]
    assert (
        "script-src 'self';" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in page.headers  # plain HTTP on a LAN
    cookie = app.test_client().get("/login").headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
