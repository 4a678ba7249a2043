"""Scenario ``page_weight``: the bytes a phone and a projector fetch on their first load.

A fresh app server and workshop (``common.prepare_app``), then headless Chromium
(Debian's ``chromium``, a throw-away profile) driven over the DevTools protocol
(:mod:`harness.cdp`, the client the browser tests use too):

* **phone**: a 360 x 740 touch screen in a fresh browser context (its own cookies
  and an empty cache) opens the join URL ``/j/<code>``, fills in the form and
  submits it; the redirect brings the participant page, whose modules connect
  the socket and render the snapshot.
* **projector**: a 1280 x 800 screen in another fresh context opens the console's
  projector link (``/w/<id>/projector?key=...``) and renders its snapshot.

Every request of each load is counted as Chromium's network panel counts it:
``Network.loadingFinished.encodedDataLength`` is what came over the wire for
that request (headers and the compressed body), including redirects, the
Socket.IO handshake (an HTTP upgrade, or long-polling if the WebSocket fails)
and anything a page asks for later. WebSocket frames are counted as the
frame header plus the payload; Chromium reports the payload inflated, so when
``permessage-deflate`` was agreed the messages are deflated again as the
server did (``_Deflater``) to count what came over the wire. A load is over
when the page shows its live state and no request has been in flight for
``--settle-seconds``.

Sizes are in kB of 1000 bytes, as Chromium's DevTools shows them.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import shutil
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from facilitator.core import i18n
from harness import cdp

from .common import prepare_app, projector_key

NAME = "page_weight"
DEFAULT_CLIENTS = [1]  # one phone and one projector; --clients is not used

#: The phone's first load, compressed, at most this many kB (issue 9).
GOAL_PHONE_KB = 150
KB = 1000

#: How long a DevTools command waits for Chromium's answer.
COMMAND_TIMEOUT = 15

log = logging.getLogger("bench.page_weight")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("page_weight scenario")
    group.add_argument(
        "--settle-seconds",
        type=float,
        default=1.5,
        help="a load is over this long after its last request ended (default 1.5)",
    )
    group.add_argument(
        "--load-timeout", type=float, default=30, help="seconds to wait for a page (default 30)"
    )
    group.add_argument("--chromium", help="the browser binary (default: chromium on PATH)")


# -- the pages ---------------------------------------------------------------------------


class Tab(cdp.Tab):
    """A page in a fresh browser context (own cookies, empty cache) that keeps every
    event of its session, stamped with its arrival (``time.monotonic()``)."""

    def __init__(self, browser: cdp.Chromium, width: int, height: int, mobile: bool) -> None:
        super().__init__(browser)
        self.events: list[tuple[float, str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        browser.connection.listeners[self.session_id] = self._on_event
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "mobile": mobile, "deviceScaleFactor": 1},
        )
        if mobile:
            self.send("Emulation.setTouchEmulationEnabled", {"enabled": True})

    def _on_event(self, method: str, params: dict[str, Any]) -> None:
        with self._lock:
            self.events.append((time.monotonic(), method, params))

    def recorded(self, since: int = 0) -> list[tuple[float, str, dict[str, Any]]]:
        """The events from index ``since`` on (see :meth:`mark`)."""
        with self._lock:
            return self.events[since:]

    def mark(self) -> int:
        """The index of the next event: what a phase of the load starts from."""
        with self._lock:
            return len(self.events)

    def settle(self, since: int, quiet: float, timeout: float) -> None:
        """Wait until no request of this page is in flight and none ended for ``quiet`` s."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.recorded(since)
            pending: set[str] = set()
            last = 0.0
            for stamp, method, params in events:
                if method == "Network.requestWillBeSent":
                    pending.add(params["requestId"])
                elif method in ("Network.loadingFinished", "Network.loadingFailed"):
                    pending.discard(params["requestId"])
                if method.startswith("Network."):
                    last = max(last, stamp)
            now = time.monotonic()
            if not pending and now - last >= quiet:
                return
            if now > deadline:
                raise RuntimeError(f"requests still in flight after {timeout:.0f}s: {pending}")
            time.sleep(0.1)


# -- counting -----------------------------------------------------------------------------


def _frame_bytes(payload: int) -> int:
    """A server-to-client WebSocket frame: header (unmasked) plus payload."""
    return payload + (2 if payload < 126 else 4 if payload < 65536 else 10)


