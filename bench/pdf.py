"""Scenario ``pdf``: how long a plan PDF takes and how much memory, and whether the
server's event loop stalls while one renders.

1. **Render.** For each size in ``--sizes`` (20, 100, 300 actions, each with
   ``--stakeholders`` 60 and ``--decisions`` 10): a realistic canonical plan and
   its signatures (``tests/plan_sample.py``), rendered exactly as the server
   renders it: by the warm render service (``python -m facilitator.documents.render_worker``,
   which the server starts with itself and which forks a child per PDF). Each
   measurement runs in a fresh wrapper process (``python -m bench.pdf REQUEST
   OUT``) that starts a service, waits until it is warm, and times one render;
   the rendering child reports its CPU time and peak RSS; the bench counts the
   pages (pypdf).
   ``--repeat`` K: medians over K runs, the sizes interleaved.
2. **Event-loop stall.** A fresh app server (``facilitator serve``, eventlet);
   the console client adds ``--stall-actions`` (300) rows with ``plan:add``
   (leads filled), ``--stall-stakeholders`` (60) stakeholders with
   ``stakeholder:add`` and ``--stall-decisions`` (10) closed polls
   (``poll:create``/``open``/``close``), then freezes the plan. A phone in a
   client worker process sends ``sync:request {since: current seq}`` (answered
   with no events) every ``--ping-ms`` (15) on a fixed schedule, whether or not
   the previous one was answered, for ``--idle-seconds`` (1) before, then while
   the bench requests ``GET /plan/<key>.pdf`` every ``--poll-ms`` (250) until
   it gets the 200, then ``--idle-seconds`` after. K renders (one per repeat):
   between two, the console edits one row and freezes a new version. After
   each, the **control**: the same plan rendered by a wrapper process beside
   the server while the phone pings (the cost of sharing the CPUs alone).
   Every window also gets the machine's CPU pressure (``/proc/pressure/cpu``).

Send and ack stamps are ``time.time_ns()`` in the pinger's process; the windows
are stamped in the bench process (the same wall clock, see :mod:`bench.common`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests

from facilitator.domain.kits import PLAN_COLUMNS

from .common import (
    ROOT,
    AppWorkshop,
    ClientPool,
    ClientSpec,
    TriggerClient,
    WorkerOptions,
    action_id,
    console_client,
    cpu_reference_ms,
    goals_met,
    join,
    median,
    new_client,
    new_http_session,
    next_command,
    open_client,
    percentile,
    positive_list,
    prepare_app,
    process_cpu_seconds,
    rounded,
    run_worker,
)

NAME = "pdf"
DEFAULT_CLIENTS = [1]  # one pinging phone; --clients is not used
DEFAULT_REPEAT = 3
DEFAULT_SIZES = [20, 100, 300]

#: The goals the figures are held against.
GOALS = {"seconds_100": 3, "peak_rss_mb_100": 300, "ping_p99_ms_during_render": 50}

#: Filled in for the sample plan's actions without a lead (freezing needs one each).
FALLBACK_LEAD = ("Provincial Department of Health", "Health")
#: The sample's columns sent with ``plan:add``, budget apart (three fields) and without
#: its cycle phases (not the bench kit's choices).
PLAN_FIELDS = [c for c in PLAN_COLUMNS if c not in ("cycle_phase", "budget")]

log = logging.getLogger("bench.pdf")


def size_list(text: str) -> list[int]:
    """``--sizes``: numbers of actions, e.g. ``20,100,300``."""
    return positive_list(text, "numbers of actions, e.g. 20,100,300")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pdf scenario")
    group.add_argument(
        "--sizes",
        type=size_list,
        default=DEFAULT_SIZES,
        help="numbers of actions of the rendered plans (default 20,100,300)",
    )
    group.add_argument(
        "--stakeholders", type=int, default=60, help="stakeholders in each plan (default 60)"
    )
    group.add_argument(
        "--decisions", type=int, default=10, help="decisions in each plan (default 10)"
    )
    group.add_argument(
        "--stall-actions",
        type=int,
        default=300,
        help="actions of the plan rendered by the server while pinging (default 300)",
    )
    group.add_argument(
        "--stall-stakeholders",
        type=int,
        default=60,
        help="stakeholders added to that workshop (default 60)",
    )
    group.add_argument(
        "--stall-decisions",
        type=int,
        default=10,
        help="polls created, opened and closed in that workshop (default 10)",
    )
    group.add_argument(
        "--ping-ms", type=float, default=15, help="one sync:request every this long (default 15)"
    )
    group.add_argument(
        "--idle-seconds",
        type=float,
        default=1.0,
        help="pinging before and after the render (default 1)",
    )
    group.add_argument(
        "--poll-ms",
        type=float,
        default=250,
        help="the bench requests the PDF URL every this long until the 200 (default 250)",
    )
    group.add_argument(
        "--no-one-process",
        dest="one_process",
        action="store_false",
        help="skip rendering each plan in one process too (the speed-up of the parts)",
    )
    group.add_argument(
        "--no-control",
        dest="control",
        action="store_false",
        help="skip the control: pings while the same plan renders beside the server",
    )
    group.add_argument(
        "--render-timeout",
        type=float,
        default=300,
        help="seconds to wait for one PDF (default 300)",
    )


# -- 1. render time and memory -----------------------------------------------------------


def _sample(actions: int, stakeholders: int, decisions: int) -> Any:
    """``sample_plan`` and ``sample_signatures`` from tests/plan_sample.py."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.plan_sample import sample_plan, sample_signatures

    plan = sample_plan(actions, stakeholders, decisions)
    return plan, sample_signatures(plan)


