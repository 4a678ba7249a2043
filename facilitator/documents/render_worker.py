"""The PDF render service: a warm process that forks one child per PDF.

Started by :class:`facilitator.documents.render_client.Renderer` as
``python -m facilitator.documents.render_worker``.
It imports WeasyPrint and lays out a small plan once (fonts found and loaded), then
waits for requests on stdin. Each request is rendered in a forked child, so

* a render starts warm: no interpreter start, no imports, no font discovery;
* the memory a render used is returned when its child exits;
* a render that runs past its time limit or its memory limit is stopped, and the
  service (and the server) go on.

Frames both ways are a 4-byte big-endian length and a body. A request body is JSON
``{"plan": canonical text, "digest": sha256, "signatures": [...]}`` and, to date the
document other than now, ``"generated_at"`` (ISO 8601); an answer body is
``b"P"``, a frame of JSON figures (``cpu_seconds``, ``peak_rss_mb``) and the PDF, or
``b"E"`` and a one-line error in UTF-8.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import resource
import signal
import sys
from typing import BinaryIO

from facilitator.documents.forking import PartOutOfMemory, PartStopped, near_address_limit
from facilitator.documents.frames import HEADER, read_frame, write_frame
from facilitator.documents.pdf import render_plan_pdf
from facilitator.domain.canonical import canonical_bytes

#: Below the server's priority: a render waits rather than slowing the live room.
NICENESS = 10
#: A render may take this many times its CPU limit on the clock before it is stopped.
WALL_FACTOR = 10
#: Processes laying out one PDF, at most, by default (see render_processes).
MAX_PROCESSES = 2


def render_request(body: bytes) -> bytes:
    """Render one request body to PDF bytes (in the forked child)."""
    request = json.loads(body)
    plan = json.loads(request["plan"])
    return render_plan_pdf(
        plan,
        request["digest"],
        request["signatures"],
        generated_at=request.get("generated_at"),
        processes=PROCESSES,
    )


def default_processes() -> int:
    """One process per core, up to :data:`MAX_PROCESSES`: the frame joining the parts
    costs more than a third part would save on a laptop."""
    return max(1, min(MAX_PROCESSES, os.cpu_count() or 1))


#: Processes laying out one PDF (the service's third argument; 0 there: the default).
PROCESSES = default_processes()


#: A small plan touching every section, every table style and every font of the PDF.
WARM_UP_PLAN = {
    "format": "facilitator.plan/2",
    "version": 1,
    "frozen_at": "2026-01-01T00:00:00Z",
    "override": None,
    "workshop": {
        "id": 0,
        "title": "Warm-up",
        "kit": "",
        "kit_title": "",
        "date": "2026-01-01",
        "place": "Here",
    },
    "sectors": ["Health"],
    "action_fields": [{"id": "policy", "name": "Policy"}],
    "cycle_phases": [],
    "columns": [
        {"id": c, "label": c.capitalize()}
        for c in (
            "ref",
            "objective",
            "action_field",
            "activity",
            "lead",
            "partners",
            "due",
            "indicator",
            "target",
            "status",
        )
    ],
    "organisations": [{"name": "Ministry", "sector": "Health", "participants": [{"name": "A B"}]}],
    "stakeholder_map": {
        "scale_max": 10,
        "quadrants": {},
        "stakeholders": [
            {
                "name": "Ministry",
                "category": "Public",
                "sector": "Health",
                "power": 8,
                "interest": 9,
                "quadrant": "manage_closely",
            }
        ],
    },
    "agenda": [{"title": "Retention", "dots": 3, "minutes": 30}],
    "decisions": [],
    "actions": [
        {
            "ref": "A1",
            "objective": "Staff",
            "activity": "Recruit",
            "action_field": "policy",
            "lead": "Ministry",
            "partners": ["Ministry"],
            "due": "2027-01-01",
            "indicator": "Posts filled",
            "target": "90%",
            "status": "planned",
        }
    ],
}


def warm_up() -> None:
    """Lay out a small plan once, so fonts and WeasyPrint's caches are ready.

    A failure here is reported and otherwise ignored: the real renders say what is wrong.
    """
    text = canonical_bytes(WARM_UP_PLAN)
    request = {"plan": text.decode(), "digest": hashlib.sha256(text).hexdigest(), "signatures": []}
    try:
        render_request(json.dumps(request).encode())
    except Exception as exc:  # noqa: BLE001 - the warm-up is only an optimisation
        print(f"render service warm-up failed: {type(exc).__name__}: {exc}", file=sys.stderr)


def _limit_child(seconds: int, memory_mb: int) -> int | None:
    """In the child: stop at ``seconds`` of CPU time or ``memory_mb`` more address space;
    the address-space ceiling in bytes, if any."""
    if seconds > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
        # Wall clock too, generously: at its low priority a render waits for a busy
        # machine, and that is no fault of the plan.
        signal.alarm(seconds * WALL_FACTOR)
    if memory_mb > 0:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[0])
        ceiling = pages * resource.getpagesize() + memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
        return ceiling
    return None


def _lift_memory_limit() -> None:
    """Back to the hard limit, so the answer can be written whatever happened."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _describe_exit(status: int, seconds: int, memory_mb: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig in (signal.SIGXCPU, signal.SIGALRM):
            return f"rendering stopped at the time limit ({seconds} s)"
        # Out of memory, C libraries abort or crash rather than raise.
        return f"rendering stopped by signal {sig}; the memory limit is {memory_mb} MB"
    return f"rendering failed (exit status {os.WEXITSTATUS(status)})"


