"""The demo command as a new user runs it, and the server in threading mode."""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
import requests

from .server_process import BIN, ServerProcess
from .support import LiveClient, free_port, join, login

pytestmark = pytest.mark.server

LINE_RE = {
    "login": re.compile(r"log in:\s+(\S+)\s+user '(\w+)'\s+password '([^']+)'"),
    "console": re.compile(r"console:\s+(\S+)"),
    "projector": re.compile(r"projector:\s+(\S+)"),
    "join": re.compile(r"join:\s+(\S+)\s+\(code (\w{6})\)"),
}


def read_demo_banner(proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, re.Match]:
    found: dict[str, re.Match] = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(LINE_RE) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        for key, pattern in LINE_RE.items():
            match = pattern.search(line)
            if match:
                found[key] = match
    assert len(found) == len(LINE_RE), f"demo printed only {sorted(found)}"
    return found


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def test_demo_prints_working_login_console_projector_and_join_addresses(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(FACILITATOR_INSTANCE_PATH=str(tmp_path), FACILITATOR_PORT=str(port))
    proc = subprocess.Popen(
        [str(BIN / "facilitator"), "demo"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        banner = read_demo_banner(proc)
        login_url, user, password = banner["login"].groups()
        base = login_url.removesuffix("/login")
        assert base.startswith("http://") and base.endswith(f":{port}")
        wait_ready(f"{base}/healthz")
        http = login(base, user, password)
        console = http.get(banner["console"].group(1), timeout=10)
        assert console.status_code == 200 and "Demo" in console.text
        projector = requests.get(banner["projector"].group(1), timeout=10)
        assert projector.status_code == 200 and banner["join"].group(2) in projector.text
        join_url, code = banner["join"].groups()
        assert join_url.endswith(f"/j/{code}")
        assert requests.get(join_url, timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def test_the_server_runs_in_threading_mode_too(tmp_path):
    server = ServerProcess(tmp_path, env={"FACILITATOR_ASYNC_MODE": "threading"}).start()
    clients = []
    try:
        http, workshop_id, code = server.create_workshop("threads", "threads password")
        console = LiveClient(server.base, workshop_id, "console", http).connect()
        phone = LiveClient(
            server.base, workshop_id, "phone", join(server.base, code, "Amina", "MoH", "Health")
        ).connect()
        clients = [console, phone]
        ack = console.call("stage:next", {})
        assert ack["ok"]
        assert phone.event_of("stage:changed")["seq"] == ack["seq"]
    finally:
        for client in clients:
            client.close()
        server.stop()
