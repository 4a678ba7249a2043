"""Headless Chromium for the browser tests, driven over the Chrome DevTools Protocol
(the client itself, and why it is one of our own: :mod:`harness.cdp`).

Everything the tests check is a CDP event: every request (including WebSockets)
per page, console messages, uncaught exceptions, browser log errors (such as a
module that failed to load) and failed loads.

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

import json
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import pytest

from harness.cdp import (
    COMMAND_TIMEOUT,
    POLL_SECONDS,
    CDPError,
    Chromium,
    JSError,
    Tab,
)
from harness.cdp import describe as _describe

from .conftest import chromium_binary, require_services

#: The tests' flags beside :data:`harness.cdp.HEADLESS_FLAGS` (then a profile and a
#: debugging port).
TEST_FLAGS = (
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

DEFAULT_TIMEOUT = COMMAND_TIMEOUT


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


class Page(Tab):
    """A tab in its own browser context, recording what a reviewer would look at
    in the DevTools console and network panel."""

    browser: Browser

    def __init__(self, browser: Browser, name: str) -> None:
        super().__init__(browser)
        self.name = name
        #: Every URL the page asked for: documents, assets, fetches, WebSockets.
        self.requests: list[str] = []
        #: Console errors, uncaught exceptions and browser log errors.
        self.errors: list[str] = []
        #: Requests that failed or were answered with an HTTP error status.
        self.failures: list[str] = []
        self.loads = 0
        self._urls: dict[str, str] = {}
        self._changed = threading.Condition()
        browser.connection.listeners[self.session_id] = self._on_event

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
            raise self.timed_out(what, timeout)

    def timed_out(self, what: str, timeout: float) -> Exception:
        """A failed wait (also of :meth:`wait_for`): which page, what it awaited, where the
        page was and what went wrong on it."""
        return AssertionError(
            f"{self.name}: timed out after {timeout}s waiting for {what}{self._context()}"
        )

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
                raise self.timed_out(f"{selector} to read {expected!r}; it reads {last!r}", timeout)
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

    def type_keys(self, selector: str, keys: str) -> None:
        """Focus a field and press each key of ``keys`` in turn (a date field takes its
        digits this way, segment by segment, as a person types them)."""
        self._point(selector)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        for key in keys:
            self.press(key)

    def press(self, key: str) -> None:
        """One key down and up on the focused element: a character, or "Enter"/"Tab"."""
        named = {"Enter": (13, "\r"), "Tab": (9, "")}
        code, text = named[key] if key in named else (ord(key.upper()), key)
        down = {"type": "keyDown", "key": key, "windowsVirtualKeyCode": code, "text": text}
        self.send("Input.dispatchKeyEvent", down if text else {**down, "type": "rawKeyDown"})
        up = {"type": "keyUp", "key": key, "windowsVirtualKeyCode": code}
        self.send("Input.dispatchKeyEvent", up)

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


def _is_allowed(url: str, allowed_netlocs: set[str]) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "about") or url == "about:blank":
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.netloc in allowed_netlocs


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


class Browser(Chromium):
    """One headless Chromium process with a throw-away profile, run with the tests' flags."""

    def __init__(self, binary: str, start_timeout: float = 30) -> None:
        self._user_agent: str | None = None
        super().__init__(
            binary, TEST_FLAGS, start_timeout=start_timeout, command_timeout=DEFAULT_TIMEOUT
        )

    def mobile_user_agent(self) -> str:
        """This Chromium's own user agent, as Chrome on an Android phone sends it."""
        if self._user_agent is None:
            major = self.version().split("/")[-1].split(".")[0]
            self._user_agent = (
                "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 "
                f"(KHTML, like Gecko) Chrome/{major}.0.0.0 Mobile Safari/537.36"
            )
        return self._user_agent

    def new_page(
        self, name: str, *, width: int = 1280, height: int = 800, mobile: bool = False
    ) -> Page:
        page = Page(self, name)
        try:
            page._setup(width, height, mobile)
        except BaseException:
            page.close()
            raise
        return page
