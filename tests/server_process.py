"""Run the real server (the ``facilitator`` console script, eventlet) as a process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from harness.net import free_port, login, post_form

BIN = Path(sys.executable).parent
LOCATION_RE = re.compile(r"/w/(\d+)/console$")
CODE_RE = re.compile(r'data-bind="code">([A-Z0-9]{6})<')


class ServerProcess:
    """``facilitator serve`` on a free port with its own instance folder."""

    def __init__(self, instance: Path, env: dict[str, str] | None = None) -> None:
        self.instance = instance
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        inherited = {
            k: v
            for k, v in os.environ.items()
            if k not in ("FACILITATOR_DATABASE_URL", "DATABASE_URL", "FACILITATOR_MESSAGE_QUEUE")
        }
        self.env = {
            **inherited,
            "FACILITATOR_INSTANCE_PATH": str(instance),
            "FACILITATOR_ASYNC_MODE": "eventlet",
            # The PDF service starts on the first PDF rather than with the server: most
            # of these tests make none, and its warm-up would compete with their load.
            "FACILITATOR_PDF_PREWARM": "0",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = instance / "server.log"

    @property
    def database_url(self) -> str:
        """The database the server writes to (the embedded default: SQLite in the instance)."""
        return self.env.get("FACILITATOR_DATABASE_URL") or (
            f"sqlite:///{self.instance / 'facilitator.sqlite3'}"
        )

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "facilitator"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )

    def start(self) -> ServerProcess:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(BIN / "facilitator"),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if requests.get(f"{self.base}/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when a laptop's power cord is pulled."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def create_workshop(
        self, username: str, password: str, draft: bool = False
    ) -> tuple[requests.Session, int, str]:
        """A facilitator (made with the CLI) logs in and creates a workshop over HTTP
        (a draft, to be designed and started, if ``draft``)."""
        made = self.cli("users", "create", username, "--password", "-", stdin=password + "\n")
        assert made.returncode == 0, made.stderr
        http = login(self.base, username, password)
        fields = {"kit": "hrh-action-framework", "title": "E2E"}
        if draft:
            fields["draft"] = "1"
        resp = post_form(http, f"{self.base}/console", f"{self.base}/workshops", fields, timeout=10)
        assert resp.status_code == 302, resp.text
        match = LOCATION_RE.search(resp.headers["Location"])
        assert match, resp.headers["Location"]
        workshop_id = int(match.group(1))
        console = http.get(f"{self.base}/w/{workshop_id}/console", timeout=10)
        code = CODE_RE.search(console.text)
        assert code, "console shows no join code"
        return http, workshop_id, code.group(1)
