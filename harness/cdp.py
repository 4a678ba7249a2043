"""Headless Chromium driven over the Chrome DevTools Protocol (CDP).

Why a small CDP client over ``websocket-client`` rather than Playwright:

* Only Debian's ``chromium`` is available (Playwright cannot download its own
  browsers here), and Playwright only promises to work with the Chromium build
  it pins. Debian ships security updates of Chromium on its own schedule, so a
  Playwright release and the system browser drift apart and break in ways that
  have nothing to do with this app. The handful of CDP domains used here
  (Target, Page, Runtime, Network, Log, Emulation, Input) have been stable for
  years, so this client works with whatever Chromium the machine has.
* No new dependency: ``websocket-client`` is already in the ``test`` extra, while
  Playwright would add a ~40 MB wheel with a bundled Node.js driver process.

The pieces: :class:`Chromium` starts one browser process with a throw-away
profile and holds the :class:`Connection` to it (one WebSocket, page sessions
multiplexed over it); :class:`Tab` is a page in a fresh browser context (its own
cookies and cache, like a separate device) with the commands every user needs.
The browser tests (``tests/browser.py``) and the ``page_weight`` benchmark
(``bench/page_weight.py``) build what they record on top of these.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import websocket

#: How every user runs Chromium; each adds a profile and a debugging port, and may
#: add flags of its own.
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

POLL_SECONDS = 0.05
#: How long a command waits for its answer unless told otherwise.
COMMAND_TIMEOUT = 10.0


class CDPError(RuntimeError):
    """An error answer to a DevTools command, or a command on a closed connection."""


class JSError(RuntimeError):
    """An exception thrown by JavaScript evaluated in a page."""


#: What a command may raise when the browser is gone or going: cleanup ignores these.
GONE = (CDPError, TimeoutError, OSError, websocket.WebSocketException)


def describe(remote: dict[str, Any]) -> str:
    """A readable form of a CDP RemoteObject."""
    if "value" in remote:
        return str(remote["value"])
    return str(remote.get("description") or remote.get("unserializableValue") or "")


class Connection:
    """One WebSocket to the browser; page sessions are multiplexed over it ("flatten" mode).

    A reader thread files each answer under its command id and hands each event
    to the listener of its session (``listeners[session_id]``; events without a
    listener are dropped). Listeners run on that thread: they record and notify,
    and never send commands.
    """

    def __init__(self, url: str, timeout: float = COMMAND_TIMEOUT) -> None:
        # Chromium refuses DevTools WebSockets that carry an Origin header.
        self.ws = websocket.create_connection(
            url, timeout=10, suppress_origin=True, enable_multithread=True
        )
        self.ws.settimeout(None)
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._replies: dict[int, dict[str, Any]] = {}
        self._answered = threading.Condition()
        self._closed = False
        self.listeners: dict[str, Callable[[str, dict[str, Any]], None]] = {}
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                raw = self.ws.recv()
            except Exception:  # closed, by us or by the browser
                break
            if not raw:
                continue
            message = json.loads(raw)
            if "id" in message:
                with self._answered:
                    self._replies[message["id"]] = message
                    self._answered.notify_all()
            else:
                listener = self.listeners.get(message.get("sessionId", ""))
                if listener is not None:
                    listener(message["method"], message.get("params", {}))
        with self._answered:
            self._closed = True
            self._answered.notify_all()

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session_id: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send a command and wait for its result (``timeout``: the connection's default).

        Raises :class:`CDPError` for an error answer or a closed connection, and
        ``TimeoutError`` when no answer comes in time."""
        timeout = self.timeout if timeout is None else timeout
        command_id = next(self._ids)
        message: dict[str, Any] = {"id": command_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        deadline = time.monotonic() + timeout
        with self._answered:
            if self._closed:
                raise CDPError(f"{method}: the DevTools connection is closed")
        self.ws.send(json.dumps(message))
        with self._answered:
            while command_id not in self._replies:
                remaining = deadline - time.monotonic()
                if self._closed:
                    raise CDPError(f"{method}: the DevTools connection closed")
                if remaining <= 0:
                    raise TimeoutError(f"{method}: no answer from Chromium in {timeout}s")
                self._answered.wait(remaining)
            reply = self._replies.pop(command_id)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def close(self) -> None:
        with suppress(Exception):
            self.ws.close(timeout=1)
        self._reader.join(timeout=5)


class Chromium:
    """One headless Chromium process with a throw-away profile, in its own process
    group, and the DevTools :class:`Connection` to it.

    ``flags`` come after :data:`HEADLESS_FLAGS`; ``command_timeout`` is the
    connection's default wait for an answer. :meth:`close` asks the browser to
    quit, kills its process group if it does not, and removes the profile.
    """

    def __init__(
        self,
        binary: str,
        flags: tuple[str, ...] = (),
        *,
        start_timeout: float = 30,
        command_timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="facilitator-chromium-"))
        profile = self.tmp / "profile"
        profile.mkdir()
        self._log = open(self.tmp / "chromium.log", "wb")  # closed in close()
        self.process = subprocess.Popen(  # noqa: S603 - the browser binary, fixed flags
            [
                binary,
                *HEADLESS_FLAGS,
                *flags,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so close() can end all of it
        )
        self.connection: Connection
        try:
            url = self._devtools_url(profile, start_timeout)
            self.connection = Connection(url, timeout=command_timeout)
        except BaseException:
            self.close()
            raise

    def _devtools_url(self, profile: Path, timeout: float) -> str:
        """Chromium writes the port it picked and the browser's path to this file."""
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Chromium exited with status {self.process.returncode}:\n{self.log_tail()}"
                )
            with suppress(FileNotFoundError):
                lines = port_file.read_text().split()
                if len(lines) >= 2:
                    return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(POLL_SECONDS)
        raise RuntimeError(
            f"Chromium did not open its DevTools port in {timeout}s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = (self.tmp / "chromium.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def version(self) -> str:
        """The browser's product and version, e.g. ``Chrome/131.0.6778.85``."""
        return self.connection.send("Browser.getVersion")["product"]

    def close(self) -> None:
        """Ask Chromium to quit, kill its process group if it does not, and
        remove the profile."""
        connection = getattr(self, "connection", None)
        if connection is not None:
            with suppress(*GONE):
                connection.send("Browser.close", timeout=5)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        # Renderers and helpers share the browser's process group: end any left.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if connection is not None:
            connection.close()
        self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Tab:
    """A blank page in a fresh browser context (its own cookies and cache, like a
    separate device), attached to its own session on the browser's connection.

    Subclasses record the session's events by putting a listener in
    ``browser.connection.listeners[session_id]``.
    """

    def __init__(self, browser: Chromium) -> None:
        self.browser = browser
        send = browser.connection.send
        self.context_id = send("Target.createBrowserContext", {"disposeOnDetach": True})[
            "browserContextId"
        ]
        self.target_id = send(
            "Target.createTarget", {"url": "about:blank", "browserContextId": self.context_id}
        )["targetId"]
        self.session_id = send(
            "Target.attachToTarget", {"targetId": self.target_id, "flatten": True}
        )["sessionId"]

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """A command to this page's session (see :meth:`Connection.send`)."""
        return self.browser.connection.send(
            method, params, session_id=self.session_id, timeout=timeout
        )

    def evaluate(self, expression: str, timeout: float | None = None) -> Any:
        """The value of a JavaScript expression (promises are awaited); raises
        :class:`JSError` when it throws."""
        result = self.send(
            "Runtime.evaluate",
            {
                "expression": expression,
                "returnByValue": True,
                "awaitPromise": True,
            },
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise JSError(describe(details.get("exception", {})) or details.get("text"))
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = COMMAND_TIMEOUT) -> Any:
        """Poll a JavaScript expression (every 50 ms) until it is truthy; returns its value.

        Errors while polling (the page is navigating, an element is not there
        yet) count as "not yet". When ``timeout`` passes, raises what
        :meth:`timed_out` makes of the wait."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            try:
                last = self.evaluate(expression, timeout=max(1.0, deadline - time.monotonic()))
            except (CDPError, JSError, TimeoutError) as exc:
                last = f"<{exc}>"
            else:
                if last:
                    return last
            if time.monotonic() >= deadline:
                raise self.timed_out(f"{what}; last value {last!r}", timeout)
            time.sleep(POLL_SECONDS)

    def timed_out(self, what: str, timeout: float) -> Exception:
        """The error for a wait on ``what`` that ran out of time."""
        return TimeoutError(f"timed out after {timeout:g}s waiting for {what}")

    def close(self) -> None:
        """Close the page and dispose of its browser context."""
        self.browser.connection.listeners.pop(self.session_id, None)
        with suppress(*GONE):
            self.browser.connection.send("Target.closeTarget", {"targetId": self.target_id})
        with suppress(*GONE):
            self.browser.connection.send(
                "Target.disposeBrowserContext", {"browserContextId": self.context_id}
            )