def render_request(actions: int, args: argparse.Namespace) -> dict[str, Any]:
    """What :func:`facilitator.documents.render_client.render` gets: canonical text, its hash,
    signatures."""
    from facilitator.domain.canonical import canonical_bytes

    plan, items = _sample(actions, args.stakeholders, args.decisions)
    body = canonical_bytes(plan)
    return {
        "plan": body.decode("utf-8"),
        "digest": hashlib.sha256(body).hexdigest(),
        "signatures": items,
    }


def measure_one(request_path: Path, out_path: Path, processes: int = 0) -> dict[str, float]:
    """In the wrapper process: render once as the server does, with a render service
    started and warm (the server starts it with itself); wall seconds, and the CPU
    seconds and peak RSS of the forked child that rendered (with the processes it
    forked to lay out parts). ``processes`` as ``FACILITATOR_PDF_PROCESSES``."""
    from facilitator.documents.render_client import Renderer

    request = json.loads(request_path.read_text(encoding="utf-8"))
    renderer = Renderer(processes=processes)
    try:
        renderer.start(wait=True)
        started = time.perf_counter()
        pdf, figures = renderer.render(request["plan"], request["digest"], request["signatures"])
        seconds = time.perf_counter() - started
    finally:
        renderer.close()
    out_path.write_bytes(pdf)
    return {"seconds": seconds, **figures}


