"""Scenario ``stage``: how fast a stage change reaches every phone.

For each number of phones N: a fresh app server (``facilitator serve``, eventlet,
SQLite in a temp instance folder), a facilitator and a workshop made over HTTP,
N phones joined through the join form, then N Socket.IO phone clients in client
worker processes and the facilitator's console client in this process. Beside
it, the bare python-socketio baseline server (:mod:`bench.bare_server`) with its
own N phones, measured the same way, broadcasting a message of the same size.

Rounds alternate between the two servers (app, baseline, baseline, app, ...):
the console sends ``stage:goto`` alternately to two stages; the next round
starts ``--gap-ms`` after every phone got the previous one. ``ratio_p99``
compares the two servers at the same N.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import (
    ClientPool,
    ClientSpec,
    ServerProcess,
    TriggerClient,
    WorkerOptions,
    action_id,
    add_round_options,
    analyse_rounds,
    console_client,
    free_port,
    join_many,
    machine_figures,
    median,
    prepare_app,
    rounded,
    start_bare_server,
)

NAME = "stage"
DEFAULT_CLIENTS = [50, 200, 500]
DEFAULT_ROUNDS = 20
DEFAULT_REPEAT = 3
EVENT = "stage:goto"

log = logging.getLogger("bench.stage")

#: Figures of each side (app and baseline), as Side.figures gives them.
SIDE_KEYS = (
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "first_ms",
    "last_ms",
    "missing",
    "seq_gaps",
    "disconnects",
    "samples",
    "ack_p50_ms",
    "connect_s",
    "connect_p50_ms",
    "connect_p99_ms",
    "connect_failed",
    "server_rss_mb",
    "server_cpu_ms_per_round",
)
#: Summed over repeats instead of taking the median.
SUMMED = {"missing", "seq_gaps", "disconnects", "samples", "connect_failed"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stage scenario")
    add_round_options(group, warmup=3, round_timeout=10, join_threads=4)


@dataclass
class Side:
    """One server under test (the app or the baseline), its phones and its figures."""

    label: str
    server: ServerProcess
    trigger: Callable[[int], dict[str, Any]]
    specs: list[ClientSpec]
    options: WorkerOptions
    pool: ClientPool | None = None
    connect: dict[str, Any] = field(default_factory=dict)
    connect_s: float | None = None
    rss_mb: float | None = None
    emitted: dict[int, int] = field(default_factory=dict)
    acks: list[float] = field(default_factory=list)
    cpu_before: float | None = None
    cpu_after: float | None = None
    phones: list[dict[str, Any]] = field(default_factory=list)

    def connect_phones(self, args: argparse.Namespace) -> None:
        started = time.monotonic()
        self.pool = ClientPool(self.specs, self.options, workers=args.workers)
        self.pool.start()
        self.connect = self.pool.wait_connected(timeout=60 + len(self.specs) * 0.2)
        self.connect_s = time.monotonic() - started
        failed = self.connect["failed"]
        log.info(
            "%s: %d/%d phones connected in %.1fs%s",
            self.label,
            self.connect["connected"],
            len(self.specs),
            self.connect_s,
            f" ({failed} failed: {self.connect['errors'][:2]})" if failed else "",
        )
        if not self.connect["connected"]:
            raise RuntimeError(f"{self.label}: no phone could connect: {self.connect['errors']}")
        self.rss_mb = self.server.rss_mb()

    def round(self, i: int, args: argparse.Namespace) -> None:
        """Send one stage change, wait until every phone has it, then pause."""
        assert self.pool is not None
        sent = time.time_ns()
        ack = self.trigger(i)
        acked = time.time_ns()
        if not isinstance(ack, dict) or not ack.get("ok") or "seq" not in ack:
            raise RuntimeError(f"{self.label}: {EVENT} failed: {ack!r}")
        if i >= args.warmup:
            self.emitted[ack["seq"]] = sent
            self.acks.append((acked - sent) / 1e6)
        if not self.pool.wait_round(ack["seq"], args.round_timeout):
            log.warning("%s: round %d did not reach every phone", self.label, i)
        time.sleep(args.gap_ms / 1000)

    def figures(self, args: argparse.Namespace) -> dict[str, Any]:
        figures = analyse_rounds(self.emitted, self.phones, expected=len(self.specs))
        cpu = None
        if self.cpu_before is not None and self.cpu_after is not None:
            cpu = (self.cpu_after - self.cpu_before) * 1000 / args.rounds
        figures.update(
            {
                "ack_p50_ms": rounded(median(self.acks)),
                "connect_s": rounded(self.connect_s),
                "connect_p50_ms": rounded(self.connect["connect_p50_ms"]),
                "connect_p99_ms": rounded(self.connect["connect_p99_ms"]),
                "connect_failed": self.connect["failed"],
                "server_rss_mb": rounded(self.rss_mb, 1),
                "server_cpu_ms_per_round": rounded(cpu),
            }
        )
        log.info(
            "%s: p50 %s ms, p99 %s ms, last %s ms, missing %s, seq gaps %s",
            self.label,
            figures["p50_ms"],
            figures["p99_ms"],
            figures["last_ms"],
            figures["missing"],
            figures["seq_gaps"],
        )
        return figures


def run_paired(sides: list[Side], args: argparse.Namespace) -> None:
    """Connect each side's phones, then alternate rounds between the sides.

    Interleaving the rounds (app, baseline, baseline, app, ...) exposes both
    servers to the same conditions, so a passing disturbance on the machine
    lands on both rather than on one side's whole measurement.
    """
    for side in sides:
        side.connect_phones(args)
    for i in range(args.warmup + args.rounds):
        if i == args.warmup:
            for side in sides:
                side.cpu_before = side.server.cpu_seconds()
        for side in sides if i % 2 == 0 else sides[::-1]:
            side.round(i, args)
    for side in sides:
        side.cpu_after = side.server.cpu_seconds()
    for side in sides:
        assert side.pool is not None
        side.phones = side.pool.collect()
        if not side.server.alive():
            raise RuntimeError(f"{side.label}: the server died:\n{side.server.log_tail()}")


def measure(folder: Path, clients: int, args: argparse.Namespace) -> tuple[dict, dict]:
    """The app's and the baseline's figures for ``clients`` phones, measured together."""
    app = prepare_app(folder / "app", title=f"Bench stage N={clients}")
    bare: ServerProcess | None = None
    consoles: list[TriggerClient] = []
    sides: list[Side] = []
    try:
        log.info("app N=%d: joining %d phones over HTTP", clients, clients)
        started = time.monotonic()
        cookies = join_many(app.base, app.code, clients, threads=args.join_threads)
        log.info("app N=%d: joined in %.1fs", clients, time.monotonic() - started)
        app_console = console_client(app)
        consoles.append(app_console)
        assert app_console.snapshot is not None
        current = app_console.snapshot["current_stage_id"]
        stages = [s for s in app_console.snapshot["stages"] if s["id"] != current][:2]
        if len(stages) < 2:
            raise RuntimeError("the workshop needs at least three stages")
        # What the app broadcasts for each of the two stage changes; the
        # baseline broadcasts the same.
        payloads = [
            {
                "stage_id": stages[i]["id"],
                "previous_stage_id": stages[1 - i]["id"],
                "stage": stages[i],
            }
            for i in range(2)
        ]

        def app_trigger(i: int) -> dict[str, Any]:
            stage_id = stages[i % 2]["id"]
            return app_console.call(EVENT, {"action_id": action_id(), "stage_id": stage_id})

        (folder / "bare").mkdir(parents=True, exist_ok=True)
        port = free_port()
        bare = start_bare_server(folder / "bare", port)
        bare_url = f"http://127.0.0.1:{port}"
        bare_console = TriggerClient(bare_url, {"screen": "console"}).connect()
        consoles.append(bare_console)

        def bare_trigger(i: int) -> dict[str, Any]:
            data = payloads[i % 2]
            payload = {"action_id": action_id(), "stage_id": data["stage_id"], "data": data}
            return bare_console.call(EVENT, payload)

        options = {"connect_concurrency": args.connect_concurrency}
        sides = [
            Side(
                f"app N={clients}",
                app.server,
                app_trigger,
                [
                    ClientSpec({"workshop_id": app.workshop_id, "screen": "phone"}, cookie)
                    for cookie in cookies
                ],
                WorkerOptions(url=app.base, **options),
            ),
            Side(
                f"baseline N={clients}",
                bare,
                bare_trigger,
                [ClientSpec({"screen": "phone"}) for _ in range(clients)],
                WorkerOptions(url=bare_url, **options),
            ),
        ]
        run_paired(sides, args)
    except Exception:
        for server in (app.server, bare):
            if server is not None:
                log.error("%s log (end):\n%s", server.name, server.log_tail())
        raise
    finally:
        for side in sides:
            if side.pool is not None:
                side.pool.stop()
        for console in consoles:
            console.close()
        if bare is not None:
            bare.stop()
        app.server.stop()
    return sides[0].figures(args), sides[1].figures(args)


def _combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's figures over the repeats: medians, or sums for counts of problems."""
    combined: dict[str, Any] = {}
    for key in SIDE_KEYS:
        values = [r[key] for r in runs if r.get(key) is not None]
        if key in SUMMED:
            combined[key] = sum(values)
        else:
            combined[key] = rounded(median(values)) if values else None
    return combined