def _child(body: bytes, out: int, seconds: int, memory_mb: int) -> int:
    """The forked child's work: render, write the answer to ``out``, return the exit code."""
    over_memory = f"Erendering stopped at the memory limit ({memory_mb} MB)".encode()
    ceiling = _limit_child(seconds, memory_mb)
    try:
        pdf = render_request(body)
    except Exception as exc:  # reported to the server as one line
        _lift_memory_limit()
        if isinstance(exc, PartStopped):  # a process laying out part of it hit a limit
            answer = b"E" + _describe_exit(exc.status, seconds, memory_mb).encode()
        elif isinstance(exc, MemoryError | PartOutOfMemory) or near_address_limit(ceiling):
            answer = over_memory
        else:
            answer = f"E{type(exc).__name__}: {exc}".encode("utf-8", "replace")
        code = 1
    else:
        _lift_memory_limit()
        # This process and the ones it forked to lay out parts of the PDF.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        parts = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures = {
            "cpu_seconds": round(
                usage.ru_utime + usage.ru_stime + parts.ru_utime + parts.ru_stime, 3
            ),
            # KiB on Linux; the largest of the processes
            "peak_rss_mb": round(max(usage.ru_maxrss, parts.ru_maxrss) / 1024, 1),
        }
        meta = json.dumps(figures).encode()
        answer, code = b"P" + HEADER.pack(len(meta)) + meta + pdf, 0
    with os.fdopen(out, "wb") as stream:
        stream.write(answer)
    return code


def render_in_child(body: bytes, seconds: int, memory_mb: int) -> bytes:
    """Fork, render ``body`` in the child, and return its answer frame body."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into the service's loop, whatever happens
        code = 1
        try:
            os.close(read_end)
            code = _child(body, write_end, seconds, memory_mb)
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answers:
        answer = answers.read()
    _, status = os.waitpid(pid, 0)
    if (answer[:1] == b"P" and status == 0) or answer[:1] == b"E":
        return answer
    return b"E" + _describe_exit(status, seconds, memory_mb).encode()


def serve(stdin: BinaryIO, stdout: BinaryIO, seconds: int, memory_mb: int) -> None:
    warm_up()
    # What is loaded now lives as long as the service: the collector need not scan it,
    # and each short-lived child renders without collections (about a fifth faster).
    gc.collect()
    gc.freeze()
    gc.disable()
    write_frame(stdout, b"R")  # ready
    while True:
        try:
            body = read_frame(stdin)
        except ValueError as exc:
            write_frame(stdout, f"E{exc}".encode())
            return
        if body is None:
            return
        write_frame(stdout, render_in_child(body, seconds, memory_mb))


def main(argv: list[str]) -> int:
    global PROCESSES
    seconds = int(argv[0]) if argv else 120
    memory_mb = int(argv[1]) if len(argv) > 1 else 1024
    if len(argv) > 2 and int(argv[2]) > 0:
        PROCESSES = int(argv[2])
    try:
        os.nice(NICENESS)
    except (AttributeError, OSError):  # not on this platform, or not permitted
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's Ctrl-C is the server's
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer, seconds, memory_mb)
    except BrokenPipeError:  # the server went away
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
