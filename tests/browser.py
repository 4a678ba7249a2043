"""Headless Chromium for the browser tests, driven over the Chrome DevTools Protocol.

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
* Everything the tests check is a CDP event anyway: every request (including
  WebSockets) per page, console messages, uncaught exceptions, browser log
  errors (such as a module that failed to load) and failed loads.

Robustness comes from waiting on conditions, never on fixed sleeps: each wait
polls a JavaScript expression (every 50 ms) until it is truthy or a deadline
passes, and the timeout message says what was awaited, the last value seen, and
what went wrong on the page. Input goes through CDP's ``Input`` domain (real
mouse clicks, touch taps and typed text), not through ``element.click()``.

Each page gets its own browser context (its own cookies, like a separate
device). One browser process serves the whole test session; ``Browser.close``
shuts it down, kills its process group if it does not exit, and removes its
temporary profile.
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
from urllib.parse import urlsplit

import pytest
import websocket

from .conftest import chromium_binary, require_services

#: The flags the project runs Chromium with, plus a profile and a debugging port.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Belt and braces for the "no external host" rule: no host name resolves
    # except the test server's address, so even a stray reference cannot leave
    # the machine. The tests still record every request and fail on any of them.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)

MISSING = (
    "no Chromium binary found (looked for chromium, chromium-browser and google-chrome "
    "on PATH); install Debian's `chromium` package to run the browser tests"
)

POLL_SECONDS = 0.05
DEFAULT_TIMEOUT = 10.0


def find_chromium() -> str:
    """The Chromium to use; skips the test when there is none, or fails it when
    FACILITATOR_REQUIRE_SERVICES=1 says the browser tests must run."""
    path = chromium_binary()
    if path is not None:
        return path
    if require_services():
        pytest.fail(
            f"{MISSING} (FACILITATOR_REQUIRE_SERVICES=1, so this is a failure)", pytrace=False
        )
    pytest.skip(MISSING)


class CDPError(RuntimeError):
    """An error answer to a DevTools command."""


class JSError(RuntimeError):
    """An exception thrown by JavaScript evaluated in a page."""


class Connection:
    """One WebSocket to the browser; page sessions are multiplexed over it ("flatten" mode).

    A reader thread files each answer under its command id and hands each event
    to the listener of its session. Listeners run on that thread: they record
    and notify, and never send commands.
    """

    def __init__(self, url: str) -> None:
        # Chromium refuses DevTools WebSockets that carry an Origin header.
        self.ws = websocket.create_connection(
            url, timeout=10, suppress_origin=True, enable_multithread=True
        )
        self.ws.settimeout(None)
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
        timeout: float = DEFAULT_TIMEOUT,
    ) -> dict[str, Any]:
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


class Page:
    """A tab in its own browser context, recording what a reviewer would look at
    in the DevTools console and network panel."""

    def __init__(
        self, browser: Browser, name: str, context_id: str, target_id: str, session_id: str
    ) -> None:
        self.browser = browser
        self.name = name
        self.context_id = context_id
        self.target_id = target_id
        self.session_id = session_id
        #: Every URL the page asked for: documents, assets, fetches, WebSockets.
        self.requests: list[str] = []
        #: Console errors, uncaught exceptions and browser log errors.
        self.errors: list[str] = []
        #: Requests that failed or were answered with an HTTP error status.
        self.failures: list[str] = []
        self.loads = 0
        self._urls: dict[str, str] = {}
        self._changed = threading.Condition()
        browser.connection.listeners[session_id] = self._on_event

    # -- events (reader thread) ------------------------------------------------

    def _on_event(self, method: str, params: dict[str, Any]) -> None:
        with self._changed:
            self._record(method, params)
            self._changed.notify_all()

    def _record(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            self._urls[params["requestId"]] = url
            self.requests.append(url)
        elif method == "Network.webSocketCreated":
            self._urls[params["requestId"]] = params["url"]
            self.requests.append(params["url"])
        elif method == "Network.responseReceived":
            status = params["response"]["status"]
            if status >= 400:
                self.failures.append(f"HTTP {status} {params['response']['url']}")
        elif method == "Network.loadingFailed":
            url = self._urls.get(params["requestId"], "?")
            self.failures.append(f"{params.get('errorText', 'failed')} {url}")
        elif method == "Network.webSocketFrameError":
            url = self._urls.get(params["requestId"], "?")
            self.failures.append(f"WebSocket frame error {params.get('errorMessage')} {url}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            text = " ".join(_describe(arg) for arg in params.get("args", []))
            self.errors.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            described = _describe(details.get("exception", {})) or details.get("text", "")
            where = details.get("url", "")
            self.errors.append(f"uncaught: {described} {where}".strip())
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            self.errors.append(
                f"log {entry['source']}: {entry['text']} {entry.get('url', '')}".strip()
            )
        elif method == "Page.javascriptDialogOpening":
            # No screen opens a dialog unasked; one that opens blocks the page.
            self.errors.append(f"dialog ({params.get('type')}): {params.get('message')}")
        elif method == "Inspector.targetCrashed":
            self.errors.append("the page crashed")
        elif method == "Page.loadEventFired":
            self.loads += 1

    # -- commands ------------------------------------------------------------------

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        return self.browser.connection.send(
            method, params, session_id=self.session_id, timeout=timeout
        )

    def _setup(self, width: int, height: int, mobile: bool) -> None:
        for domain in ("Page", "Runtime", "Network", "Log", "Inspector"):
            self.send(f"{domain}.enable")
        self.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": width,
                "height": height,
                "mobile": mobile,
                "deviceScaleFactor": 2 if mobile else 1,
            },
        )
        if mobile:
            self.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
            self.send(
                "Emulation.setUserAgentOverride", {"userAgent": self.browser.mobile_user_agent()}
            )

    def goto(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Navigate and wait for the load event (module scripts have run by then)."""
        with self._changed:
            loads = self.loads
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise AssertionError(f"{self.name}: cannot open {url}: {result['errorText']}")
        self._wait_locally(lambda: self.loads > loads, f"{url} to load", timeout)

    def _wait_locally(self, predicate: Callable[[], bool], what: str, timeout: float) -> None:
        """Wait for recorded events (no polling of the page)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (done := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
        if not done:  # described outside the lock: the reader thread needs it
            raise AssertionError(
                f"{self.name}: timed out after {timeout}s waiting for {what}{self._context()}"
            )

    def evaluate(self, expression: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """The value of a JavaScript expression (promises are awaited)."""
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
            raise JSError(_describe(details.get("exception", {})) or details.get("text"))
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Poll a JavaScript expression until it is truthy; returns its value.

        Errors while polling (the page is navigating, an element is not there
        yet) count as "not yet"."""
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
                raise AssertionError(
                    f"{self.name}: timed out after {timeout}s waiting for "
                    f"{what}; last value {last!r}{self._context()}"
                )
            time.sleep(POLL_SECONDS)

    def wait_text(self, selector: str, expected: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the element's trimmed text is exactly ``expected``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                last: Any = self.text(selector)
            except (CDPError, JSError, TimeoutError) as exc:
                last = f"<{exc}>"
            if last == expected:
                return
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{self.name}: timed out after {timeout}s waiting for "
                    f"{selector} to read {expected!r}; it reads {last!r}"
                    f"{self._context()}"
                )
            time.sleep(POLL_SECONDS)

    def text(self, selector: str) -> str | None:
        return self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            " return el ? el.textContent.trim() : null; })()"
        )

    def _point(self, selector: str) -> tuple[float, float]:
        """The centre of an element that is visible, enabled and not covered,
        measured after the page has drawn a frame with it in view."""
        found = self.wait_for(
            f"""(async () => {{
              // Before the load event the page may not have painted, and Chromium
              // drops input aimed at a page it has not drawn yet.
              if (document.readyState !== "complete") return null;
              const el = document.querySelector({json.dumps(selector)});
              if (!el || el.disabled) return null;
              el.scrollIntoView({{block: "center", inline: "center"}});
              await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
              const r = el.getBoundingClientRect();
              if (r.width === 0 || r.height === 0) return null;
              const x = r.left + r.width / 2, y = r.top + r.height / 2;
              const top = document.elementFromPoint(x, y);
              return top && (top === el || el.contains(top)) ? [x, y] : null;
            }})()""",
            f"{selector} to be visible, enabled and clickable",
        )
        return float(found[0]), float(found[1])

    def click(self, selector: str) -> None:
        """A real left click with the mouse, at the element's centre."""
        x, y = self._point(selector)
        base = {"x": x, "y": y, "button": "left", "clickCount": 1}
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        self.send("Input.dispatchMouseEvent", {"type": "mousePressed", **base})
        self.send("Input.dispatchMouseEvent", {"type": "mouseReleased", **base})

    def tap(self, selector: str) -> None:
        """A finger tap (needs a page opened with mobile=True)."""
        x, y = self._point(selector)
        self.send(
            "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]}
        )
        self.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    def drag(self, selector: str, dx: float, dy: float, steps: int = 8) -> None:
        """Press on an element, move the finger by (dx, dy) in steps, lift it."""
        x, y = self._point(selector)
        touch = "Input.dispatchTouchEvent"
        self.send(touch, {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
        for i in range(1, steps + 1):
            point = {"x": x + dx * i / steps, "y": y + dy * i / steps}
            self.send(touch, {"type": "touchMove", "touchPoints": [point]})
            time.sleep(0.03)
        self.send(touch, {"type": "touchEnd", "touchPoints": []})

    def fill(self, selector: str, text: str) -> None:
        """Focus a field, clear it and type the text, as a keyboard would."""
        self._point(selector)
        self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            " el.focus(); el.select(); })()"
        )
        self.send("Input.insertText", {"text": text})
        value = self.evaluate(f"document.querySelector({json.dumps(selector)}).value")
        assert value == text, f"{self.name}: {selector} holds {value!r} after typing {text!r}"

    def choose(self, selector: str, value: str) -> None:
        """Pick an option of a <select> (native pickers cannot be driven headless)."""
        self._point(selector)
        picked = self.evaluate(f"""(() => {{
          const el = document.querySelector({json.dumps(selector)});
          const option = [...el.options].find((o) => o.value === {json.dumps(value)});
          if (!option) return false;
          el.focus();
          el.value = option.value;
          el.dispatchEvent(new Event("input", {{bubbles: true}}));
          el.dispatchEvent(new Event("change", {{bubbles: true}}));
          return el.value === option.value;
        }})()""")
        assert picked, f"{self.name}: {selector} has no option {value!r}"

    # -- what the page did -----------------------------------------------------------

    def problems(self) -> list[str]:
        with self._changed:
            return [f"{self.name}: {p}" for p in self.errors + self.failures]

    def foreign_requests(self, allowed_netlocs: set[str]) -> list[str]:
        """Requests to anything other than the given hosts (data: URLs are fine)."""
        with self._changed:
            urls = list(self.requests)
        return [f"{self.name}: {url}" for url in urls if not _is_allowed(url, allowed_netlocs)]

    def _context(self) -> str:
        problems = self.problems()
        url = "?"
        with suppress(Exception):
            url = self.evaluate("location.href", timeout=2)
        return f" (at {url}" + (f"; page problems: {problems})" if problems else ")")

    def close(self) -> None:
        self.browser.connection.listeners.pop(self.session_id, None)
        with suppress(CDPError, TimeoutError):
            self.browser.connection.send("Target.closeTarget", {"targetId": self.target_id})
        with suppress(CDPError, TimeoutError):
            self.browser.connection.send(
                "Target.disposeBrowserContext", {"browserContextId": self.context_id}
            )


def _is_allowed(url: str, allowed_netlocs: set[str]) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "about") or url == "about:blank":
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.netloc in allowed_netlocs