def run(args: argparse.Namespace) -> dict[str, Any]:
    clients_list = args.clients or DEFAULT_CLIENTS
    args.rounds = args.rounds or DEFAULT_ROUNDS
    args.repeat = args.repeat or DEFAULT_REPEAT
    results = []
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-stage-") as tmp:
        for clients in clients_list:
            app_runs, base_runs = [], []
            for r in range(args.repeat):
                app_figures, base_figures = measure(Path(tmp) / f"n{clients}-r{r}", clients, args)
                app_runs.append(app_figures)
                base_runs.append(base_figures)
            app, base = _combine(app_runs), _combine(base_runs)
            ratio = (
                round(app["p99_ms"] / base["p99_ms"], 2)
                if app["p99_ms"] is not None and base["p99_ms"]
                else None
            )
            row: dict[str, Any] = {
                "clients": clients,
                "p50_ms": app["p50_ms"],
                "p99_ms": app["p99_ms"],
                "last_ms": app["last_ms"],
                "baseline_p50_ms": base["p50_ms"],
                "baseline_p99_ms": base["p99_ms"],
                "baseline_last_ms": base["last_ms"],
                "ratio_p99": ratio,
                "missing": app["missing"],
                "baseline_missing": base["missing"],
                "seq_ok": app["seq_gaps"] == 0 and base["seq_gaps"] == 0,
            }
            for key in SIDE_KEYS:
                row.setdefault(key, app[key])
                row.setdefault(f"baseline_{key}", base[key])
            if args.repeat > 1:
                # Each repeat's p99, to judge the spread behind the medians.
                row["p99_ms_runs"] = [r["p99_ms"] for r in app_runs]
                row["baseline_p99_ms_runs"] = [r["p99_ms"] for r in base_runs]
            results.append(row)
            log.info(
                "N=%d: app p99 %s ms, baseline p99 %s ms, ratio %s (%.0fs so far)",
                clients,
                row["p99_ms"],
                row["baseline_p99_ms"],
                ratio,
                time.monotonic() - started,
            )
    return {
        "scenario": NAME,
        "async_mode": "eventlet",
        "rounds": args.rounds,
        "warmup": args.warmup,
        "repeat": args.repeat,
        "workers": args.workers,
        "gap_ms": args.gap_ms,
        **machine_figures(started, load_start),
        "results": results,
    }


def format_table(result: dict[str, Any]) -> str:
    head = (
        f"{'N':>5} {'p50':>8} {'p99':>8} {'last':>8} {'base p50':>9} {'base p99':>9} "
        f"{'base last':>9} {'ratio':>6} {'missing':>7} {'seq ok':>6}"
    )
    lines = [f"stage, {result['rounds']} rounds, times in ms", head]
    for r in result["results"]:
        lines.append(
            f"{r['clients']:>5} {r['p50_ms']!s:>8} {r['p99_ms']!s:>8} {r['last_ms']!s:>8} "
            f"{r['baseline_p50_ms']!s:>9} {r['baseline_p99_ms']!s:>9} "
            f"{r['baseline_last_ms']!s:>9} {r['ratio_p99']!s:>6} {r['missing']!s:>7} "
            f"{r['seq_ok']!s:>6}"
        )
    return "\n".join(lines)
