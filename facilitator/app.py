"""The application factory."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, abort, request, session

from . import config as config_module
from .db import db
from .kits import KitLibrary


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
    from . import polls

    polls.configure(app.config["SECRET_KEY"])
    app.extensions["facilitator.kits"] = KitLibrary(app.config["KITS_PATH"])

    from . import (  # noqa: F401 - registers the actions
        agenda_actions,
        board_actions,
        design_actions,
        plan_actions,
        poll_actions,
        stakeholder_actions,
        workshop_actions,
    )
    from .sockets import init_app as init_sockets
    from .web import register_blueprints

    register_blueprints(app)
    init_sockets(app)
    _csrf(app)
    _security_headers(app)
    return app


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