def _describe(remote: dict[str, Any]) -> str:
    """A readable form of a CDP RemoteObject."""
    if "value" in remote:
        return str(remote["value"])
    return str(remote.get("description") or remote.get("unserializableValue") or "")


class LazyBrowser:
    """The session's browser, started on first use inside a test, so a missing
    Chromium skips (or fails) that test rather than erroring its setup."""

    def __init__(self) -> None:
        self._browser: Browser | None = None

    def get(self) -> Browser:
        if self._browser is None:
            self._browser = Browser(find_chromium())
        return self._browser

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None


class Pages:
    """The pages one test opens; ``assert_clean`` checks all of them at once."""

    def __init__(self, browser: LazyBrowser, base: str) -> None:
        self.browser = browser
        self.base = base
        self.opened: list[Page] = []

    def open(
        self,
        name: str,
        path: str | None = None,
        *,
        width: int = 1280,
        height: int = 800,
        mobile: bool = False,
    ) -> Page:
        page = self.browser.get().new_page(name, width=width, height=height, mobile=mobile)
        self.opened.append(page)
        if path is not None:
            page.goto(self.base + path)
        return page

    def phone(self, name: str = "phone", path: str | None = None) -> Page:
        """A 360 x 740 phone with a touch screen."""
        return self.open(name, path, width=360, height=740, mobile=True)

    def problems(self) -> list[str]:
        return [p for page in self.opened for p in page.problems()]

    def foreign_requests(self) -> list[str]:
        own = {urlsplit(self.base).netloc}
        return [r for page in self.opened for r in page.foreign_requests(own)]

    def assert_clean(self) -> None:
        """No console errors, no failed requests, nothing fetched from another host,
        in any page this test opened."""
        assert self.opened, "no page was opened"
        assert all(page.requests for page in self.opened), "a page recorded no request at all"
        assert self.problems() == [], "\n".join(self.problems())
        assert self.foreign_requests() == [], "requests to other hosts:\n" + "\n".join(
            self.foreign_requests()
        )

    def close(self) -> None:
        for page in self.opened:
            page.close()


