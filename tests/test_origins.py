"""Socket.IO handshakes are refused from pages of other sites: the allowed origins come
from the configuration (never a wildcard), by default this server's own origin."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import requests
import socketio
import websocket

from facilitator.core.config import check_origins

from .server_process import BIN, ServerProcess
from .support import cookie_header, join

pytestmark = pytest.mark.server

FOREIGN = "https://evil.example"
CONFIGURED = "https://screens.example.org"


def polling_handshake(base: str, origin: str | None) -> requests.Response:
    headers = {"Origin": origin} if origin else {}
    return requests.get(
        f"{base}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers=headers,
        timeout=10,
    )


def websocket_handshake(base: str, origin: str) -> str:
    """The first frame of a WebSocket opened with this Origin, or the refusal."""
    url = base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    try:
        ws = websocket.create_connection(url, origin=origin, timeout=10)
    except websocket.WebSocketBadStatusException as exc:
        return f"refused {exc.status_code}"
    try:
        return ws.recv()
    finally:
        ws.close()


def socket_with_session(base: str, workshop_id: int, http: requests.Session, origin: str) -> Any:
    """A Socket.IO client carrying a joined phone's cookie, as a page from ``origin`` would."""
    client = socketio.Client(reconnection=False)
    client.connect(
        base,
        headers={"Cookie": cookie_header(http), "Origin": origin},
        auth={"workshop_id": workshop_id, "screen": "phone"},
        transports=["polling"],
        wait_timeout=10,
    )
    return client


@pytest.fixture(scope="module")
def own_origin_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    process = ServerProcess(tmp_path_factory.mktemp("origin-default")).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def configured_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    process = ServerProcess(tmp_path_factory.mktemp("origin-configured"))
    process.env["FACILITATOR_ALLOWED_ORIGINS"] = f"{CONFIGURED}, https://second.example.org:8443"
    yield process.start()
    process.stop()


def test_by_default_only_the_servers_own_origin_may_open_a_socket(own_origin_server) -> None:
    base = own_origin_server.base
    own = base  # http://127.0.0.1:<port>
    assert polling_handshake(base, own).status_code == 200
    assert polling_handshake(base, None).status_code == 200  # not a browser: not asked
    for origin in (FOREIGN, "http://localhost:1", CONFIGURED, "null"):
        refused = polling_handshake(base, origin)
        assert refused.status_code == 400 and "Not an accepted origin" in refused.text, origin
    assert websocket_handshake(base, own).startswith("0{")  # Engine.IO's open packet
    assert websocket_handshake(base, FOREIGN) == "refused 400"


def test_a_foreign_page_cannot_use_a_participants_session(own_origin_server) -> None:
    http, workshop_id, code = own_origin_server.create_workshop("origins", "origins password 1")
    phone = join(own_origin_server.base, code, "Amina", "Ministry of Health", "Health")
    with pytest.raises(socketio.exceptions.ConnectionError):
        socket_with_session(own_origin_server.base, workshop_id, phone, FOREIGN)
    client = socket_with_session(own_origin_server.base, workshop_id, phone, own_origin_server.base)
    assert client.connected
    client.disconnect()


def test_configured_origins_replace_the_default(configured_server) -> None:
    base = configured_server.base
    assert polling_handshake(base, CONFIGURED).status_code == 200
    assert polling_handshake(base, "https://second.example.org:8443").status_code == 200
    for origin in (FOREIGN, base, "http://screens.example.org", "https://second.example.org"):
        assert polling_handshake(base, origin).status_code == 400, origin
    assert websocket_handshake(base, CONFIGURED).startswith("0{")
    assert websocket_handshake(base, FOREIGN) == "refused 400"


@pytest.mark.parametrize("value", ["*", "https://*.example.org", "https://a.org, *"])
def test_a_wildcard_origin_stops_the_server_at_startup(tmp_path, value: str) -> None:
    server = ServerProcess(tmp_path, env={"FACILITATOR_ALLOWED_ORIGINS": value})
    done = subprocess.run(
        [str(BIN / "facilitator"), "serve", "--port", str(server.port)],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "may not contain a wildcard" in done.stderr, done.stderr


def test_origins_are_checked_and_normalised() -> None:
    assert check_origins(None) is None and check_origins("") is None
    assert check_origins("HTTPS://Plans.Example.org:443/, http://10.0.0.5:5000") == [
        "https://plans.example.org",
        "http://10.0.0.5:5000",
    ]
    for bad in ("*", "plans.example.org", "https://plans.example.org/app", "ftp://x.org"):
        with pytest.raises(SystemExit):
            check_origins(bad)
