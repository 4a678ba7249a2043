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
    return app


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