class Browser:
    """One headless Chromium process with a throw-away profile."""

    def __init__(self, binary: str, start_timeout: float = 30) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="facilitator-chromium-"))
        profile = self.tmp / "profile"
        profile.mkdir()
        self._log = open(self.tmp / "chromium.log", "wb")  # closed in close()
        self.process = subprocess.Popen(
            [
                binary,
                *CHROMIUM_FLAGS,
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
        self._user_agent: str | None = None
        try:
            self.connection = Connection(self._devtools_url(profile, start_timeout))
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

    def mobile_user_agent(self) -> str:
        """This Chromium's own user agent, as Chrome on an Android phone sends it."""
        if self._user_agent is None:
            version = self.connection.send("Browser.getVersion")["product"].split("/")[-1]
            major = version.split(".")[0]
            self._user_agent = (
                "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 "
                f"(KHTML, like Gecko) Chrome/{major}.0.0.0 Mobile Safari/537.36"
            )
        return self._user_agent

    def new_page(
        self, name: str, *, width: int = 1280, height: int = 800, mobile: bool = False
    ) -> Page:
        send = self.connection.send
        context_id = send("Target.createBrowserContext", {"disposeOnDetach": True})[
            "browserContextId"
        ]
        target_id = send(
            "Target.createTarget", {"url": "about:blank", "browserContextId": context_id}
        )["targetId"]
        session_id = send("Target.attachToTarget", {"targetId": target_id, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, name, context_id, target_id, session_id)
        try:
            page._setup(width, height, mobile)
        except BaseException:
            page.close()
            raise
        return page

    def close(self) -> None:
        """Ask Chromium to quit, kill its process group if it does not, and
        remove the profile."""
        connection = getattr(self, "connection", None)
        if connection is not None:
            with suppress(CDPError, TimeoutError, OSError, websocket.WebSocketException):
                connection.send("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        # Renderers and helpers share the browser's process group: end any left.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if connection is not None:
            connection.close()
        self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
