"""The shipped nginx configuration (deploy/nginx.conf, Debian's nginx on loopback) in
front of two server processes on PostgreSQL and Redis: a process killed with SIGKILL
mid-session, its clients reconnect through the proxy to the other one, resync, and
nothing acknowledged is lost."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from facilitator.core.config import PROJECT_ROOT

from .conftest import require_services
from .postgres import pg_url  # noqa: F401 - fixture
from .server_process import ServerProcess
from .support import LiveClient, free_port, join
from .test_scale_out import consecutive, redis_url  # noqa: F401 - fixture

pytestmark = pytest.mark.server


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )


@pytest.fixture
def nginx(tmp_path):
    """Start nginx with deploy/nginx.conf, its ports replaced: returns (start, base)."""
    binary = nginx_binary()
    if binary is None:
        reason = "nginx not installed (Debian package nginx-light)"
        if require_services():
            pytest.fail(f"{reason} (FACILITATOR_REQUIRE_SERVICES=1)", pytrace=False)
        pytest.skip(reason)
    prefix = tmp_path / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    port = free_port()
    procs = []

    def start(upstreams: list[int]) -> str:
        conf = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
        conf = conf.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{port};")
        conf = conf.replace("server 127.0.0.1:5001", f"server 127.0.0.1:{upstreams[0]}")
        conf = conf.replace("server 127.0.0.1:5002", f"server 127.0.0.1:{upstreams[1]}")
        assert len(re.findall(r"server 127\.0\.0\.1:\d+ max_fails", conf)) == 2
        (prefix / "nginx.conf").write_text(conf)
        check = subprocess.run(
            [binary, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
            capture_output=True, text=True, timeout=20,
        )
        assert check.returncode == 0, check.stderr
        procs.append(
            subprocess.Popen(
                [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g",
                 "daemon off;"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/healthz", timeout=1)
                return base
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def test_clients_move_to_the_other_process_when_one_dies(
    pg_url, redis_url, nginx, tmp_path  # noqa: F811
):
    env = {
        "FACILITATOR_DATABASE_URL": pg_url,
        "FACILITATOR_MESSAGE_QUEUE": redis_url,
        "FACILITATOR_SECRET_KEY": secrets.token_hex(32),
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = ServerProcess(tmp_path / "a", env=env)
    b = ServerProcess(tmp_path / "b", env=env)
    a.start()
    base = nginx([a.port, b.port])  # B is not up yet: the proxy sends everyone to A
    clients: list[LiveClient] = []
    try:
        a.base_direct, a.base = a.base, base  # the CLI and HTTP go through the proxy
        http, workshop_id, code = a.create_workshop("proxy", "proxy password 1")
        console = LiveClient(base, workshop_id, "console", http).connect()
        phones = [
            LiveClient(base, workshop_id, "phone", join(base, code, n, n + " Org", "Health"))
            for n in ("Amina", "Bilal")
        ]
        for phone in phones:
            phone.connect()
        clients = [console, *phones]
        b.start()
        acked = [console.call("stage:next", {}) for _ in range(2)]
        assert all(ack["ok"] for ack in acked)
        last = acked[-1]["seq"]

        a.kill()
        for client in clients:
            client.wait_for(
                lambda c=client: len(c.snapshots) >= 2, "a snapshot from the other process", 30
            )
            assert client.snapshots[-1]["seq"] >= last
            assert client.snapshots[-1]["current_stage_id"] == acked[-1]["stage_id"]
        ack = console.call("stage:prev", {})
        assert ack["ok"] and ack["seq"] == last + 1
        for client in clients:
            client.wait_for(
                lambda c=client: any(e["seq"] == last + 1 for e in c.events), "the next event"
            )
            seqs = [e["seq"] for e in client.events]
            assert consecutive(seqs[-3:]), seqs
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["queue"] == "ok"
    finally:
        for client in clients:
            client.close()
        a.stop()
        b.stop()
