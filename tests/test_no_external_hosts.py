"""No served page or asset references another host.

The app runs in rooms with poor or no internet, and must not leak who attends
to third parties, so every page, stylesheet and script comes from the server
itself. This test fetches every page the app serves over real HTTP, follows
every asset they use (stylesheets, scripts, ES modules through their import
specifiers, ``/protocol.js``), and checks each *reference* in them:

* HTML (and the inline SVG QR code): URL attributes (``src``, ``href``,
  ``action``, ``srcset``, ...), ``style`` attributes, ``<meta http-equiv=refresh>``,
  inline ``<style>`` and ``<script>``;
* CSS: ``url(...)`` and ``@import``;
* JavaScript: ``import``/``export ... from`` specifiers, dynamic ``import(...)``,
  the literal URL argument of ``fetch``, ``io``/``connect``, ``WebSocket``,
  ``EventSource``, ``Worker``, ``importScripts``, ``sendBeacon``, ``URL``,
  ``open``, and literal ``src``/``href``/``action`` assignments, properties and
  ``setAttribute`` calls;
* response headers that point somewhere: ``Location`` (of every redirect
  followed), ``Link`` and ``Refresh``.

A reference passes when it is relative, a ``data:`` (or ``mailto:``/``tel:``)
URI, or an absolute/protocol-relative URL whose host is the server itself: the
address the test reaches it on, or the room URL the app itself advertises to
phones (this same server and port, under the machine's LAN address; that URL
appears in the console's join and projector links).

Plain strings are deliberately not checked: the vendored Socket.IO client has
a documentation URL inside an error message (``...more information here:
https://socket.io/docs/v3/...``) and builds ``"https://" + host`` from the page's
own location. Neither makes the browser fetch anything, so looking at every
string would fail on text; ``test_references_not_text`` pins that distinction.
The Chromium tests (tests/test_browser.py) are the strongest check: they record
every request the pages really make and require all of them to go to the test
server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from facilitator.edges.web.urls import room_base_url

from .support import LiveClient, join

ROOT = Path(__file__).resolve().parent.parent

# -- extracting references -----------------------------------------------------------

URL_ATTRIBUTES = {
    "src",
    "href",
    "action",
    "formaction",
    "poster",
    "data",
    "background",
    "cite",
    "manifest",
    "ping",
    "longdesc",
    "codebase",
    "xlink:href",
    "srcset",
    "imagesrcset",
}
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.I)
CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.I)
_QUOTED = r"""(?:"([^"\n]*)"|'([^'\n]*)'|`([^`\n]*)`)"""
JS_PATTERNS = {
    # import x from "a"; import {a, b} from "a"; export * from "a"; export {a} from "a"
    "import": re.compile(r"""\b(?:import|export)\b[^;'"`()]*?\bfrom\s*""" + _QUOTED),
    # import "a";  import("a")
    "side-effect import": re.compile(r"""\bimport\s*""" + _QUOTED),
    "dynamic import": re.compile(r"""\bimport\s*\(\s*""" + _QUOTED),
    "call": re.compile(
        r"""\b(?:fetch|io|connect|WebSocket|EventSource|SharedWorker|Worker|importScripts"""
        r"""|sendBeacon|URL|open)\s*\(\s*""" + _QUOTED
    ),
    "assignment": re.compile(r"""\.(?:src|href|action)\s*=\s*""" + _QUOTED),
    "property": re.compile(r"""["']?\b(?:src|href|action)["']?\s*:\s*""" + _QUOTED),
    "setAttribute": re.compile(
        r"""setAttribute\(\s*["'](?:src|href|action|srcset)["']\s*,\s*""" + _QUOTED
    ),
}
MODULE_KINDS = {"import", "side-effect import", "dynamic import"}


@dataclass
class Reference:
    where: str  # e.g. "<script src>", "css url()", "js import"
    value: str
    follow: bool = False  # an asset the page loads, to fetch and check in turn


def _first(match: re.Match[str]) -> str:
    return next(g for g in match.groups() if g is not None)


def css_references(css: str, where: str = "css") -> list[Reference]:
    css = CSS_COMMENT.sub(" ", css)
    found = [Reference(f"{where} url()", _first(m), follow=True) for m in CSS_URL.finditer(css)]
    found += [
        Reference(f"{where} @import", _first(m), follow=True) for m in CSS_IMPORT.finditer(css)
    ]
    return found


