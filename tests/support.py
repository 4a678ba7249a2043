"""Helpers shared by the tests: real HTTP sessions and real Socket.IO clients (those the
benchmark uses too are :mod:`harness.net`'s, passed on from here)."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
import socketio

from harness.net import ACTION_RE, action_id, cookie_header, csrf_from, free_port, login

__all__ = [
    "ACTION_RE",
    "LiveClient",
    "action_id",
    "cookie_header",
    "csrf_from",
    "error_code",
    "free_port",
    "join",
    "login",
]


def error_code(ack: dict[str, Any]) -> str:
    """The code of a refusal; fails the test if the action was accepted."""
    assert ack["ok"] is False, ack
    return ack["error"]["code"]


def join(
    base: str, code: str, name: str, organisation: str, sector: str, email: str = ""
) -> requests.Session:
    """Join like a phone does, through the form; returns the session holding the cookie."""
    http = requests.Session()
    page = http.get(f"{base}/j/{code}", timeout=10)
    assert page.status_code == 200, page.text
    match = ACTION_RE.search(page.text)
    assert match, "join form has no action id"
    resp = http.post(
        f"{base}/j/{code}",
        data={
            "csrf_token": csrf_from(page.text),
            "action_id": match.group(1),
            "name": name,
            "organisation": organisation,
            "sector": sector,
            "email": email,
        },
        timeout=10,
        allow_redirects=False,
    )
    assert resp.status_code == 302, resp.text
    return http


class LiveClient:
    """A python-socketio client that records snapshots and events as a screen would."""

    def __init__(
        self,
        base: str,
        workshop_id: int,
        screen: str,
        http: requests.Session | None = None,
        key: str | None = None,
    ) -> None:
        self.base = base
        self.auth: dict[str, Any] = {"workshop_id": workshop_id, "screen": screen}
        if key:
            self.auth["key"] = key
        self.headers = {"Cookie": cookie_header(http)} if http is not None else {}
        self.snapshots: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.connect_errors: list[Any] = []
        self.transients: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self.sio = socketio.Client(
            reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1
        )
        self.sio.on("snapshot", self._on_snapshot)
        self.sio.on("event", self._on_event)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("transient", self._on_transient)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _on_snapshot(self, data: dict[str, Any]) -> None:
        self.snapshots.append(data)
        self._notify()

    def _on_event(self, data: dict[str, Any]) -> None:
        self.events.append(data)
        self._notify()

    def _on_transient(self, data: dict[str, Any]) -> None:
        self.transients.append(data)
        self._notify()

    def _on_connect_error(self, data: Any) -> None:
        self.connect_errors.append(data)
        self._notify()

    def connect(self, wait_snapshot: bool = True) -> LiveClient:
        self.sio.connect(
            self.base,
            headers=self.headers,
            auth=self.auth,
            transports=["websocket"],
            wait_timeout=10,
        )
        if wait_snapshot:
            self.wait_for(lambda: self.snapshots, "a snapshot")
        return self

    def wait_for(self, predicate: Any, what: str, timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out waiting for {what}")
                self._changed.wait(min(remaining, 0.1))

    def event_of(self, type_: str, timeout: float = 10) -> dict[str, Any]:
        return self.wait_for(
            lambda: next((e for e in self.events if e["type"] == type_), None), type_, timeout
        )

    def call(
        self, name: str, payload: Any = None, *, with_id: bool = True, timeout: float = 10
    ) -> Any:
        if with_id and isinstance(payload, dict) and "action_id" not in payload:
            payload = {**payload, "action_id": action_id()}
        if payload is None and with_id:
            payload = {"action_id": action_id()}
        return self.sio.call(name, payload, timeout=timeout)

    def close(self) -> None:
        # No reconnection after this, even if the server already went away.
        self.sio.reconnection = False
        # The websocket close handshake can wait seconds for the server's reply;
        # the tests do not need to wait for it.
        threading.Thread(target=self.sio.shutdown, daemon=True).start()
