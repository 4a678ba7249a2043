"""A signed plan leaving the room: JSON, CSV and PDF downloads from the real server,
the organisers' page, verification of PDFs and hashes, and the export command."""

from __future__ import annotations

import csv
import email
import email.policy
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from pypdf import PdfReader

from facilitator.documents.pdf import embedded_plan, render_plan_pdf
from facilitator.domain.canonical import canonical_bytes

from .conftest import PASSWORD
from .plan_sample import sample_plan
from .support import LiveClient, csrf_from, join, login
from .test_plan import add, goto, me

SCRIPT = "<script>alert('x')</script> Train <b>midwives</b>"
FORMULA = '=HYPERLINK("http://example.invalid","click")'


@pytest.fixture
def signed(room):
    """A workshop whose plan is frozen and signed by two organisations."""
    base, workshop = room["base"], room["workshop"]
    console = LiveClient(base, workshop.id, "console", room["facilitator"]).connect()
    phones = [
        LiveClient(base, workshop.id, "phone", join(base, workshop.code, *p)).connect()
        for p in (
            ("Amina Yusuf", "Ministry of Health", "Health", "amina@health.example"),
            ("Bilal Khan", "WHO", "Development partners", "nobody@who.example"),
            ("Chen Li", "Nursing Council", "Professional regulation"),
        )
    ]
    goto(console, "action_plan")
    add(
        console,
        activity=SCRIPT,
        lead="Ministry of Health",
        due="2027-06-30",
        indicator="Midwives in post",
        partners=["WHO"],
    )
    add(console, activity=FORMULA, lead="WHO", objective="Financing")
    version = console.call("plan:freeze", {})["version"]
    goto(console, "signoff")
    for phone, decision, text in (
        (phones[0], "endorse", ""),
        (phones[1], "endorse_with_reservations", "Funding depends on the 2027 budget round."),
    ):
        assert console.call("signoff:name", {"participant_id": me(phone)["id"]})["ok"]
        ack = phone.call(
            "signoff:sign",
            {
                "version_id": version["id"],
                "decision": decision,
                "title": "Director",
                "full_name": me(phone)["name"],
                "text": text,
            },
        )
        assert ack["ok"], ack
    state = console.call("sync:request", {}, with_id=False)["snapshot"]["signoff"]
    yield {**room, "console": console, "version": state["version"]}
    for client in (console, *phones):
        client.close()


def test_a_bad_email_is_refused_when_joining(room):
    from .support import ACTION_RE

    http = requests.Session()
    base, code = room["base"], room["workshop"].code
    page = http.get(f"{base}/j/{code}", timeout=10)
    form = {
        "csrf_token": csrf_from(page.text),
        "action_id": ACTION_RE.search(page.text).group(1),
        "name": "Dina",
        "organisation": "UNICEF",
        "sector": "Health",
        "email": "dina at unicef",
    }
    refused = http.post(f"{base}/j/{code}", data=form, timeout=10, allow_redirects=False)
    assert refused.status_code == 400 and "e-mail address does not look right" in refused.text


def test_the_signed_pdf_is_emailed_to_participants_who_gave_an_address(signed, app):
    """Against a real SMTP server (aiosmtpd) on this machine; one address is refused."""
    from aiosmtpd.controller import Controller

    from .support import free_port

    received = []

    class Inbox:
        async def handle_RCPT(self, server, session, envelope, address, options):
            if address.startswith("nobody@"):
                return "550 No such user here"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 Message accepted"

    base, version, workshop = signed["base"], signed["version"], signed["workshop"]
    url = f"{base}/workshops/{workshop.id}/plans"
    page = signed["facilitator"].get(url, timeout=10).text
    assert "E-mail is not configured on this server" in page  # and the button is disabled
    controller = Controller(Inbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, MAIL_FROM="plans@facilitator.example"
    )
    try:
        page = signed["facilitator"].get(url, timeout=10).text
        assert "E-mail the PDF to 2 participants" in page
        sent = signed["facilitator"].post(
            f"{base}{version['share_path']}/email",
            data={"csrf_token": csrf_from(page)},
            timeout=120,
        )
    finally:
        app.config.update(SMTP_HOST=None)
        controller.stop()
    assert sent.status_code == 200, sent.text[:300]
    assert "sent to 1 of 2 addresses" in sent.text and "nobody@who.example" in sent.text
    assert [e.rcpt_tos for e in received] == [["amina@health.example"]]
    message = email.message_from_bytes(received[0].content, policy=email.policy.default)
    assert message["To"] == "Amina Yusuf <amina@health.example>"
    assert version["sha256"] in message.get_body(("plain",)).get_content()
    pdf = next(message.iter_attachments()).get_content()
    assert hashlib.sha256(embedded_plan(pdf)).hexdigest() == version["sha256"]


def fetch_pdf(url: str) -> requests.Response:
    """The PDF, after the page that shows its progress while it renders."""
    deadline = time.monotonic() + 60
    while True:
        response = requests.get(url, timeout=30)
        if response.status_code == 200:
            return response
        assert response.status_code == 202, response.text[:500]
        assert "Preparing the PDF" in response.text
        assert time.monotonic() < deadline, "the PDF was not ready within a minute"
        time.sleep(0.3)


