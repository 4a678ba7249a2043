"""CSRF on every form post, the session cookie's flags, and where the secret key comes
from (the environment or the instance folder, never the repository)."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

import pytest

from facilitator.core import config
from facilitator.core.config import PROJECT_ROOT

from .support import csrf_from
from .test_http import login

#: A value for each kind of URL argument, so every POST route can be called.
ARGUMENTS = {"workshop_id": 1, "code": "ABCDEF", "key": "not-a-key"}
FORM_RE = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)


def post_urls(app) -> dict[str, str]:
    urls = {}
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "POST" in rule.methods:
                urls[rule.endpoint] = url_for(
                    rule.endpoint, **{a: ARGUMENTS[a] for a in rule.arguments}
                )
    return urls


def test_every_post_route_refuses_a_form_without_this_sessions_token(app, client, factory):
    _, username = factory.user()
    login(client, username)
    stranger = app.test_client()
    someone_elses = csrf_from(stranger.get("/login").text)
    urls = post_urls(app)
    # Every form the app has: log in and out, workshops, joining, plans, verification.
    assert set(urls) >= {
        "auth.login",
        "auth.logout",
        "workshops.create",
        "workshops.duplicate",
        "workshops.archive",
        "join.enter_code",
        "join.workshop",
        "plans.email",
        "plans.verify",
    }
    for endpoint, url in urls.items():
        for token in (None, "", "forged", someone_elses):
            data = {} if token is None else {"csrf_token": token}
            resp = client.post(url, data=data)
            assert resp.status_code == 400, (endpoint, token, resp.status_code)
            assert "form has expired" in resp.text, endpoint
    # The token of this session is accepted (logging out, for one).
    token = csrf_from(client.get("/console").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_every_form_in_the_templates_carries_the_token():
    forms = 0
    for template in (PROJECT_ROOT / "templates").rglob("*.html"):
        for form in FORM_RE.findall(template.read_text()):
            if re.search(r'method="post"', form, re.I):
                forms += 1
                assert 'name="csrf_token" value="{{ csrf_token() }}"' in form, (
                    f"{template.name}: a form without the CSRF token"
                )
    assert forms >= 9


def test_the_session_cookie_is_httponly_samesite_and_secure_over_tls(app):
    plain = app.test_client().get("/login")
    cookie = plain.headers["Set-Cookie"]
    assert cookie.startswith("facilitator_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Strict-Transport-Security" not in plain.headers
    tls = app.test_client().get("/login", base_url="https://facilitator.example")
    assert "Secure" in tls.headers["Set-Cookie"] and "HttpOnly" in tls.headers["Set-Cookie"]
    assert tls.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_the_secret_key_comes_from_the_environment_first(monkeypatch, tmp_path):
    monkeypatch.setenv("FACILITATOR_SECRET_KEY", "k" * 64)
    assert config.from_env(tmp_path)["SECRET_KEY"] == "k" * 64
    assert not (tmp_path / "secret_key").exists()


def test_otherwise_it_is_generated_once_in_the_instance_folder_readable_by_the_owner_only(
    monkeypatch, tmp_path
):
    monkeypatch.delenv("FACILITATOR_SECRET_KEY", raising=False)
    first = config.from_env(tmp_path)["SECRET_KEY"]
    key_file = tmp_path / "secret_key"
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert config.from_env(tmp_path)["SECRET_KEY"] == first  # kept across restarts
    key_file.write_text("short\n")  # a damaged file is replaced, never used
    assert config.from_env(tmp_path)["SECRET_KEY"] not in (first, "short")


def test_no_secret_is_in_the_repository():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [
        p for p in tracked if Path(p).name in ("secret_key", ".env") or p.startswith("instance/")
    ]
    assert "instance/" in (PROJECT_ROOT / ".gitignore").read_text().split()
    # The configuration reads the key; it never holds one.
    source = (PROJECT_ROOT / "facilitator" / "core" / "config.py").read_text()
    assert not re.search(r"SECRET_KEY\"?\s*[:=]\s*[\"'][^\"']{8,}", source)


@pytest.mark.parametrize("path", ["/", "/login", "/verify"])
def test_pages_send_the_security_headers(client, path):
    page = client.get(path)
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
