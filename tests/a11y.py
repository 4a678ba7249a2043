"""Accessibility checks for the browser tests: axe-core run inside a page, and
the artifacts folder the browser tests save screenshots and results to.

axe-core is vendored in tests/vendor (see its README there). It is injected by
the tests through the DevTools protocol (``Runtime.evaluate``, which the page's
Content-Security-Policy does not govern); the app never serves it.

``check(page, what)`` fails on any violation of impact "serious" or "critical",
listing each rule, its help text and the elements that break it. Moderate and
minor findings are recorded (``results``) but do not fail: the docs list them.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from .browser import Page

ROOT = Path(__file__).resolve().parent.parent
AXE_SOURCE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
FAILING = ("serious", "critical")

#: Everything axe reported in this test session, by page: written to
#: ``<artifacts>/axe-results.json`` by ``write_results`` for docs/accessibility.md.
results: dict[str, list[dict[str, Any]]] = {}


def artifacts(*parts: str) -> Path:
    """A folder for test artifacts: $FACILITATOR_ARTIFACTS, else test-artifacts/ in the repo."""
    base = Path(os.environ.get("FACILITATOR_ARTIFACTS") or ROOT / "test-artifacts")
    folder = base.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page: Page, path: Path, *, full: bool = True) -> Path:
    """A PNG of the page: the whole document (up to 6000 CSS px tall) or the viewport."""
    params: dict[str, Any] = {"format": "png"}
    width, height, inner, ratio, touch = page.evaluate(
        "[document.documentElement.clientWidth, document.scrollingElement.scrollHeight,"
        " window.innerHeight, window.devicePixelRatio, navigator.maxTouchPoints > 0]"
    )
    beyond = full and height > inner
    if beyond:
        params["clip"] = {"x": 0, "y": 0, "width": width, "height": min(height, 6000), "scale": 1}
        params["captureBeyondViewport"] = True
    data = page.send("Page.captureScreenshot", params, timeout=30)["data"]
    path.write_bytes(base64.b64decode(data))
    if beyond:
        # Capturing beyond the viewport leaves an emulated phone with a taller layout
        # viewport than its visual one (taps would land off target): set it back.
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": inner, "deviceScaleFactor": ratio, "mobile": touch},
        )
        page.wait_for(f"window.innerHeight === {inner}", "the viewport restored")
    return path


def inject(page: Page) -> None:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8") + "\n;true", timeout=30)


def run(page: Page, *, rules: dict[str, bool] | None = None, context: str = "document") -> Any:
    """axe's violations in the page (all impacts), as plain data."""
    inject(page)
    options = {"resultTypes": ["violations"]}
    if rules:
        options["rules"] = {rule: {"enabled": on} for rule, on in rules.items()}
    return page.evaluate(
        f"""axe.run({context}, {json.dumps(options)}).then((r) => r.violations.map((v) => ({{
              id: v.id, impact: v.impact, help: v.help, tags: v.tags,
              nodes: v.nodes.map((n) => ({{
                target: n.target.join(' '),
                html: n.html.slice(0, 160),
                summary: (n.failureSummary || '').split('\\n').slice(0, 3).join(' '),
              }})),
            }})))""",
        timeout=60,
    )


def describe(violations: list[dict[str, Any]], limit: int = 6) -> str:
    lines = []
    for v in violations:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} elements)")
        for node in v["nodes"][:limit]:
            lines.append(f"    {node['target']}: {node['summary']}")
            lines.append(f"      {node['html']}")
        if len(v["nodes"]) > limit:
            lines.append(f"    ... and {len(v['nodes']) - limit} more")
    return "\n".join(lines)


def check(page: Page, what: str, *, rules: dict[str, bool] | None = None) -> list[dict[str, Any]]:
    """Run axe in the page; fail on serious or critical violations. Returns all of them."""
    violations = run(page, rules=rules)
    results[what] = [
        {"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in violations
    ]
    failing = [v for v in violations if v["impact"] in FAILING]
    assert not failing, (
        f"{what}: axe-core finds {len(failing)} serious or critical accessibility "
        f"violation(s):\n{describe(failing)}"
    )
    return violations


def write_results(name: str) -> Path:
    """What axe reported since the last call, as JSON in the artifacts folder."""
    path = artifacts() / f"axe-{name}.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    results.clear()
    return path


# -- the keyboard ---------------------------------------------------------------------------

#: key -> (code, Windows virtual key code, text it types)
KEYS: dict[str, tuple[str, int, str]] = {
    "Tab": ("Tab", 9, ""),
    "Enter": ("Enter", 13, "\r"),
    " ": ("Space", 32, " "),
    "Escape": ("Escape", 27, ""),
    "ArrowLeft": ("ArrowLeft", 37, ""),
    "ArrowUp": ("ArrowUp", 38, ""),
    "ArrowRight": ("ArrowRight", 39, ""),
    "ArrowDown": ("ArrowDown", 40, ""),
    "Home": ("Home", 36, ""),
    "End": ("End", 35, ""),
}


def press(page: Page, key: str, *, shift: bool = False) -> None:
    """One key pressed and released, as a keyboard sends it (Input.dispatchKeyEvent)."""
    code, vk, text = KEYS[key]
    base = {"key": key, "code": code, "windowsVirtualKeyCode": vk, "modifiers": 8 if shift else 0}
    page.send(
        "Input.dispatchKeyEvent", {"type": "keyDown", **base, **({"text": text} if text else {})}
    )
    page.send("Input.dispatchKeyEvent", {"type": "keyUp", **base})


def type_text(page: Page, text: str) -> None:
    """Types text character by character into whatever has the focus."""
    for char in text:
        page.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": char, "text": char})
        page.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": char})


def focused(page: Page, selector: str) -> bool:
    return bool(page.evaluate(f"!!document.activeElement?.matches({json.dumps(selector)})"))


def tab_to(page: Page, selector: str, *, limit: int = 80, backwards: bool = False) -> None:
    """Presses Tab (or Shift+Tab) until the focus is on ``selector``: proof that the
    keyboard reaches it, in the page's own order."""
    for _ in range(limit):
        if focused(page, selector):
            return
        press(page, "Tab", shift=backwards)
    where = page.evaluate("document.activeElement?.outerHTML.slice(0, 120)")
    raise AssertionError(
        f"{page.name}: {limit} presses of Tab never reached {selector}; the focus is on {where}"
    )
