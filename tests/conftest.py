"""Fixtures: one application and database for the session, served for real.

Every test makes its own facilitator and workshop, so tests share the server
without sharing state. The server runs in this process (threading async mode,
a real Werkzeug server with WebSockets) so tests can read the database
directly; the end-to-end tests start the real eventlet server as a process.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from facilitator.app import create_app
from facilitator.core.db import db
from facilitator.domain.accounts import create_user
from facilitator.domain.kits import KitLibrary
from facilitator.domain.seeding import create_workshop
from facilitator.domain.workshops import Workshop
from facilitator.models import create_all

from .support import free_port, login

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def require_services() -> bool:
    return os.environ.get("FACILITATOR_REQUIRE_SERVICES") == "1"


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def app(instance_path: Path) -> Any:
    app = create_app(
        {
            "INSTANCE_PATH": str(instance_path),
            "DATABASE_URL": f"sqlite:///{instance_path / 'test.sqlite3'}",
            "SECRET_KEY": "test-secret-key-not-used-anywhere-else-0123456789",
            "ASYNC_MODE": "threading",
            "MESSAGE_QUEUE": None,
            "TESTING": True,
            "PUBLIC_URL": None,
            "KITS_PATH": str(Path(__file__).parent / "kits"),
        }
    )
    create_all(db)
    return app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


class QuietHandler(WSGIRequestHandler):
    """Werkzeug logs every request, and garbage when a WebSocket closes; tests read assertions."""

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def live_server(app: Any) -> Iterator[str]:
    """The app served over real HTTP and WebSocket on a free port."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as runtime.serve
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="session")
def kits(app: Any) -> KitLibrary:
    return app.extensions["facilitator.kits"]


class Factory:
    """Creates facilitators and workshops with unique names."""

    def __init__(self, kits: KitLibrary) -> None:
        self.kits = kits

    def user(self, name: str | None = None) -> tuple[int, str]:
        username = name or f"fac{next(_counter)}"
        with db.transaction() as s:
            user = create_user(s, username, PASSWORD)
            return user.id, user.username

    def workshop(self, owner_id: int | None = None, kit: str = "hrh-action-framework") -> Workshop:
        if owner_id is None:
            owner_id, _ = self.user()
        with db.transaction() as s:
            workshop = create_workshop(s, owner_id, kit, self.kits.load(kit), "")
            s.expunge(workshop)
            return workshop


@pytest.fixture
def factory(app: Any, kits: KitLibrary) -> Factory:
    return Factory(kits)


@pytest.fixture
def room(factory: Factory, live_server: str) -> dict[str, Any]:
    """A workshop with its owner logged in over HTTP."""
    user_id, username = factory.user()
    workshop = factory.workshop(user_id)
    return {
        "base": live_server,
        "workshop": workshop,
        "user_id": user_id,
        "facilitator": login(live_server, username, PASSWORD),
    }


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session, started on first use (tests/browser.py)."""
    from .browser import LazyBrowser

    browser = LazyBrowser()
    yield browser
    browser.close()


@pytest.fixture
def pages(chromium: Any, live_server: str) -> Iterator[Any]:
    """Pages (tabs with their own cookies) on the test server, closed after the test."""
    from .browser import Pages

    opened = Pages(chromium, live_server)
    yield opened
    opened.close()
