"""The application factory."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, abort, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from facilitator.actions import catalogue  # noqa: F401 - registers every action
from facilitator.core import compression, i18n
from facilitator.core import config as config_module
from facilitator.core.db import db
from facilitator.core.limits import HTTP_LIMITS, HttpLimits
from facilitator.documents import render_client
from facilitator.domain import polls
from facilitator.domain.kits import KitLibrary
from facilitator.edges.sockets import init_app as init_sockets
from facilitator.edges.web import register_blueprints


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    root = config_module.PROJECT_ROOT
    settings = config_module.from_env(
        Path(test_config["INSTANCE_PATH"])
        if test_config and "INSTANCE_PATH" in test_config
        else None
    )
    if test_config:
        settings.update(test_config)
    app = Flask(
        __name__,
        instance_path=str(settings["INSTANCE_PATH"]),
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
    )
    app.config.update(settings)
    logging.basicConfig(
        level=app.config.get("LOG_LEVEL", logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)

    db.init_app(app)
    polls.configure(app.config["SECRET_KEY"])
    render_client.renderer.configure(
        app.config["PDF_RENDER_SECONDS"],
        app.config["PDF_RENDER_MEMORY_MB"],
        app.config["PDF_PROCESSES"],
    )
    app.extensions["facilitator.kits"] = KitLibrary(app.config["KITS_PATH"])

    register_blueprints(app)
    init_sockets(app)
    _trusted_proxies(app)
    app.extensions[HTTP_LIMITS] = HttpLimits(app.config)
    app.session_interface = _SessionInterface()
    _csrf(app)
    i18n.init_app(app)
    _security_headers(app)
    compression.init_app(app)
    return app


def _trusted_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For and -Proto from this many proxies in front, no more.

    Wrapped around the Socket.IO middleware too, so both see the client's address
    and scheme. X-Forwarded-Host is never believed (nginx passes Host itself).
    Without the setting the headers are ignored: a client could claim any address
    and escape the limits on join codes and log-ins.
    """
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


class _SessionInterface(SecureCookieSessionInterface):
    """Session cookies are ``Secure`` whenever the request came over TLS (directly, or
    through a trusted proxy), not only when the configuration says so."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if super().get_cookie_secure(app):
            return True
        return has_request_context() and request.is_secure


def _security_headers(app: Flask) -> None:
    """A Content-Security-Policy with no inline or foreign scripts, and the usual headers.

    Styles may be inline (the board positions notes with style attributes); scripts,
    fonts, images and connections come from this server only, so a text that slipped
    through as markup still could not run or call out.
    """
    if str(app.config.get("PUBLIC_URL") or "").startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True

    @app.after_request
    def add_headers(response: Any) -> Any:
        host = request.host
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data:; connect-src 'self' ws://{host} wss://{host}; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Projector links carry their key in the URL: never send it to another site.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if request.is_secure:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response


def _csrf(app: Flask) -> None:
    """A per-session token on every form post: the login and join forms included."""

    def csrf_token() -> str:
        token = session.get("csrf")
        if not isinstance(token, str):
            token = secrets.token_urlsafe(24)
            session["csrf"] = token
        return token

    @app.before_request
    def check_csrf() -> None:
        if request.method == "POST":
            sent = request.form.get("csrf_token", "")
            expected = session.get("csrf")
            if not expected or not secrets.compare_digest(str(sent), str(expected)):
                abort(400, "The form has expired; please reload the page and try again.")

    app.jinja_env.globals["csrf_token"] = csrf_token


def kits(app: Flask) -> KitLibrary:
    return app.extensions["facilitator.kits"]