def js_references(js: str, where: str = "js") -> list[Reference]:
    found = []
    for kind, pattern in JS_PATTERNS.items():
        for match in pattern.finditer(js):
            found.append(Reference(f"{where} {kind}", _first(match), follow=kind in MODULE_KINDS))
    return found


class _HTMLReferences(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Reference] = []
        self._inline: str | None = None  # "style" or "script" while inside one

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        rel = values.get("rel", "").lower().split()
        loads = tag in (
            "script",
            "img",
            "iframe",
            "embed",
            "source",
            "video",
            "audio",
            "track",
            "input",
            "object",
        ) or (tag == "link" and not {"canonical", "alternate"} & set(rel))
        for name, value in values.items():
            if name in ("srcset", "imagesrcset"):
                for candidate in value.split(","):
                    if candidate.strip():
                        self.found.append(
                            Reference(f"<{tag} {name}>", candidate.split()[0], follow=loads)
                        )
            elif name in URL_ATTRIBUTES:
                self.found.append(Reference(f"<{tag} {name}>", value, follow=loads))
            elif name == "style":
                self.found += css_references(value, f"<{tag} style>")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            target = _refresh_target(values.get("content", ""))
            if target:
                self.found.append(Reference("<meta refresh>", target))
        if tag in ("style", "script"):
            self._inline = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._inline:
            self._inline = None

    def handle_data(self, data: str) -> None:
        if self._inline == "style":
            self.found += css_references(data, "inline <style>")
        elif self._inline == "script":
            self.found += js_references(data, "inline <script>")


def html_references(html: str) -> list[Reference]:
    parser = _HTMLReferences()
    parser.feed(html)
    parser.close()
    return parser.found


def _refresh_target(content: str) -> str | None:
    match = re.search(r"url\s*=\s*['\"]?([^'\"]+)", content, re.I)
    return match.group(1).strip() if match else None


def header_references(response: requests.Response) -> list[Reference]:
    found = []
    for hop in [*response.history, response]:
        for name in ("Location", "Link", "Refresh"):
            value = hop.headers.get(name)
            if not value:
                continue
            if name == "Link":
                found += [Reference("Link header", m) for m in re.findall(r"<([^>]*)>", value)]
            elif name == "Refresh":
                target = _refresh_target(value)
                if target:
                    found.append(Reference("Refresh header", target))
            else:
                found.append(Reference("Location header", value))
    return found


# -- judging references --------------------------------------------------------------

NETWORK_SCHEMES = {"http", "https", "ws", "wss"}
HARMLESS_SCHEMES = {"data", "mailto", "tel"}


def resolve(reference: str, base_url: str) -> str:
    # Browsers read "\" as "/" in http(s) URLs: "/\evil.example" is "//evil.example".
    return urljoin(base_url, reference.strip().replace("\\", "/"))


def problem_with(ref: Reference, base_url: str, own: set[str]) -> str | None:
    """Why this reference is not allowed, or None."""
    value = ref.value.strip()
    if not value or value.startswith("#"):
        return None
    if (
        ref.where.endswith("import")
        and not value.startswith(("/", "./", "../"))
        and "://" not in value
    ):
        return f"{ref.where} {value!r}: a bare module specifier cannot load in a browser"
    url = urlsplit(resolve(value, base_url))
    if url.scheme in HARMLESS_SCHEMES:
        return None
    if url.scheme not in NETWORK_SCHEMES:
        return f"{ref.where} {value!r}: unexpected URL scheme {url.scheme!r}"
    if url.netloc not in own:
        return f"{ref.where} {value!r} points to another host, {url.netloc!r}"
    return None


# -- crawling the app ------------------------------------------------------------------


