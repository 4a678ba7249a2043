"""Small endpoints: the generated protocol module and a health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from sqlalchemy import text

from .. import protocol
from ..db import db

bp = Blueprint("misc", __name__)


@bp.route("/protocol.js")
def protocol_js() -> Response:
    response = Response(protocol.javascript(), mimetype="text/javascript")
    response.cache_control.max_age = 300
    return response


@bp.route("/healthz")
def healthz() -> Any:
    with db.reader() as s:
        s.execute(text("SELECT 1"))
    return {"ok": True}
