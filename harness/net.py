"""A free port, action ids, and the app's forms over HTTP, as a browser fills them in."""

from __future__ import annotations

import re
import socket
import uuid

import requests

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
ACTION_RE = re.compile(r'name="action_id" value="([^"]+)"')


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def action_id() -> str:
    """A fresh id for an action (the app applies each id once)."""
    return uuid.uuid4().hex


def csrf_from(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    match = CSRF_RE.search(html)
    if not match:
        raise RuntimeError("page has no CSRF token")
    return match.group(1)


def cookie_header(http: requests.Session) -> str:
    """A session's cookies as the value of a ``Cookie`` header."""
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def post_form(
    http: requests.Session, page_url: str, action_url: str, fields: dict[str, str], timeout: float
) -> requests.Response:
    """Open the page with a form and submit ``fields`` to its action with the page's CSRF
    token, as a browser would; the answer, redirects not followed."""
    page = http.get(page_url, timeout=10)
    return http.post(
        action_url,
        data={**fields, "csrf_token": csrf_from(page.text)},
        timeout=timeout,
        allow_redirects=False,
    )


def login(base: str, username: str, password: str) -> requests.Session:
    """A session logged in through the login form."""
    http = requests.Session()
    fields = {"username": username, "password": password}
    resp = post_form(http, f"{base}/login", f"{base}/login", fields, timeout=10)
    if resp.status_code != 302:
        raise RuntimeError(f"login failed: {resp.status_code} {resp.text[:300]}")
    return http