@dataclass
class Crawl:
    own: set[str]
    problems: list[str] = field(default_factory=list)
    assets: dict[str, str] = field(default_factory=dict)  # url -> content type

    def check(self, url: str, refs: list[Reference], http: requests.Session) -> None:
        for ref in refs:
            problem = problem_with(ref, url, self.own)
            if problem:
                self.problems.append(f"{url}: {problem}")
            elif ref.follow:
                target = resolve(ref.value, url)
                if urlsplit(target).scheme in NETWORK_SCHEMES:
                    self.asset(target.split("#")[0], http, found_in=url)

    def page(self, url: str, http: requests.Session, status: int, marker: str) -> None:
        response = http.get(url, timeout=10)
        assert response.status_code == status, f"{url}: HTTP {response.status_code}"
        assert marker in response.text, f"{url} is not the page expected (no {marker!r})"
        assert "text/html" in response.headers["Content-Type"]
        self.check(url, header_references(response) + html_references(response.text), http)

    def asset(self, url: str, http: requests.Session, found_in: str) -> None:
        if url in self.assets:
            return
        response = http.get(url, timeout=10)
        kind = response.headers.get("Content-Type", "").split(";")[0].strip()
        self.assets[url] = kind
        if response.status_code != 200:
            self.problems.append(f"{found_in}: {url} answers HTTP {response.status_code}")
            return
        refs = header_references(response)
        if kind == "text/css":
            refs += css_references(response.text)
        elif kind in ("text/javascript", "application/javascript"):
            refs += js_references(response.text)
        elif kind in ("text/html", "image/svg+xml"):
            refs += html_references(response.text)
        self.check(url, refs, http)


@pytest.fixture
def own_hosts(app: Any, live_server: str) -> set[str]:
    """The server itself: how the tests reach it, and the room URL it advertises."""
    with app.test_request_context("/", base_url=live_server):
        advertised = room_base_url()
    return {urlsplit(live_server).netloc, urlsplit(advertised).netloc}


@pytest.fixture
def visitor() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def frozen_plan(room: dict[str, Any]) -> str:
    """A plan with one action frozen into a version; its share path."""
    console = LiveClient(room["base"], room["workshop"].id, "console", room["facilitator"])
    with closing(console.connect()):
        stage = next(s for s in console.snapshots[0]["stages"] if s["type"] == "action_plan")
        assert console.call("stage:goto", {"stage_id": stage["id"]})["ok"]
        assert console.call("plan:add", {"fields": {"activity": "Review", "lead": "WHO"}})["ok"]
        return console.call("plan:freeze", {})["version"]["share_path"]


def test_no_page_or_asset_references_another_host(
    room: dict[str, Any], own_hosts: set[str], visitor: requests.Session
) -> None:
    base, workshop = room["base"], room["workshop"]
    facilitator: requests.Session = room["facilitator"]
    projector = f"/w/{workshop.id}/projector?key={workshop.projector_key}"
    crawl = Crawl(own_hosts)

    crawl.page(f"{base}/", visitor, 200, 'name="code"')
    crawl.page(f"{base}/join?code=NO-CODE-1", visitor, 404, "No open workshop")
    crawl.page(f"{base}/login", visitor, 200, 'name="password"')
    crawl.page(f"{base}/no-such-page", visitor, 404, "Not Found")
    crawl.page(f"{base}/w/{workshop.id}/projector?key=wrong", visitor, 403, "not valid")
    crawl.page(f"{base}/console", facilitator, 200, f'href="/w/{workshop.id}/console"')
    crawl.page(f"{base}/w/{workshop.id}/console", facilitator, 200, 'id="console"')
    crawl.page(f"{base}{projector}", visitor, 200, 'id="projector"')
    crawl.page(f"{base}/j/{workshop.code}", visitor, 200, 'id="join-form"')
    phone = join(base, workshop.code, "Amina", "Ministry of Health", workshop.sectors[0])
    with phone:
        crawl.page(f"{base}/j/{workshop.code}", phone, 200, 'id="phone"')
    # The page saying a plan's PDF is being prepared (the first request starts it).
    crawl.page(f"{base}{frozen_plan(room)}.pdf", visitor, 202, "Preparing the PDF")
    crawl.asset(f"{base}/protocol.js", visitor, found_in="the app")
    crawl.asset(
        f"{base}/w/{workshop.id}/qr.svg?key={workshop.projector_key}", visitor, found_in="the app"
    )

    assert crawl.problems == [], "\n".join(crawl.problems)
    # The crawl really reached every script and stylesheet, through their imports.
    paths = {urlsplit(url).path: kind for url, kind in crawl.assets.items()}
    for expected in (
        "/static/css/app.css",
        "/static/js/console.js",
        "/static/js/phone.js",
        "/static/js/projector.js",
        "/static/js/live.js",
        "/static/js/vendor/socket.io.esm.min.js",
        "/protocol.js",
    ):
        assert expected in paths, f"{expected} was not reached; reached {sorted(paths)}"
    served = {
        f"/static/{p.relative_to(ROOT / 'static').as_posix()}"
        for p in (ROOT / "static").rglob("*")
        if p.suffix in (".js", ".css")
    }
    assert served <= set(paths), f"never referenced: {sorted(served - set(paths))}"


