"""Gzip for the text the browsers fetch: scripts, stylesheets, SVG and JSON.

Phones on a room's weak Wi-Fi fetch the participant page's modules (about
200 kB as written) on their first load; gzip makes that about a quarter. The
app compresses, not a proxy, so the laptop mode (no nginx) gets it too;
behind ``deploy/nginx.conf`` nginx passes the compressed answers through.

* Only ``GET`` answers of 200 with one of :data:`COMPRESSIBLE` types, at least
  :data:`MIN_BYTES` long, to a client that accepts gzip. Every answer of those
  types says ``Vary: Accept-Encoding``, so a cache never hands gzip to a client
  that did not ask for it.
* HTML is not compressed: pages carry the session's CSRF token (and the
  projector page its key) next to text from the request, which over TLS is
  what a BREACH attack needs; they are a few kB each.
* Static files keep Flask's ``Cache-Control: no-cache`` and ``ETag``: the
  browser revalidates and gets a 304. The compressed answer's ETag is the
  weak form of the file's (``W/"..."``), as nginx does it, since its bytes
  differ; ``If-None-Match`` compares weakly, so a 304 still follows.
* A static file is compressed once per process (keyed by its path and ETag,
  which changes with the file); other answers (``/protocol.js``, exports)
  each time, a fraction of a millisecond for a few kB.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

#: The media types worth compressing (text; images other than SVG already are).
COMPRESSIBLE = frozenset(
    {
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "image/svg+xml",
    }
)
#: Below this, gzip's header and the lost Content-Length savings are not worth it.
MIN_BYTES = 512
LEVEL = 6
#: Static files' compressed bodies kept; more than the project has, fewer than a leak.
CACHE_ENTRIES = 256


def init_app(app: Flask) -> None:
    cache: dict[tuple[str, str], bytes] = {}

    @app.after_request
    def compress(response: Response) -> Response:
        if response.mimetype not in COMPRESSIBLE:
            return response
        response.vary.add("Accept-Encoding")
        if request.method != "GET" or request.accept_encodings["gzip"] <= 0:
            return response
        if response.status_code == 304:  # answers a weak ETag we gave earlier
            _weaken_etag(response)
            return response
        if (
            response.status_code != 200
            or "Content-Encoding" in response.headers
            or response.cache_control.no_transform
            or (response.is_streamed and not response.direct_passthrough)
        ):
            return response
        etag, _weak = response.get_etag()
        key = (request.path, etag) if response.direct_passthrough and etag else None
        body = cache.get(key) if key else None
        if body is None:
            data = _read(response)
            body = gzip.compress(data, LEVEL, mtime=0) if len(data) >= MIN_BYTES else data
            if len(body) >= len(data):
                response.set_data(data)
                return response
            if key:
                if len(cache) >= CACHE_ENTRIES:
                    cache.clear()
                cache[key] = body
        else:
            _read(response, keep=False)
        response.set_data(body)
        response.headers["Content-Encoding"] = "gzip"
        response.headers.pop("Accept-Ranges", None)  # ranges would be of the identity body
        _weaken_etag(response)
        return response


def _read(response: Response, keep: bool = True) -> bytes:
    """The body, read now; a static file's handle closed at once, not at the end."""
    source = response.response
    response.direct_passthrough = False
    try:
        return b"".join(response.iter_encoded()) if keep else b""
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _weaken_etag(response: Response) -> None:
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)