class _Deflater:
    """The server's side of ``permessage-deflate`` (RFC 7692), as eventlet does it.

    Chromium reports a frame's payload after inflating it; deflating the messages
    again, in order and with the same settings (one compressor for the whole
    connection unless ``server_no_context_takeover`` was agreed, default level,
    a sync flush whose 00 00 ff ff tail is dropped), gives the bytes that came
    over the wire.
    """

    def __init__(self, extensions: str) -> None:
        self.fresh_each_time = "server_no_context_takeover" in extensions
        bits = 15
        for part in extensions.split(";"):
            name, _, value = part.strip().partition("=")
            if name == "server_max_window_bits" and value.strip().isdigit():
                bits = int(value)
        self.bits = bits
        self._compressor = self._new()

    def _new(self) -> Any:
        return zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self.bits)

    def compress(self, payload: bytes) -> bytes:
        compressor = self._new() if self.fresh_each_time else self._compressor
        data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return data[:-4] if data.endswith(b"\x00\x00\xff\xff") else data


def _headers_bytes(status_line: str, headers: dict[str, str]) -> int:
    return len(status_line) + 2 + sum(len(k) + len(v) + 4 for k, v in headers.items()) + 2


def _lower(headers: dict[str, Any]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def resources(events: list[tuple[float, str, dict[str, Any]]], base: str) -> list[dict[str, Any]]:
    """One row per response (a redirect is a row of its own) and per WebSocket."""
    rows: dict[str, dict[str, Any]] = {}
    deflaters: dict[str, _Deflater] = {}
    done: list[dict[str, Any]] = []
    origin = urlsplit(base).netloc

    def short(url: str) -> str:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if parts.netloc != origin:
            return url
        if path.startswith("/socket.io/"):  # the session id varies from run to run
            return "/socket.io/?" + "&".join(
                q for q in parts.query.split("&") if not q.startswith(("sid=", "t="))
            )
        if "/projector?key=" in path:
            return path.split("?")[0] + "?key=..."
        return path

    for _stamp, method, p in events:
        rid = p.get("requestId")
        if method == "Network.requestWillBeSent":
            if rid in rows and p.get("redirectResponse"):
                redirect = rows.pop(rid)
                response = p["redirectResponse"]
                redirect["status"] = response["status"]
                redirect["transferred_bytes"] = int(response.get("encodedDataLength", 0))
                done.append(redirect)
            rows[rid] = {
                "url": short(p["request"]["url"]),
                "method": p["request"]["method"],
                "type": p.get("type", "Other"),
                "status": None,
                "encoding": "",
                "transferred_bytes": 0,
                "decoded_bytes": 0,
                "cached": False,
                "foreign": urlsplit(p["request"]["url"]).netloc not in ("", origin)
                and not p["request"]["url"].startswith("data:"),
            }
        elif method == "Network.requestServedFromCache" and rid in rows:
            rows[rid]["cached"] = True
        elif method == "Network.responseReceived" and rid in rows:
            response = p["response"]
            row = rows[rid]
            row["status"] = response["status"]
            row["mime"] = response.get("mimeType", "")
            row["encoding"] = _lower(response.get("headers", {})).get("content-encoding", "")
            row["cached"] = row["cached"] or bool(
                response.get("fromDiskCache") or response.get("fromPrefetchCache")
            )
        elif method == "Network.dataReceived" and rid in rows:
            rows[rid]["decoded_bytes"] += int(p.get("dataLength", 0))
        elif method == "Network.loadingFinished" and rid in rows:
            row = rows.pop(rid)
            row["transferred_bytes"] = int(p.get("encodedDataLength", 0))
            done.append(row)
        elif method == "Network.loadingFailed" and rid in rows:
            row = rows.pop(rid)
            row["failed"] = p.get("errorText", "failed")
            done.append(row)
        elif method == "Network.webSocketCreated":
            rows[rid] = {
                "url": short(p["url"]),
                "method": "GET",
                "type": "WebSocket",
                "status": None,
                "encoding": "",
                "transferred_bytes": 0,
                "decoded_bytes": 0,
                "frames_received": 0,
                "cached": False,
                "foreign": urlsplit(p["url"]).netloc != origin,
            }
            done.append(rows[rid])  # stays open: counted as it is at the end of the load
        elif method == "Network.webSocketHandshakeResponseReceived" and rid in rows:
            response = p["response"]
            row = rows[rid]
            row["status"] = response["status"]
            headers = _lower(response.get("headers", {}))
            row["extensions"] = headers.get("sec-websocket-extensions", "")
            text = response.get("headersText")
            row["transferred_bytes"] += (
                len(text)
                if text
                else _headers_bytes(f"HTTP/1.1 {response['status']} x", response["headers"])
            )
        elif method == "Network.webSocketFrameReceived" and rid in rows:
            frame = p["response"]
            opcode = frame.get("opcode")
            text = frame.get("payloadData", "")
            payload = base64.b64decode(text) if opcode == 2 else text.encode()
            row = rows[rid]
            row["frames_received"] += 1
            row["decoded_bytes"] += len(payload)
            if rid not in deflaters and "permessage-deflate" in row.get("extensions", ""):
                deflaters[rid] = _Deflater(row["extensions"])
            if rid in deflaters and opcode in (1, 2) and payload:
                payload = deflaters[rid].compress(payload)
            row["transferred_bytes"] += _frame_bytes(len(payload))
    for row in rows.values():  # never finished: still loading when the page settled
        if row["type"] != "WebSocket":
            row["unfinished"] = True
            done.append(row)
    return done


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    transferred = sum(r["transferred_bytes"] for r in rows)
    return {
        "kb": round(transferred / KB, 1),
        "bytes": transferred,
        "decoded_bytes": sum(r["decoded_bytes"] for r in rows),
        "requests": len(rows),
        "resources": rows,
    }


# -- the two loads ---------------------------------------------------------------------------


def load_phone(
    browser: cdp.Chromium, base: str, code: str, args: argparse.Namespace, lang: str = "en"
) -> dict[str, Any]:
    """A phone's first load; ``lang``: the language its owner chose (a cookie set before
    the first request, as the picker would have left it)."""
    tab = Tab(browser, 360, 740, mobile=True)
    live = i18n.gettext(lang, "live")
    try:
        if lang != "en":
            tab.send("Network.setCookie", {"name": i18n.COOKIE, "value": lang, "url": base})
        start = tab.mark()
        tab.send("Page.navigate", {"url": f"{base}/j/{code}"})
        tab.wait_for(
            "document.readyState === 'complete' && !!document.getElementById('join-form')",
            "the join form",
            args.load_timeout,
        )
        tab.settle(start, args.settle_seconds, args.load_timeout)
        joined = tab.mark()
        tab.evaluate(
            """(() => {
              const form = document.getElementById('join-form');
              form.elements.name.value = 'Weighed Phone';
              form.elements.organisation.value = 'Bench Org';
              const sector = form.elements.sector;
              sector.value = sector.options[1].value;
              form.requestSubmit();
              return true;
            })()"""
        )
        tab.wait_for(
            "document.readyState === 'complete'"
            " && document.querySelector('[data-bind=connection]')?.textContent"
            f" === {json.dumps(live)}"
            " && document.querySelector('[data-bind=stage-count]')?.textContent !== ''",
            "the participant page to show its live stage",
            args.load_timeout,
        )
        tab.settle(joined, args.settle_seconds, args.load_timeout)
        events = tab.recorded()
        form_rows = resources(events[start:joined], base)
        page_rows = resources(events[joined:], base)
    finally:
        tab.close()
    for row in form_rows:
        row["phase"] = "join form"
    for row in page_rows:
        row["phase"] = "participant page"
    result = summary(form_rows + page_rows)
    result["join_form_kb"] = summary(form_rows)["kb"]
    result["participant_page_kb"] = summary(page_rows)["kb"]
    return result


def load_projector(
    browser: cdp.Chromium, base: str, workshop_id: int, key: str, args: argparse.Namespace
) -> dict[str, Any]:
    tab = Tab(browser, 1280, 800, mobile=False)
    try:
        start = tab.mark()
        tab.send("Page.navigate", {"url": f"{base}/w/{workshop_id}/projector?key={key}"})
        tab.wait_for(
            "document.readyState === 'complete'"
            " && document.querySelector('[data-bind=stage-count]')?.textContent !== ''",
            "the projector to show its live stage",
            args.load_timeout,
        )
        tab.settle(start, args.settle_seconds, args.load_timeout)
        events = tab.recorded(start)
    finally:
        tab.close()
    return summary(resources(events, base))


def find_chromium(given: str | None) -> str:
    for name in (given,) if given else ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("no Chromium found; install Debian's chromium package or pass --chromium")


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.settle_seconds <= 0 or args.load_timeout <= 0:
        raise ValueError("--settle-seconds and --load-timeout must be positive")
    started = time.monotonic()
    binary = find_chromium(args.chromium)
    with tempfile.TemporaryDirectory(prefix="bench-page-weight-") as tmp:
        folder = Path(tmp)
        app = prepare_app(folder / "server", "Page weight")
        browser: cdp.Chromium | None = None
        try:
            key = projector_key(app.facilitator, app.base, app.workshop_id)
            browser = cdp.Chromium(binary, command_timeout=COMMAND_TIMEOUT)
            version = browser.version()
            log.info("%s; loading the phone page", version)
            phone = load_phone(browser, app.base, app.code, args)
            log.info("phone: %s kB in %d requests", phone["kb"], phone["requests"])
            languages = {}
            for lang in ("fr", "ur"):
                languages[lang] = load_phone(browser, app.base, app.code, args, lang)
                log.info("phone in %s: %s kB", lang, languages[lang]["kb"])
            projector = load_projector(browser, app.base, app.workshop_id, key, args)
            log.info("projector: %s kB in %d requests", projector["kb"], projector["requests"])
        finally:
            if browser is not None:
                browser.close()
            app.server.stop()
    rows = phone["resources"] + projector["resources"]
    compressible = [
        r
        for r in rows
        if r.get("status") == 200
        and not r["cached"]
        and r["decoded_bytes"] >= 1024
        and _text_type(r.get("mime", ""))
    ]
    return {
        "scenario": NAME,
        "phone_first_load_kb": phone["kb"],
        "projector_first_load_kb": projector["kb"],
        "goal_phone_kb": GOAL_PHONE_KB,
        "goal_met": phone["kb"] <= GOAL_PHONE_KB,
        # The same first load by a phone whose owner chose French or Urdu: the catalogue
        # script, and for Urdu the Arabic-script face when the phone has none of its own.
        "phone_first_load_kb_by_language": {
            "en": phone["kb"],
            **{lang: page["kb"] for lang, page in languages.items()},
        },
        "phones_by_language": languages,
        "kb_bytes": KB,
        "phone": phone,
        "projector": projector,
        "text_responses_compressed": sum(1 for r in compressible if r["encoding"]),
        "text_responses_uncompressed": [r["url"] for r in compressible if not r["encoding"]],
        "websocket_extensions": sorted(
            {r.get("extensions", "") for r in rows if r["type"] == "WebSocket"}
        ),
        "foreign_requests": [r["url"] for r in rows if r["foreign"]],
        "chromium": version,
        "duration_s": round(time.monotonic() - started, 1),
    }


def _text_type(mime: str) -> bool:
    return mime.startswith("text/") or mime in (
        "application/javascript",
        "application/json",
        "image/svg+xml",
    )


def format_table(result: dict[str, Any]) -> str:
    lines: list[str] = []
    for name in ("phone", "projector"):
        page = result[name]
        lines.append(
            f"{name}: {page['kb']} kB transferred ({page['decoded_bytes'] / KB:.1f} kB decoded) "
            f"in {page['requests']} requests"
        )
        lines.append(f"  {'kB':>7} {'decoded':>8} {'enc':>5} {'status':>6}  resource")
        for row in page["resources"]:
            status = "cache" if row["cached"] else str(row["status"])
            lines.append(
                f"  {row['transferred_bytes'] / KB:>7.1f} {row['decoded_bytes'] / KB:>8.1f} "
                f"{row['encoding'] or '-':>5} {status:>6}  {row['method']} {row['url']}"
            )
    for lang, page in result["phones_by_language"].items():
        lines.append(f"phone in {lang}: {page['kb']} kB in {page['requests']} requests")
        for row in page["resources"]:
            if "/i18n/" in row["url"] or "/fonts/" in row["url"]:
                lines.append(f"  {row['transferred_bytes'] / KB:>7.1f} kB  {row['url']}")
    verdict = "met" if result["goal_met"] else "NOT met"
    lines.append(
        f"phone first load {result['phone_first_load_kb']} kB: goal of "
        f"{result['goal_phone_kb']} kB {verdict}"
    )
    if result["text_responses_uncompressed"]:
        lines.append("sent uncompressed: " + ", ".join(result["text_responses_uncompressed"]))
    return "\n".join(lines)