def test_json_is_the_hashed_plan_and_csv_has_one_row_per_action(signed):
    base, version = signed["base"], signed["version"]
    body = requests.get(f"{base}{version['share_path']}.json", timeout=10).content
    assert hashlib.sha256(body).hexdigest() == version["sha256"]
    plan = json.loads(body)
    assert [a["activity"] for a in plan["actions"]] == [FORMULA, SCRIPT]  # by objective
    assert plan["version"] == 1 and plan["format"] == "facilitator.plan/2"
    text = requests.get(f"{base}{version['share_path']}.csv", timeout=10).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    assert rows[0]["activity"] == "'" + FORMULA  # never a live spreadsheet formula
    assert rows[1]["activity"] == SCRIPT and rows[1]["partners"] == "WHO"
    assert {r["version_sha256"] for r in rows} == {version["sha256"]}


def test_the_pdf_holds_every_action_and_signatory_and_verifies(signed):
    base, version = signed["base"], signed["version"]
    response = fetch_pdf(f"{base}{version['share_path']}.pdf")
    assert response.headers["Content-Type"] == "application/pdf"
    pdf = response.content
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = " ".join(text.split())
    packed = "".join(text.split())  # table cells wrap lines anywhere
    assert "<script>alert('x')</script>Train<b>midwives</b>" in packed  # printed, not run
    assert "Amina Yusuf" in flat and "Bilal Khan" in flat
    assert "Funding depends on the 2027 budget round." in flat
    assert version["sha256"] in packed
    attached = embedded_plan(pdf)
    assert attached is not None and hashlib.sha256(attached).hexdigest() == version["sha256"]
    # The second request is served from the cache: the same bytes.
    assert requests.get(f"{base}{version['share_path']}.pdf", timeout=30).content == pdf

    def verify(**kwargs) -> requests.Response:
        http = requests.Session()
        token = csrf_from(http.get(f"{base}/verify", timeout=10).text)
        return http.post(
            f"{base}/verify",
            data={"csrf_token": token, **kwargs.pop("data", {})},
            timeout=30,
            **kwargs,
        )

    genuine = verify(files={"pdf": ("plan.pdf", pdf, "application/pdf")})
    assert 'data-verdict="genuine"' in genuine.text and "Amina Yusuf" in genuine.text
    tampered = verify(files={"pdf": ("plan.pdf", pdf + b"\n%edited\n", "application/pdf")})
    assert 'data-verdict="altered"' in tampered.text
    flipped = bytearray(pdf)
    flipped[len(flipped) // 2] ^= 0x01
    assert (
        'data-verdict="genuine"'
        not in verify(files={"pdf": ("plan.pdf", bytes(flipped), "application/pdf")}).text
    )
    other_plan = sample_plan(3, 2, 1)
    stranger = render_plan_pdf(
        other_plan, hashlib.sha256(canonical_bytes(other_plan)).hexdigest(), []
    )
    other = verify(files={"pdf": ("other.pdf", stranger, "application/pdf")})
    assert 'data-verdict="not_matching"' in other.text
    by_hash = verify(data={"hash": version["sha256"].upper()})
    assert 'data-verdict="version"' in by_hash.text and "Bilal Khan" in by_hash.text
    unknown = verify(data={"hash": "0" * 64})
    assert 'data-verdict="unknown"' in unknown.text
    assert verify(data={"hash": "not a hash"}).status_code == 400


def test_the_organiser_page_lists_versions_with_hashes_and_signatures(signed, factory):
    base, version, workshop = signed["base"], signed["version"], signed["workshop"]
    page = signed["facilitator"].get(f"{base}/workshops/{workshop.id}/plans", timeout=10)
    assert page.status_code == 200
    assert version["sha256"] in page.text and "WHO: Endorsed with reservations" in page.text
    assert f"{version['share_path']}.pdf" in page.text
    anonymous = requests.get(
        f"{base}/workshops/{workshop.id}/plans", timeout=10, allow_redirects=False
    )
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    _, other = factory.user()
    colleague = login(base, other, PASSWORD)
    assert colleague.get(f"{base}/workshops/{workshop.id}/plans", timeout=10).status_code == 403
    assert version["sha256"] not in colleague.get(f"{base}/plans", timeout=10).text
    assert requests.get(f"{base}/plan/not-a-key.pdf", timeout=10).status_code == 404


def test_the_export_command_writes_the_plan(signed, instance_path, tmp_path):
    workshop, version = signed["workshop"], signed["version"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")},
        "FACILITATOR_INSTANCE_PATH": str(instance_path),
        "FACILITATOR_DATABASE_URL": f"sqlite:///{instance_path / 'test.sqlite3'}",
        "FACILITATOR_SECRET_KEY": "test-secret-key-not-used-anywhere-else-0123456789",
    }
    binary = Path(sys.executable).parent / "facilitator"

    def export(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(binary), "export", *args], capture_output=True, env=env, timeout=120
        )

    out = tmp_path / "plan.json"
    done = export(workshop.code, "--format", "json", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() == version["sha256"]
    pdf = tmp_path / "plan.pdf"
    done = export(str(workshop.id), "--format", "pdf", "-o", str(pdf))
    assert done.returncode == 0, done.stderr
    assert embedded_plan(pdf.read_bytes()) == out.read_bytes()
    missing = export(str(workshop.id), "--format", "csv", "-o", "-", "--version", "9")
    assert missing.returncode == 1 and b"has no version 9" in missing.stderr
    nowhere = export("999999", "--format", "csv", "-o", "-")
    assert nowhere.returncode == 1 and b"No workshop '999999'" in nowhere.stderr