def render_once(
    request_path: Path, out_path: Path, timeout: float, processes: int = 0
) -> dict[str, Any]:
    """One measurement in a fresh wrapper process; adds the PDF's pages and bytes."""
    from pypdf import PdfReader

    done = subprocess.run(  # noqa: S603 - our interpreter, our module
        [sys.executable, "-m", "bench.pdf", str(request_path), str(out_path), str(processes)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"rendering failed:\n{done.stderr[-2000:]}")
    figures = json.loads(done.stdout)
    pdf = out_path.read_bytes()
    figures["pages"] = len(PdfReader(io.BytesIO(pdf)).pages)
    figures["bytes"] = len(pdf)
    out_path.unlink()
    return figures


def measure_renders(folder: Path, args: argparse.Namespace, repeat: int) -> list[dict[str, Any]]:
    """Every size ``repeat`` times (the sizes interleaved); medians per size."""
    requests_at: dict[int, Path] = {}
    for size in args.sizes:
        path = folder / f"request-{size}.json"
        path.write_text(json.dumps(render_request(size, args)), encoding="utf-8")
        requests_at[size] = path
    runs: dict[int, list[dict[str, Any]]] = {size: [] for size in args.sizes}
    for r in range(repeat):
        for size in args.sizes:
            figures = render_once(requests_at[size], folder / "out.pdf", args.render_timeout)
            log.info(
                "render %d actions (run %d/%d): %.2fs (CPU %.2fs), peak RSS %.0f MB, %d pages",
                size,
                r + 1,
                repeat,
                figures["seconds"],
                figures["cpu_seconds"],
                figures["peak_rss_mb"],
                figures["pages"],
            )
            if args.one_process:
                one = render_once(requests_at[size], folder / "out.pdf", args.render_timeout, 1)
                figures["one_process_seconds"] = one["seconds"]
                figures["one_process_cpu_seconds"] = one["cpu_seconds"]
                log.info("  one process: %.2f s (CPU %.2f s)", one["seconds"], one["cpu_seconds"])
            runs[size].append(figures)
    results = []
    for size, measured in runs.items():
        row: dict[str, Any] = {
            "actions": size,
            "stakeholders": args.stakeholders,
            "decisions": args.decisions,
            "seconds": rounded(median(m["seconds"] for m in measured)),
            "cpu_seconds": rounded(median(m["cpu_seconds"] for m in measured)),
            "peak_rss_mb": rounded(median(m["peak_rss_mb"] for m in measured), 1),
            "pages": round(median(m["pages"] for m in measured) or 0),
            "bytes": round(median(m["bytes"] for m in measured) or 0),
        }
        if args.one_process:
            # Paired: each run's one-process render right after its render in parts.
            row["one_process_seconds"] = rounded(median(m["one_process_seconds"] for m in measured))
            row["one_process_cpu_seconds"] = rounded(
                median(m["one_process_cpu_seconds"] for m in measured)
            )
            row["speedup"] = rounded(
                median(m["one_process_seconds"] / m["seconds"] for m in measured)
            )
        if repeat > 1:
            row["seconds_runs"] = [rounded(m["seconds"]) for m in measured]
            row["cpu_seconds_runs"] = [rounded(m["cpu_seconds"]) for m in measured]
            row["peak_rss_mb_runs"] = [rounded(m["peak_rss_mb"], 1) for m in measured]
        results.append(row)
    return results


# -- 2. the pinging phone (a client worker process) ----------------------------------------


@dataclass
class PingOptions(WorkerOptions):
    interval_ms: float = 15.0
    #: How long to wait for the answers still out when the bench asks for the pings.
    drain_timeout: float = 10.0


class _Pinger:
    """One phone sending ``sync:request {since: seq}`` on a fixed schedule."""

    def __init__(self, sio: Any, interval: float) -> None:
        self.sio = sio
        self.interval = interval
        self.seq = 0
        #: [sent ns, answered ns or None, ok]
        self.records: list[list[Any]] = []
        self.late = 0
        self.disconnects = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def on_snapshot(self, data: Any) -> None:
        if isinstance(data, dict) and isinstance(data.get("seq"), int):
            self.seq = max(self.seq, data["seq"])

    def on_event(self, data: Any) -> None:
        if isinstance(data, dict) and isinstance(data.get("seq"), int):
            self.seq = max(self.seq, data["seq"])

    def on_disconnect(self, *_args: Any) -> None:
        self.disconnects += 1

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not self._stopping.is_set():
            record: list[Any] = [time.time_ns(), None, None]
            self.records.append(record)

            def answered(ack: Any = None, record: list[Any] = record) -> None:
                record[1] = time.time_ns()
                record[2] = isinstance(ack, dict) and bool(ack.get("ok"))
                if record[2] and isinstance(ack.get("seq"), int):
                    self.seq = max(self.seq, ack["seq"])

            try:
                await self.sio.emit("sync:request", {"since": self.seq}, callback=answered)
            except Exception:  # the connection is gone: this ping stays unanswered
                return
            next_at += self.interval
            now = loop.time()
            if now > next_at + self.interval:  # this process fell behind: no burst to catch up
                self.late += 1
                next_at = now
            await asyncio.sleep(max(0.0, next_at - now))

    def start(self) -> None:
        self.records, self.late = [], 0
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop())

    async def stop(self, drain_timeout: float) -> dict[str, Any]:
        """Stop sending, wait for the answers still out; what was measured."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        deadline = time.monotonic() + drain_timeout
        while any(r[1] is None for r in self.records) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return {"records": self.records, "late": self.late, "disconnects": self.disconnects}


async def _ping_worker(
    index: int,
    specs: list[ClientSpec],
    options: PingOptions,
    commands: Connection,
    out: Connection,
) -> None:
    """Connect the phone; ``ping`` starts pinging (answered ``pinging``), ``pings``
    stops and answers the records; ``stop`` ends."""
    http = new_http_session()
    [spec] = specs
    sio = new_client(http, spec)
    pinger = _Pinger(sio, options.interval_ms / 1000)
    got_snapshot = asyncio.Event()

    def on_snapshot(data: Any) -> None:
        pinger.on_snapshot(data)
        got_snapshot.set()

    sio.on("snapshot", on_snapshot)
    sio.on("event", pinger.on_event)
    sio.on("disconnect", pinger.on_disconnect)
    try:
        connect_ms = await open_client(sio, spec, options, got_snapshot)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        failed = {"connected": 0, "failed": 1, "errors": [error], "connect_ms": []}
        out.send(("connected", index, failed))
        await http.close()
        return
    stats = {"connected": 1, "failed": 0, "errors": [], "connect_ms": [connect_ms]}
    out.send(("connected", index, stats))
    while True:
        command = await next_command(commands)
        name = command[0] if isinstance(command, tuple) else command
        if name == "stop":
            break
        if name == "ping":
            pinger.start()
            out.send(("pinging", index, None))
        elif name == "pings":
            out.send(("pings", index, await pinger.stop(options.drain_timeout)))
        else:
            raise RuntimeError(f"unknown command {name!r}")
    with contextlib.suppress(Exception):
        await asyncio.wait_for(sio.disconnect(), 5)
    await http.close()


def ping_worker_main(
    index: int,
    specs: list[ClientSpec],
    options: PingOptions,
    commands: Connection,
    out: Connection,
) -> None:
    """Entry point of the pinging phone's worker process."""
    run_worker(index, out, _ping_worker(index, specs, options, commands, out))


