"""The PDF render service: warm, reused, limited in time and memory, and restarted
when it dies. Real WeasyPrint in real processes."""

from __future__ import annotations

import io
import os
import signal

import pytest

from facilitator.documents.render_client import Renderer
from facilitator.domain.canonical import canonical_bytes, digest
from tests.plan_sample import sample_plan, sample_signatures


def _request(actions: int) -> tuple[str, str, list[dict]]:
    plan = sample_plan(actions, 12, 2)
    return canonical_bytes(plan).decode(), digest(plan), sample_signatures(plan)


@pytest.fixture
def renderer():
    service = Renderer(seconds=60, memory_mb=1024)
    yield service
    service.close()


def test_renders_in_a_reused_warm_service(renderer: Renderer) -> None:
    text, sha, items = _request(3)
    pdf, figures = renderer.render(text, sha, items)
    pid = renderer._process.pid
    again, _ = renderer.render(text, sha, items)
    assert pdf.startswith(b"%PDF-") and again.startswith(b"%PDF-")
    assert renderer._process.pid == pid  # one service, a fork per PDF
    assert 0 < figures["cpu_seconds"] < 60
    assert 50 < figures["peak_rss_mb"] < 1024


def test_a_bad_request_is_refused_and_the_service_goes_on(renderer: Renderer) -> None:
    text, sha, items = _request(2)
    with pytest.raises(RuntimeError, match="digest is not the SHA-256"):
        renderer.render(text, "0" * 64, items)
    pdf, _ = renderer.render(text, sha, items)
    assert pdf.startswith(b"%PDF-")


def test_time_limit_stops_a_render_and_the_service_goes_on() -> None:
    # The limit is per process, and the plan is laid out on two. A one-action plan costs
    # each of them under 0.5 s of CPU on this machine on a fast day (1 s on a slow one),
    # a 1,000-action plan each part about 9 s (20 s on a slow day): stopped at 3 s with
    # margins of 3 on either side, whatever the machine's speed that day.
    service = Renderer(seconds=3, memory_mb=1024)
    try:
        with pytest.raises(RuntimeError, match=r"time limit \(3 s\)"):
            service.render(*_request(1000))
        pid = service._process.pid
        pdf, _ = service.render(*_request(1))
        assert pdf.startswith(b"%PDF-") and service._process.pid == pid
    finally:
        service.close()


def test_memory_limit_stops_a_render_and_the_service_goes_on() -> None:
    service = Renderer(seconds=60, memory_mb=64)
    try:
        with pytest.raises(RuntimeError, match=r"memory limit is 64 MB|memory limit \(64 MB\)"):
            service.render(*_request(1200))  # well over 64 MB beyond the warm service
        service.configure(60, 1024)  # a new limit restarts the service
        pdf, _ = service.render(*_request(1))
        assert pdf.startswith(b"%PDF-")
    finally:
        service.close()


def test_a_killed_service_is_started_again(renderer: Renderer) -> None:
    text, sha, items = _request(1)
    renderer.render(text, sha, items)
    old = renderer._process.pid
    os.kill(old, signal.SIGKILL)
    renderer._process.wait()
    pdf, _ = renderer.render(text, sha, items)
    assert pdf.startswith(b"%PDF-") and renderer._process.pid != old


def test_frames_are_read_whole_from_a_pipe_that_gives_them_in_pieces() -> None:
    import threading
    import time

    from facilitator.documents.frames import read_frame, write_frame

    read_end, write_end = os.pipe()
    body = os.urandom(300_000)  # several pipe buffers

    def slow_writer() -> None:
        with os.fdopen(write_end, "wb", buffering=0) as raw:
            framed = io.BytesIO()
            write_frame(framed, body)
            data = framed.getvalue()
            for start in range(0, len(data), 50_000):
                raw.write(data[start : start + 50_000])
                time.sleep(0.01)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    with os.fdopen(read_end, "rb", buffering=0) as raw:  # unbuffered: short reads happen
        assert read_frame(raw) == body
        assert read_frame(raw) is None  # end of stream
    writer.join()
