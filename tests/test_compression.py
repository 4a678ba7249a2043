"""Gzip for scripts, styles, SVG and JSON (facilitator/core/compression.py): in the app,
with the caching headers still right, and through the shipped nginx configuration."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
import requests

from facilitator.core.config import PROJECT_ROOT

from .server_process import ServerProcess
from .test_proxy import nginx  # noqa: F401 - fixture

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
LIVE_JS = PROJECT_ROOT / "static" / "js" / "live.js"


def test_static_scripts_and_styles_are_gzipped_for_clients_that_accept_it(client: Any) -> None:
    for path, kind in (
        ("/static/js/live.js", "text/javascript"),
        ("/static/css/app.css", "text/css"),
    ):
        resp = client.get(path, headers=GZIP)
        assert resp.status_code == 200
        assert resp.mimetype == kind
        assert resp.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in resp.headers["Vary"]
        body = gzip.decompress(resp.data)
        assert body == (PROJECT_ROOT / path.lstrip("/")).read_bytes()
        assert int(resp.headers["Content-Length"]) == len(resp.data) < len(body) / 2
        assert "Accept-Ranges" not in resp.headers
        resp.close()


def test_the_gzipped_file_keeps_its_validators_and_revalidates_to_a_304(client: Any) -> None:
    plain = client.get("/static/js/live.js")
    zipped = client.get("/static/js/live.js", headers=GZIP)
    assert "Content-Encoding" not in plain.headers
    assert plain.data == LIVE_JS.read_bytes()
    # Other bytes, so a weak validator, the file's own (as nginx does it).
    assert zipped.headers["ETag"] == "W/" + plain.headers["ETag"]
    assert zipped.headers["Cache-Control"] == plain.headers["Cache-Control"] == "no-cache"
    assert zipped.headers["Last-Modified"] == plain.headers["Last-Modified"]
    again = client.get(
        "/static/js/live.js", headers={**GZIP, "If-None-Match": zipped.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == zipped.headers["ETag"]
    assert "Accept-Encoding" in again.headers["Vary"]
    # Served twice from the compressed copy: the same bytes.
    assert client.get("/static/js/live.js", headers=GZIP).data == zipped.data
    for resp in (plain, zipped, again):
        resp.close()


def test_no_gzip_unless_asked_and_never_for_ranges_or_heads(client: Any) -> None:
    refused = client.get("/static/js/live.js", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert "Content-Encoding" not in refused.headers
    assert refused.data == LIVE_JS.read_bytes()
    ranged = client.get("/static/js/live.js", headers={**GZIP, "Range": "bytes=0-99"})
    assert ranged.status_code == 206 and "Content-Encoding" not in ranged.headers
    assert ranged.data == LIVE_JS.read_bytes()[:100]
    head = client.head("/static/js/live.js", headers=GZIP)
    assert "Content-Encoding" not in head.headers
    assert int(head.headers["Content-Length"]) == LIVE_JS.stat().st_size
    for resp in (refused, ranged, head):
        resp.close()


def test_the_protocol_module_is_gzipped_but_pages_are_not(client: Any) -> None:
    protocol = client.get("/protocol.js", headers=GZIP)
    assert protocol.headers["Content-Encoding"] == "gzip"
    assert b"export const" in gzip.decompress(protocol.data)
    # Pages carry the CSRF token beside text from the request: no compression (BREACH).
    page = client.get("/login", headers=GZIP)
    assert page.status_code == 200 and "Content-Encoding" not in page.headers
    assert b'name="csrf_token"' in page.data


@pytest.mark.server
def test_compression_reaches_the_browser_through_the_shipped_nginx(
    nginx: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        base = nginx([server.port, server.port])
        http = requests.Session()
        script = http.get(f"{base}/static/js/live.js", headers=GZIP, stream=True, timeout=10)
        raw = script.raw.read(decode_content=False)
        assert script.status_code == 200
        assert script.headers["Content-Encoding"] == "gzip"  # once: the app's, passed on
        assert gzip.decompress(raw) == LIVE_JS.read_bytes()
        assert "Accept-Encoding" in script.headers["Vary"]
        revalidated = http.get(
            f"{base}/static/js/live.js",
            headers={**GZIP, "If-None-Match": script.headers["ETag"]},
            timeout=10,
        )
        assert revalidated.status_code == 304
        page = http.get(f"{base}/login", headers=GZIP, timeout=10)
        assert page.status_code == 200 and "Content-Encoding" not in page.headers
    finally:
        server.stop()
