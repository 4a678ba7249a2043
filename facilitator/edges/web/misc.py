"""Small endpoints: the generated protocol module, health and readiness checks."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, request
from sqlalchemy import text

from facilitator.core import i18n, protocol
from facilitator.core.db import db

bp = Blueprint("misc", __name__)


@bp.route("/protocol.js")
def protocol_js() -> Response:
    response = Response(protocol.javascript(), mimetype="text/javascript")
    response.cache_control.max_age = 300
    return response


@bp.route("/i18n/<lang>.js")
def messages_js(lang: str) -> Response:
    """A language's catalogue for the screens (see static/js/i18n.js)."""
    if not i18n.supported(lang):
        abort(404)
    response = Response(i18n.javascript(lang), mimetype="text/javascript")
    response.cache_control.max_age = 300
    return response


@bp.route("/language", methods=["POST"])
def choose_language() -> Any:
    """Remember a person's language (a year, this browser only) and go back."""
    lang = i18n.supported(request.form.get("lang"))
    if lang is None:
        abort(400, "Unknown language.")
    back = request.form.get("next") or "/"
    # Only a path on this server: never a redirect elsewhere.
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = "/"
    response = redirect(back, code=303)
    response.set_cookie(
        i18n.COOKIE,
        lang,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response


@bp.route("/healthz")
def healthz() -> Any:
    """Alive: the process answers and its database too."""
    with db.reader() as s:
        s.execute(text("SELECT 1"))
    return {"ok": True}


@bp.route("/readyz")
def readyz() -> Any:
    """Ready for traffic: the database and the message queue (if any) answer.
    A proxy or orchestrator sends clients elsewhere while this says 503."""
    checks: dict[str, str] = {}
    try:
        with db.reader() as s:
            s.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # reported, not raised: this is the check
        checks["database"] = f"unreachable: {type(exc).__name__}"
    queue = current_app.config.get("MESSAGE_QUEUE")
    if not queue:
        checks["queue"] = "none (one process)"
    else:
        try:
            import redis

            redis.Redis.from_url(queue, socket_timeout=2, socket_connect_timeout=2).ping()
            checks["queue"] = "ok"
        except Exception as exc:  # reported, not raised: this is the check
            checks["queue"] = f"unreachable: {type(exc).__name__}"
    ready = all(v == "ok" or v.startswith("none") for v in checks.values())
    return {"ok": ready, **checks}, 200 if ready else 503
