"""The server's client of the warm render service (:mod:`facilitator.documents.render_worker`):
one service process per server process, so WeasyPrint never holds the server's interpreter."""

from __future__ import annotations

import atexit
import json
import logging
import subprocess  # noqa: S404 - runs our own worker with a fixed command line
import sys
import time
from typing import Any

from facilitator.core.runtime import os_lock, os_subprocess
from facilitator.documents.frames import HEADER, read_frame, write_frame

log = logging.getLogger("facilitator.exports")

#: Limits of one render: CPU seconds and address space beyond the warm service's.
RENDER_SECONDS = 120


RENDER_MEMORY_MB = 1024


class Renderer:
    """The client of the warm render service (:mod:`facilitator.documents.render_worker`).

    One service process per server process, started on first use or by
    :meth:`start` when the server starts, so the first PDF is rendered warm too.
    Renders are taken one at a time: on a laptop running the room, two at once
    would only each take twice as long. A service that died is started again.
    """

    def __init__(
        self, seconds: int = RENDER_SECONDS, memory_mb: int = RENDER_MEMORY_MB, processes: int = 0
    ) -> None:
        self.seconds = seconds
        self.memory_mb = memory_mb
        self.processes = processes
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._lock = os_lock()

    def configure(self, seconds: int, memory_mb: int, processes: int = 0) -> None:
        """Set the limits, and the processes laying out one PDF (0: one per core, up to
        two); a running service set otherwise is restarted on next use."""
        settings = (seconds, memory_mb, processes)
        with self._lock:
            if settings != (self.seconds, self.memory_mb, self.processes) and self._process:
                self._stop(self._process)
            self.seconds, self.memory_mb, self.processes = settings

    def start(self, wait: bool = False) -> None:
        """Start the service if it is not running; it warms up on its own, and with
        ``wait`` this returns once it is warm."""
        with self._lock:
            process = self._ensure()
            if wait:
                self._wait_ready(process)

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        if not self._ready:
            assert process.stdout is not None
            if read_frame(process.stdout) != b"R":
                raise EOFError
            self._ready = True

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is not None:
            self._stop(self._process)  # it died: close its pipes before starting anew
        if self._process is None:
            # Its own session: its own scheduling group, at the lower priority it sets.
            processes = os_subprocess()
            self._process = processes.Popen(  # noqa: S603 - our interpreter, our module
                [
                    sys.executable,
                    "-m",
                    "facilitator.documents.render_worker",
                    str(self.seconds),
                    str(self.memory_mb),
                    str(self.processes),
                ],
                stdin=processes.PIPE,
                stdout=processes.PIPE,
                start_new_session=True,
            )
        return self._process

    def render(
        self,
        plan_text: str,
        digest: str,
        items: list[dict[str, Any]],
        generated_at: str | None = None,
    ) -> tuple[bytes, dict[str, float]]:
        """The PDF and what it cost (``cpu_seconds``, ``peak_rss_mb`` of the render);
        raises RuntimeError with the service's one-line reason. ``generated_at`` (ISO
        8601) dates the document, now by default."""
        body = {"plan": plan_text, "digest": digest, "signatures": items}
        if generated_at is not None:
            body["generated_at"] = generated_at
        request = json.dumps(body)
        with self._lock:
            process = self._ensure()
            assert process.stdin is not None and process.stdout is not None
            try:
                self._wait_ready(process)
                write_frame(process.stdin, request.encode("utf-8"))
                answer = read_frame(process.stdout)
            except (OSError, EOFError, ValueError):
                answer = None
            if answer is None:
                self._stop(process)
                raise RuntimeError("the PDF render service stopped; it restarts on the next try")
        if answer[:1] != b"P":
            raise RuntimeError(answer[1:].decode("utf-8", "replace"))
        (size,) = HEADER.unpack_from(answer, 1)
        start = 1 + HEADER.size
        figures = json.loads(answer[start : start + size])
        return answer[start + size :], figures

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                self._stop(self._process)

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:  # a broken pipe has nothing more to say
                    pass
        self._process, self._ready = None, False


renderer = Renderer()
atexit.register(renderer.close)


def render(plan_text: str, digest: str, items: list[dict[str, Any]]) -> bytes:
    """Render a plan PDF in the render service (blocking: run it off the event loop)."""
    started = time.monotonic()
    pdf, figures = renderer.render(plan_text, digest, items)
    log.info(
        "rendered a PDF of %d bytes in %.1f s (CPU %.1f s, peak memory %.0f MB)",
        len(pdf),
        time.monotonic() - started,
        figures["cpu_seconds"],
        figures["peak_rss_mb"],
    )
    return pdf