def test_the_advertised_room_url_is_this_server(own_hosts: set[str], live_server: str) -> None:
    """The only other host name allowed is the server's own LAN address, same port."""
    port = urlsplit(live_server).port
    assert all(urlsplit(f"//{netloc}").port == port for netloc in own_hosts)


# -- the checker itself ------------------------------------------------------------------

OWN = {"127.0.0.1:5000"}
PAGE = "http://127.0.0.1:5000/w/1/console"


def problems_in(refs: list[Reference]) -> list[str]:
    return [p for ref in refs if (p := problem_with(ref, PAGE, OWN))]


def test_external_references_are_caught() -> None:
    html = """
      <link rel="stylesheet" href="https://cdn.example.com/a.css">
      <link rel="preconnect" href="//fonts.example.com">
      <script src="http://cdn.example.com/x.js"></script>
      <form action="https://forms.example.com/post"></form>
      <img srcset="/a.png 1x, https://img.example.com/b.png 2x">
      <a href="/\\evil.example/path">x</a>
      <div style="background: url('https://img.example.com/bg.png')"></div>
      <meta http-equiv="refresh" content="0; url=https://elsewhere.example/">
      <style>@import "https://css.example.com/b.css"; p { background: url(//img.example.com/c.png) }
      </style>
      <script type="module">import x from "https://esm.example.com/x.js";</script>
    """
    css = '@import url("https://css.example.com/d.css"); a { background: url(//x.example/e) }'
    js = """
      import { a } from "https://esm.example.com/a.js";
      import "//esm.example.com/side-effect.js";
      export * from 'https://esm.example.com/re-export.js';
      const lazy = import(`https://esm.example.com/lazy.js`);
      fetch("https://api.example.com/data");
      const socket = io("https://socket.example.com");
      new WebSocket("wss://ws.example.com/");
      el.src = "https://img.example.com/f.png";
      h("a", { href: "https://link.example.com/" });
      node.setAttribute("href", "http://link.example.com/2");
      import { b } from "socket.io-client";
    """
    found = (
        problems_in(html_references(html))
        + problems_in(css_references(css))
        + problems_in(js_references(js))
    )
    text = "\n".join(found)
    for host in (
        "cdn.example.com",
        "fonts.example.com",
        "forms.example.com",
        "img.example.com",
        "evil.example",
        "elsewhere.example",
        "css.example.com",
        "esm.example.com",
        "x.example",
        "api.example.com",
        "socket.example.com",
        "ws.example.com",
        "link.example.com",
    ):
        assert host in text, f"{host} not caught:\n{text}"
    assert "bare module specifier" in text
    assert len(found) == 24, text


def test_references_not_text() -> None:
    """What is allowed: own host, relative, data:, and URLs that are only text."""
    html = """
      <link rel="icon" href="data:,">
      <link rel="stylesheet" href="/static/css/app.css">
      <a href="http://127.0.0.1:5000/j/ABC123">join</a> <a href="#top">top</a>
      <p>Join at <strong>http://other.example/j/ABC123</strong></p>
      <svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/></svg>
    """
    css = (
        "/* nothing from https://fonts.example.com */"
        " a { background: url(data:image/png;base64,AA) }"
    )
    js = """
      // see https://docs.example.com/ for details
      import { io } from "./vendor/socket.io.esm.min.js";
      import { ACTIONS } from "/protocol.js";
      throw new Error("not compatible (more information here: https://socket.io/docs/v3/)");
      t = void 0 !== i ? i.protocol + "//" + t : "https://" + t;
      fetch(this.uri(), { method: "GET" });
    """
    refs = html_references(html) + css_references(css) + js_references(js)
    assert problems_in(refs) == []
    assert {r.value for r in refs if r.follow} >= {
        "/static/css/app.css",
        "./vendor/socket.io.esm.min.js",
        "/protocol.js",
    }
    vendor = (ROOT / "static/js/vendor/socket.io.esm.min.js").read_text()
    assert problems_in(js_references(vendor)) == []
