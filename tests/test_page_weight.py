"""``python -m bench page_weight``: a phone's first load stays within its 150 kB, compressed
(bench/README.md); runs the real server and headless Chromium."""

from __future__ import annotations

import pytest

from .browser import find_chromium
from .test_bench_smoke import run_bench

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_the_phones_first_load_is_within_150_kb_compressed() -> None:
    chromium = find_chromium()  # skips (or fails, when services are required) without one
    result = run_bench(f"page_weight --json --chromium {chromium}")
    assert result["scenario"] == "page_weight"
    assert result["goal_phone_kb"] == 150
    assert 0 < result["phone_first_load_kb"] <= 150, result["phone"]["resources"]
    assert result["goal_met"] is True
    assert 0 < result["projector_first_load_kb"]
    assert result["foreign_requests"] == []
    phone = result["phone"]
    assert phone["join_form_kb"] + phone["participant_page_kb"] == pytest.approx(
        phone["kb"], abs=0.2
    )
    urls = {row["url"] for row in phone["resources"]}
    assert {"/static/js/phone.js", "/static/js/vendor/socket.io.esm.min.js"} <= urls
    assert any(row["type"] == "WebSocket" and row["status"] == 101 for row in phone["resources"])
    # Text comes compressed; only the HTML pages do not (on purpose, docs/deploy.md).
    assert result["text_responses_compressed"] >= 10
    assert all(url.startswith(("/j/", "/w/")) for url in result["text_responses_uncompressed"]), (
        result["text_responses_uncompressed"]
    )