# -- 2. the workshop with a big plan -----------------------------------------------------------


def _call(console: TriggerClient, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    ack = console.call(event, {"action_id": action_id(), **payload}, timeout=60)
    if not isinstance(ack, dict) or not ack.get("ok"):
        raise RuntimeError(f"{event} failed: {ack}")
    return ack


def _goto(console: TriggerClient, stage_type: str) -> None:
    assert console.snapshot is not None
    stage = next((s for s in console.snapshot["stages"] if s["type"] == stage_type), None)
    if stage is None:
        raise RuntimeError(f"the kit has no {stage_type} stage")
    _call(console, "stage:goto", {"stage_id": stage["id"]})


def plan_fields(action: dict[str, Any]) -> dict[str, Any]:
    """A sample plan's action as ``plan:add`` fields, with a lead when it had none."""
    fields = {name: action[name] for name in PLAN_FIELDS}
    if not fields["lead"]:
        fields["lead"], fields["sector"] = FALLBACK_LEAD
    budget = action["budget"]
    fields["budget_amount"] = budget["amount"]
    fields["budget_currency"] = budget["currency"]
    fields["budget_source"] = budget["source"]
    return fields


def fill_workshop(console: TriggerClient, args: argparse.Namespace) -> dict[str, Any]:
    """Polls, stakeholders and actions through the public actions, as the console
    would; returns the last row added (to edit it between renders)."""
    plan, _ = _sample(args.stall_actions, args.stall_stakeholders, args.stall_decisions)
    started = time.monotonic()
    if plan["decisions"]:
        _goto(console, "vote")
        for decision in plan["decisions"]:
            poll = _call(
                console,
                "poll:create",
                {
                    "title": decision["title"],
                    "proposal": decision["proposal"],
                    "method": "consensus",
                },
            )["poll"]
            _call(console, "poll:open", {"poll_id": poll["id"]})
            _call(console, "poll:close", {"poll_id": poll["id"]})
    stakeholders = plan["stakeholder_map"]["stakeholders"]
    if stakeholders:
        _goto(console, "stakeholder_map")
        for item in stakeholders:
            _call(
                console,
                "stakeholder:add",
                {k: item[k] for k in ("name", "category", "sector", "level", "power", "interest")},
            )
    _goto(console, "action_plan")
    row: dict[str, Any] = {}
    for action in plan["actions"]:
        row = _call(console, "plan:add", {"fields": plan_fields(action)})["action"]
    log.info(
        "workshop filled in %.1fs: %d actions, %d stakeholders, %d closed polls",
        time.monotonic() - started,
        len(plan["actions"]),
        len(stakeholders),
        len(plan["decisions"]),
    )
    return row


def freeze(console: TriggerClient) -> dict[str, Any]:
    version = _call(console, "plan:freeze", {})["version"]
    log.info("version %s frozen: %s actions", version["number"], version["actions"])
    return version


def edit_row(console: TriggerClient, row: dict[str, Any], n: int) -> dict[str, Any]:
    """Change one row's risks, so the next freeze makes a new version (and PDF)."""
    return _call(
        console,
        "plan:edit",
        {
            "action": row["id"],
            "changes": {"risks": f"Delays in the budget release (review {n})"},
            "versions": {"risks": row["versions"]["risks"]},
        },
    )["action"]


# -- 2. one render under pings ------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Descendants of ``pid`` (Linux /proc), from every thread: the render service
    and the child it forks for each PDF."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                found.extend(int(c) for c in (task / "children").read_text().split())
    return found + [g for child in found for g in _children(child)]


def _hwm_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


class WorkerWatch:
    """The peak RSS (VmHWM) of the server's render processes, sampled every 50 ms."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.peak: float | None = None
        self.workers: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-watch", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for child in _children(self.server_pid):
                hwm = _hwm_mb(child)
                if hwm is not None:
                    self.workers.add(child)
                    self.peak = max(self.peak or 0.0, hwm)

    def __enter__(self) -> WorkerWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(2)


def fetch_pdf(url: str, poll: float, timeout: float) -> dict[str, Any]:
    """Request the PDF (one keep-alive connection, as a browser) until the 200.

    Returns ``seconds`` from the first request to the 200, the PDF's ``bytes``, and
    ``gets``: (start ns, end ns, status) of every request.
    """
    started = time.monotonic()
    gets: list[tuple[int, int, int]] = []
    with requests.Session() as http:
        while True:
            sent = time.time_ns()
            response = http.get(url, timeout=timeout)
            gets.append((sent, time.time_ns(), response.status_code))
            if response.status_code == 200:
                if response.headers.get("Content-Type") != "application/pdf":
                    raise RuntimeError(f"not a PDF: {response.headers.get('Content-Type')}")
                seconds = time.monotonic() - started
                return {"seconds": seconds, "bytes": len(response.content), "gets": gets}
            if response.status_code != 202:
                raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:500]}")
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"the PDF was not ready within {timeout:.0f}s")
            time.sleep(poll)


def cpu_pressure_us() -> int | None:
    """Microseconds during which some runnable task waited for a CPU (Linux PSI)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/pressure/cpu").read_text().splitlines():
            if line.startswith("some "):
                return int(line.rsplit("total=", 1)[1])
    return None


def _mark() -> tuple[int, int | None]:
    return time.time_ns(), cpu_pressure_us()


def _pressure_pct(start: tuple[int, int | None], end: tuple[int, int | None]) -> float | None:
    """The share of a window during which some task waited for a CPU, in %."""
    if start[1] is None or end[1] is None or end[0] <= start[0]:
        return None
    return 100 * (end[1] - start[1]) * 1000 / (end[0] - start[0])


def pinged(
    pool: ClientPool, args: argparse.Namespace, work: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Ping ``--idle-seconds`` idle, while ``work()`` runs, and ``--idle-seconds`` after;
    the pings, the three windows, the CPU pressure in each and what ``work`` returned."""
    pool.request(("ping", None), "pinging", 30)
    time.sleep(0.2)  # the first pings settle the connection
    marks = [_mark()]
    time.sleep(args.idle_seconds)
    marks.append(_mark())
    figures = work()
    marks.append(_mark())
    time.sleep(args.idle_seconds)
    marks.append(_mark())
    [pings] = pool.request(("pings", None), "pings", 60)
    names = ("idle", "render", "after")
    return {
        **figures,
        "records": pings["records"],
        "late": pings["late"],
        "disconnects": pings["disconnects"],
        "windows": {name: (marks[i][0], marks[i + 1][0]) for i, name in enumerate(names)},
        "pressure": {name: _pressure_pct(marks[i], marks[i + 1]) for i, name in enumerate(names)},
    }


def server_render(app: AppWorkshop, version: dict[str, Any], args: argparse.Namespace) -> Any:
    """The work of a stall run: ``GET /plan/<key>.pdf`` until the server has rendered it."""

    def work() -> dict[str, Any]:
        cpu_before = process_cpu_seconds(app.server.pid) or 0.0
        with WorkerWatch(app.server.pid) as watch:
            fetched = fetch_pdf(
                f"{app.base}{version['share_path']}.pdf",
                args.poll_ms / 1000,
                args.render_timeout,
            )
        cpu = (process_cpu_seconds(app.server.pid) or 0.0) - cpu_before
        log.info(
            "server rendered version %s in %.1fs (%d requests, %d bytes), worker peak %s MB",
            version["number"],
            fetched["seconds"],
            len(fetched["gets"]),
            fetched["bytes"],
            rounded(watch.peak, 1),
        )
        return {
            "server_render_seconds": fetched["seconds"],
            "server_pdf_requests": len(fetched["gets"]),
            "server_pdf_bytes": fetched["bytes"],
            "server_cpu_s_during_render": cpu,
            "server_worker_peak_rss_mb": watch.peak,
            "gets": fetched["gets"],
        }

    return work


def control_render(
    app: AppWorkshop, version: dict[str, Any], folder: Path, args: argparse.Namespace
) -> Any:
    """The work of a control run: the same plan rendered beside the server (a wrapper
    process, as for the render figures) while the server only answers the pings."""
    body = requests.get(f"{app.base}{version['share_path']}.json", timeout=30).content
    request_path = folder / "control-request.json"
    request = {"plan": body.decode("utf-8"), "digest": version["sha256"], "signatures": []}
    request_path.write_text(json.dumps(request), encoding="utf-8")

    def work() -> dict[str, Any]:
        figures = render_once(request_path, folder / "control.pdf", args.render_timeout)
        log.info("control: rendered beside the server in %.1fs", figures["seconds"])
        return {"control_render_seconds": figures["seconds"]}

    return work


def window_pings(runs: list[dict[str, Any]], window: str) -> tuple[list[float], int]:
    """Round trips (ms) of the pings sent in ``window`` of every run; and the unanswered."""
    latencies: list[float] = []
    unanswered = 0
    for run in runs:
        start, end = run["windows"][window]
        for sent, answered, ok in run["records"]:
            if not start <= sent < end:
                continue
            if answered is None or not ok:
                unanswered += 1
            else:
                latencies.append((answered - sent) / 1e6)
    return latencies, unanswered


def get_figures(runs: list[dict[str, Any]], slow_ms: float) -> dict[str, Any]:
    """How long the PDF requests took, and whether the slow pings of the render
    window (over ``slow_ms``) were in flight together with one (a stall of the event
    loop while the server handles it) more often than the other pings were."""
    waiting = [(e - s) / 1e6 for r in runs for s, e, status in r["gets"] if status == 202]
    final = [(e - s) / 1e6 for r in runs for s, e, status in r["gets"] if status == 200]
    overlap = {True: [0, 0], False: [0, 0]}  # slow? -> [pings, overlapping a request]
    for run in runs:
        start, end = run["windows"]["render"]
        for sent, answered, ok in run["records"]:
            if not start <= sent < end or answered is None or not ok:
                continue
            counts = overlap[(answered - sent) / 1e6 > slow_ms]
            counts[0] += 1
            counts[1] += any(s < answered and sent < e for s, e, _ in run["gets"])

    def pct(counts: list[int]) -> float | None:
        return rounded(100 * counts[1] / counts[0], 1) if counts[0] else None

    return {
        "server_pdf_get_p50_ms": rounded(median(waiting)),
        "server_pdf_get_max_ms": rounded(max(waiting) if waiting else None),
        "server_pdf_last_get_ms": rounded(median(final)),
        "slow_pings_during_render": overlap[True][0],
        "slow_pings_overlapping_get_pct": pct(overlap[True]),
        "other_pings_overlapping_get_pct": pct(overlap[False]),
    }


def ping_figures(runs: list[dict[str, Any]], window: str, suffix: str) -> dict[str, Any]:
    latencies, _ = window_pings(runs, window)
    return {
        f"ping_p50_ms_{suffix}": rounded(median(latencies)),
        f"ping_p99_ms_{suffix}": rounded(percentile(latencies, 99)),
        f"ping_max_ms_{suffix}": rounded(max(latencies) if latencies else None),
        f"pings_{suffix}": len(latencies),
    }


def stall_figures(runs: list[dict[str, Any]], controls: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled ping percentiles per window, the server's side of each render, and the
    pings while the same plan rendered beside the server (``control``)."""
    figures: dict[str, Any] = {}
    for window, suffix in (("idle", "idle"), ("render", "during_render"), ("after", "after")):
        figures.update(ping_figures(runs, window, suffix))
    per_run = [percentile(window_pings([r], "render")[0], 99) for r in runs]
    figures["ping_p99_ms_during_render_runs"] = [rounded(v) for v in per_run]
    for window, suffix in (("idle", "idle"), ("render", "during_render")):
        values = [r["pressure"][window] for r in runs if r["pressure"][window] is not None]
        figures[f"cpu_pressure_pct_{suffix}"] = rounded(median(values), 1)
    figures["cpu_pressure_pct_during_render_runs"] = [
        rounded(r["pressure"]["render"], 1) for r in runs
    ]
    every = runs + controls
    figures["pings_unanswered"] = sum(
        window_pings(every, w)[1] for w in ("idle", "render", "after")
    )
    figures["pinger_late"] = sum(r["late"] for r in every)
    figures["pinger_disconnects"] = max(r["disconnects"] for r in every)
    for key in (
        "server_render_seconds",
        "server_cpu_s_during_render",
        "server_worker_peak_rss_mb",
    ):
        values = [r[key] for r in runs if r[key] is not None]
        figures[key] = rounded(median(values), 1 if key.endswith("_mb") else 2)
    figures["server_render_seconds_runs"] = [rounded(r["server_render_seconds"]) for r in runs]
    figures["server_pdf_requests"] = round(median(r["server_pdf_requests"] for r in runs) or 0)
    figures["server_pdf_bytes"] = round(median(r["server_pdf_bytes"] for r in runs) or 0)
    figures.update(get_figures(runs, GOALS["ping_p99_ms_during_render"]))
    if controls:
        figures.update(ping_figures(controls, "render", "control"))
        latencies, _ = window_pings(controls, "render")
        slow = sum(1 for ms in latencies if ms > GOALS["ping_p99_ms_during_render"])
        figures["slow_pings_control"] = slow
        values = [c["pressure"]["render"] for c in controls if c["pressure"]["render"] is not None]
        figures["cpu_pressure_pct_control"] = rounded(median(values), 1)
        figures["ping_p99_ms_control_runs"] = [
            rounded(percentile(window_pings([c], "render")[0], 99)) for c in controls
        ]
        figures["control_render_seconds"] = rounded(
            median(c["control_render_seconds"] for c in controls)
        )
    return figures


def measure_stall(folder: Path, args: argparse.Namespace, repeat: int) -> dict[str, Any]:
    """One fresh server, one big frozen plan, ``repeat`` renders under pings."""
    app = prepare_app(folder, title=f"Bench pdf, {args.stall_actions} actions")
    console: TriggerClient | None = None
    pool: ClientPool | None = None
    try:
        console = console_client(app)
        phone = join(app.base, app.code, 0)
        row = fill_workshop(console, args)
        version = freeze(console)
        spec = ClientSpec({"workshop_id": app.workshop_id, "screen": "phone"}, phone)
        options = PingOptions(url=app.base, interval_ms=args.ping_ms)
        pool = ClientPool([spec], options, workers=1, target=ping_worker_main)
        pool.start()
        stats = pool.wait_connected(timeout=60)
        if not stats["connected"]:
            raise RuntimeError(f"the pinging phone could not connect: {stats['errors']}")
        runs, controls = [], []
        for r in range(repeat):
            if r:
                row = edit_row(console, row, r)
                version = freeze(console)
            runs.append(pinged(pool, args, server_render(app, version, args)))
            if args.control:
                controls.append(pinged(pool, args, control_render(app, version, folder, args)))
        if not app.server.alive():
            raise RuntimeError(f"the server died:\n{app.server.log_tail()}")
    except Exception:
        log.error("app server log (end):\n%s", app.server.log_tail())
        raise
    finally:
        if pool is not None:
            pool.stop()
        if console is not None:
            console.close()
        app.server.stop()
    figures = stall_figures(runs, controls)
    figures["stall_actions"] = version["actions"]
    figures["server_errors"] = app.server.errors()
    log.info(
        "pings during render: p50 %s ms, p99 %s ms, max %s ms (%d pings)",
        figures["ping_p50_ms_during_render"],
        figures["ping_p99_ms_during_render"],
        figures["ping_max_ms_during_render"],
        figures["pings_during_render"],
    )
    return figures


# -- the whole scenario -------------------------------------------------------------------------


def goal_figures(results: list[dict[str, Any]], stall: dict[str, Any]) -> dict[str, Any]:
    """The figures the goals are about: the 100-action plan's, and the pings' under load."""
    at_100 = next((r for r in results if r["actions"] == 100), None)
    return {
        "seconds_100": at_100["seconds"] if at_100 else None,
        "peak_rss_mb_100": at_100["peak_rss_mb"] if at_100 else None,
        "ping_p99_ms_during_render": stall.get("ping_p99_ms_during_render"),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.stall_actions < 1 or args.ping_ms <= 0 or args.idle_seconds < 0:
        raise ValueError("--stall-actions and --ping-ms must be positive, --idle-seconds >= 0")
    repeat = args.repeat or DEFAULT_REPEAT
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    reference_start = cpu_reference_ms()
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as tmp:
        results = measure_renders(Path(tmp), args, repeat)
        load_mid = os.getloadavg()[0]
        stall = measure_stall(Path(tmp) / "server", args, repeat)
    return {
        "scenario": NAME,
        "async_mode": "eventlet",
        "repeat": repeat,
        "results": results,
        **stall,
        "ping_ms": args.ping_ms,
        "idle_seconds": args.idle_seconds,
        "poll_ms": args.poll_ms,
        "goals": GOALS,
        "goals_met": goals_met(goal_figures(results, stall), GOALS),
        "duration_s": round(time.monotonic() - started, 1),
        "cpus": os.cpu_count(),
        "loadavg_start": round(load_start, 2),
        "loadavg_mid": round(load_mid, 2),
        "loadavg_end": round(os.getloadavg()[0], 2),
        "cpu_reference_ms_start": reference_start,
        "cpu_reference_ms_end": cpu_reference_ms(),
    }


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"pdf, medians of {result['repeat']} run(s)",
        f"{'actions':>8} {'seconds':>8} {'CPU s':>8} {'peak MB':>8} {'pages':>6} {'bytes':>9}",
    ]
    for row in result["results"]:
        one = (
            f"  one process {row['one_process_seconds']} s, speed-up {row['speedup']}"
            if "speedup" in row
            else ""
        )
        lines.append(
            f"{row['actions']:>8} {row['seconds']:>8} {row['cpu_seconds']:>8} "
            f"{row['peak_rss_mb']:>8} {row['pages']:>6} {row['bytes']:>9}{one}"
        )
    lines += [
        f"server rendering {result['stall_actions']} actions: "
        f"{result['server_render_seconds']}s to the 200, worker peak "
        f"{result['server_worker_peak_rss_mb']} MB, server CPU "
        f"{result['server_cpu_s_during_render']}s",
        f"{'sync:request ms':16} {'p50':>8} {'p99':>8} {'max':>8} {'pings':>6}",
    ]
    for label, suffix in (
        ("idle before", "idle"),
        ("during render", "during_render"),
        ("after", "after"),
    ):
        lines.append(
            f"{label:16} {result[f'ping_p50_ms_{suffix}']!s:>8} "
            f"{result[f'ping_p99_ms_{suffix}']!s:>8} {result[f'ping_max_ms_{suffix}']!s:>8} "
            f"{result[f'pings_{suffix}']:>6}"
        )
    if "ping_p99_ms_control" in result:
        lines.append(
            f"{'control':16} {result['ping_p50_ms_control']!s:>8} "
            f"{result['ping_p99_ms_control']!s:>8} {result['ping_max_ms_control']!s:>8} "
            f"{result['pings_control']:>6}  (rendered beside the server)"
        )
    lines.append(
        f"CPU pressure (some task waiting for a CPU): idle {result['cpu_pressure_pct_idle']}%, "
        f"during render {result['cpu_pressure_pct_during_render']}%, "
        f"control {result.get('cpu_pressure_pct_control')}%"
    )
    lines += [
        f"unanswered pings {result['pings_unanswered']}, server errors {result['server_errors']}",
        f"goals met: {result['goals_met']}",
        f"load {result['loadavg_start']} -> {result['loadavg_end']} on {result['cpus']} CPUs",
        f"machine reference {result['cpu_reference_ms_start']} -> "
        f"{result['cpu_reference_ms_end']} ms (the same plain Python work)",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``python -m bench.pdf REQUEST OUT [PROCESSES]``: one measurement, figures as JSON
    on stdout."""
    if len(argv) not in (2, 3):
        print("usage: python -m bench.pdf REQUEST.json OUT.pdf [PROCESSES]", file=sys.stderr)
        return 2
    processes = int(argv[2]) if len(argv) == 3 else 0
    print(json.dumps(measure_one(Path(argv[0]), Path(argv[1]), processes)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
