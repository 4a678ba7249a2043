"""Scenario ``board``: notes dragged on a board, and a client catching up with a full board.

One app server (``facilitator serve``, eventlet, SQLite in a temp instance
folder), a facilitator and a workshop made over HTTP, N phones joined through
the join form, the console client in this process moving the workshop to the
kit's board stage, then, in client worker processes: the projector (alone in
its worker), the D dragging phones (together in one worker) and the other
N - D phones (``--workers`` processes).

1. **Drags.** Each dragger creates one note, then all D drag at once: each
   sends ``note:drag`` at most every ``--interval-ms`` (as ``static/js/board.js``
   does) for ``--drag-seconds``, then drops its note with ``note:move``. The
   ``x`` of sample ``i`` is ``X0 + i``, so ``(note_id, x)`` names the sample at
   every receiver; the dragger keeps each sample's send time and the ack, which
   says whether the server dropped it (its 45 ms rate limit). Latency is the
   arrival of the ``transient`` ``note:dragging`` at the projector and at every
   phone minus the send time; the drop is the ``note:move`` send until the
   ``event`` ``note:moved`` (found by the ack's ``seq``) arrives at every screen.
2. **Resync.** The console adds notes until the board holds ``--resync-notes``,
   then a fresh ``AsyncClient`` in this process connects with a phone's cookie
   (and with the projector key, and with the facilitator's cookie)
   ``--reconnects`` times each: connect start until the ``snapshot`` is in.

Send and arrival stamps are ``time.time_ns()`` taken in different processes of
the same machine (see :mod:`bench.common`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .common import (
    AppWorkshop,
    ClientPool,
    ClientSpec,
    TriggerClient,
    WorkerOptions,
    action_id,
    add_join_threads,
    answer_commands,
    ask_all,
    connect_all,
    connect_stats,
    console_client,
    cookie_header,
    disconnect_all,
    goto_stage,
    join_phones,
    measuring,
    median,
    median_figure,
    new_client,
    new_http_session,
    open_client,
    percentile,
    prepare_app,
    process_cpu_seconds,
    projector_key,
    repeated_run,
    rounded,
    run_worker,
    start_pools,
)

NAME = "board"
DEFAULT_CLIENTS = [300]
DEFAULT_REPEAT = 3

#: A dragged note's x is X0 + the sample number; the board is 1200 wide.
X0 = 100
MAX_SAMPLES = 1200 - X0
#: Sample keys are note_id * KEY_SPAN + sample number.
KEY_SPAN = 10_000

DRAGGING = "note:dragging"
MOVED = "note:moved"

#: The goals the figures are held against (milliseconds).
GOALS = {"projector_p99_ms": 150, "phone_p99_ms": 250, "resync_500_notes_ms": 1000}

#: Counts that are summed over repeats; every other number is the median.
SUMMED = {
    "updates_sent",
    "updates_accepted",
    "updates_superseded",
    "updates_dropped_by_server",
    "updates_failed",
    "updates_unacked",
    "projector_lost",
    "phone_lost",
    "unexpected_arrivals",
    "drops",
    "drop_lost",
    "disconnects",
    "connect_failed",
}

NOTE_TEXTS = (
    "Too few midwives in rural districts",
    "Pre-service training is funded but graduates are not hired",
    "Strong community health worker programme in the north",
    "Payroll audits could free budget for new posts",
    "Brain drain to neighbouring countries after specialisation",
    "HR information system is not linked to payroll",
    "Development partners ready to co-fund retention allowances",
    "Deployment rules ignore where staff are needed most",
)
COLOURS = ("yellow", "pink", "blue", "green", "orange", "purple")

log = logging.getLogger("bench.board")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("board scenario")
    group.add_argument(
        "--draggers", type=int, default=20, help="phones dragging a note at once (default 20)"
    )
    group.add_argument(
        "--drag-seconds", type=float, default=5, help="how long they drag (default 5)"
    )
    group.add_argument(
        "--interval-ms",
        type=float,
        default=50,
        help="at least this long between a dragger's note:drag (default 50)",
    )
    group.add_argument(
        "--resync-notes", type=int, default=500, help="notes on the board at resync (default 500)"
    )
    group.add_argument(
        "--reconnects", type=int, default=10, help="reconnects timed per screen (default 10)"
    )
    group.add_argument(
        "--drain-timeout",
        type=float,
        default=120,
        help="seconds to wait for the drops to reach every screen (default 120)",
    )
    add_join_threads(group, 4)


# -- what the workers run ---------------------------------------------------------------


def sample_key(note_id: int, x: float) -> int:
    """The number naming one drag update: its note and its sample number (from x)."""
    return note_id * KEY_SPAN + round(x) - X0


@dataclass
class BoardSpec(ClientSpec):
    #: The dragger's number (0 .. D-1); it places the note and phases the drag.
    index: int = 0


@dataclass
class BoardOptions(WorkerOptions):
    #: ``phone``, ``lone_phone`` or ``projector``: how its arrivals are counted.
    kind: str = "phone"
    #: Its clients create and drag a note each.
    drags: bool = False


@dataclass
class DragPlan:
    start_at: float  #: time.time() when the first dragger starts
    seconds: float
    interval: float  #: seconds, at least, between one dragger's updates
    draggers: int  #: in all; dragger k starts k * interval / draggers late
    timeout: float  #: how long to wait for the acks once done


class _Screen:
    """One client of a worker and what arrived at it."""

    def __init__(self, spec: BoardSpec) -> None:
        self.spec = spec
        self.sio: Any = None
        self.got_snapshot = asyncio.Event()
        self.connect_ms: float | None = None
        self.error: str | None = None
        self.disconnects = 0
        self.drags: dict[int, int] = {}  #: sample key -> arrival (ns)
        self.moved: dict[int, int] = {}  #: seq of a note:moved -> arrival (ns)
        self.seqs: set[int] = set()
        self.note: dict[str, Any] | None = None  #: the note it drags

    def on_snapshot(self, _data: Any) -> None:
        self.got_snapshot.set()

    def on_transient(self, message: Any) -> None:
        now = time.time_ns()
        if isinstance(message, dict) and message.get("type") == DRAGGING:
            # The server batches the latest position of each dragged note every 50 ms.
            for item in message["data"]["items"]:
                self.drags.setdefault(sample_key(item["note_id"], item["x"]), now)

    def on_event(self, message: Any) -> None:
        now = time.time_ns()
        if not isinstance(message, dict):
            return
        seq = message.get("seq")
        self.seqs.add(seq)
        if message.get("type") == MOVED:
            self.moved.setdefault(seq, now)

    def on_disconnect(self, *_args: Any) -> None:
        self.disconnects += 1


async def _connect(screen: _Screen, http: Any, options: BoardOptions) -> None:
    sio = screen.sio = new_client(http, screen.spec)
    sio.on("snapshot", screen.on_snapshot)
    sio.on("transient", screen.on_transient)
    sio.on("event", screen.on_event)
    sio.on("disconnect", screen.on_disconnect)
    screen.connect_ms = await open_client(sio, screen.spec, options, screen.got_snapshot)


async def _create_note(screen: _Screen) -> dict[str, Any]:
    k = screen.spec.index
    payload = {
        "action_id": action_id(),
        "text": f"{NOTE_TEXTS[k % len(NOTE_TEXTS)]} (dragged {k})",
        "colour": COLOURS[k % len(COLOURS)],
        "x": float(X0),
        "y": float(20 + (k * 29) % 700),
    }
    ack = await screen.sio.call("note:create", payload, timeout=60)
    if not ack.get("ok"):
        raise RuntimeError(f"note:create failed: {ack}")
    screen.note = ack["note"]
    return {"index": k, "note_id": screen.note["id"], "seq": ack["seq"]}


async def _drag(screen: _Screen, plan: DragPlan) -> dict[str, list]:
    """Drag the screen's note as a finger would, then drop it.

    Returns ``samples`` ``[key, sent_ns, ack_ns, status]`` with status
    ``accepted``, ``dropped`` (the server's rate limit), ``failed`` or
    ``unacked`` (the ack callback fills them in, maybe after this returns);
    and ``drops`` ``(seq, sent_ns, ack_ns)``.
    """
    assert screen.note is not None
    note_id, y = screen.note["id"], screen.note["y"]
    samples: list[list[Any]] = []

    def on_ack(record: list[Any], ack: Any) -> None:
        record[2] = time.time_ns()
        if not isinstance(ack, dict) or not ack.get("ok"):
            record[3] = "failed"
        else:
            record[3] = "dropped" if ack.get("dropped") else "accepted"

    start = plan.start_at + screen.spec.index * plan.interval / plan.draggers
    await asyncio.sleep(max(0.0, start - time.time()))
    end = start + plan.seconds
    last = 0.0
    for i in range(MAX_SAMPLES):
        # At least `interval` after the previous send, like board.js: a late
        # tick is not made up by sending the next one early.
        await asyncio.sleep(max(0.0, last + plan.interval - time.monotonic()))
        if time.time() >= end:
            break
        last = time.monotonic()
        record = [note_id * KEY_SPAN + i, time.time_ns(), None, "unacked"]
        samples.append(record)
        await screen.sio.emit(
            "note:drag",
            {"note_id": note_id, "x": float(X0 + i), "y": y},
            callback=lambda ack, r=record: on_ack(r, ack),
        )
    payload = {"action_id": action_id(), "note_id": note_id, "x": float(X0 + len(samples)), "y": y}
    sent = time.time_ns()
    try:
        ack = await screen.sio.call("note:move", payload, timeout=plan.timeout)
    except Exception:  # a timeout: counted as a drop that never came
        ack = None
    ok = isinstance(ack, dict) and ack.get("ok")
    drops = [(ack["seq"], sent, time.time_ns())] if ok else []
    return {"samples": samples, "drops": drops}


async def _drag_all(screens: list[_Screen], plan: DragPlan) -> dict:
    results = await asyncio.gather(*(_drag(s, plan) for s in screens))
    samples = [r for result in results for r in result["samples"]]
    # Acks still on their way: give them time (a backlogged server answers late).
    deadline = time.monotonic() + plan.timeout
    while any(r[3] == "unacked" for r in samples) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return {
        "samples": [tuple(r) for r in samples],
        "drops": [d for result in results for d in result["drops"]],
    }


async def _await_seqs(screens: list[_Screen], seqs: list[int], timeout: float) -> dict:
    """Wait until every screen has had every event in ``seqs``."""
    wanted = set(seqs)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(wanted <= s.seqs for s in screens):
            break
        await asyncio.sleep(0.02)
    incomplete = sum(1 for s in screens if not wanted <= s.seqs)
    return {"complete": len(screens) - incomplete, "incomplete": incomplete}


def _report(screens: list[_Screen], kind: str) -> list[dict[str, Any]]:
    return [
        {"kind": kind, "drags": s.drags, "moved": s.moved, "disconnects": s.disconnects}
        for s in screens
    ]


async def _board_worker(
    index: int,
    specs: list[BoardSpec],
    options: BoardOptions,
    commands: Connection,
    out: Connection,
) -> None:
    """Connect the clients, then answer the bench's commands until ``stop``.

    Commands are ``(name, params)``: ``create`` (draggers: one note each),
    ``drag`` (draggers: a :class:`DragPlan`, then the drop), ``await_seqs``
    (``(seqs, timeout)``); and ``report``. Each is answered with ``(name, index, payload)``.
    """
    http = new_http_session()
    screens = [_Screen(spec) for spec in specs]
    connected = await connect_all(
        screens, lambda s: _connect(s, http, options), options.connect_concurrency
    )
    out.send(("connected", index, connect_stats(screens, connected)))
    draggers = connected if options.drags else []
    await answer_commands(
        index,
        commands,
        out,
        {
            "create": lambda _: asyncio.gather(*(_create_note(s) for s in draggers)),
            "drag": lambda plan: _drag_all(draggers, plan),
            "await_seqs": lambda params: _await_seqs(connected, *params),
            "report": lambda _: _report(connected, options.kind),
        },
    )
    await disconnect_all(connected, http)


def board_worker_main(
    index: int,
    specs: list[BoardSpec],
    options: BoardOptions,
    commands: Connection,
    out: Connection,
) -> None:
    """Entry point of a board client worker process."""
    run_worker(index, out, _board_worker(index, specs, options, commands, out))


# -- setting up -----------------------------------------------------------------------


@dataclass
class Setup:
    """The workshop on its board stage, the console, and who connects as what."""

    app: AppWorkshop
    console: TriggerClient
    board_stage_id: int
    phone_cookies: list[str]
    projector_key: str


def set_up(app: AppWorkshop, clients: int, args: argparse.Namespace) -> Setup:
    """Join the phones, connect the console and go to the board stage."""
    cookies = join_phones(app, clients, threads=args.join_threads)
    key = projector_key(app.facilitator, app.base, app.workshop_id)
    console = console_client(app)
    try:
        stage = goto_stage(console, "board")
    except BaseException:
        console.close()
        raise
    return Setup(app, console, stage["id"], cookies, key)


def start_board_pools(setup: Setup, args: argparse.Namespace) -> tuple[dict[str, ClientPool], int]:
    """Start the projector's, the draggers' and the other phones' workers; wait for them.

    Returns the pools and how many clients could not connect.
    """
    app, phone_auth = setup.app, {"workshop_id": setup.app.workshop_id, "screen": "phone"}
    projector = BoardSpec(
        {"workshop_id": app.workshop_id, "screen": "projector", "key": setup.projector_key}
    )
    phones = [
        BoardSpec(dict(phone_auth), cookie, index=i) for i, cookie in enumerate(setup.phone_cookies)
    ]
    draggers = min(args.draggers, len(phones))
    # The lone phone connects last, so it is the last of the room to be sent to.
    lone = phones[draggers:][-1:]
    plans = {
        "projector": ([projector], BoardOptions(url=app.base, kind="projector"), 1),
        "draggers": (phones[:draggers], BoardOptions(url=app.base, drags=True), 1),
        "phones": (phones[draggers:-1], BoardOptions(url=app.base), args.workers),
        "lone_phone": (lone, BoardOptions(url=app.base, kind="lone_phone"), 1),
    }
    return start_pools(plans, board_worker_main, args.connect_concurrency)


# -- the drags ------------------------------------------------------------------------


def await_everywhere(pools: dict[str, ClientPool], seqs: list[int], timeout: float) -> int:
    """Wait until every screen had the events ``seqs``; the number of screens that did not."""
    answers = ask_all(pools, ("await_seqs", (seqs, timeout)), timeout + 30)
    return sum(a["incomplete"] for a in answers)


def _cpu(pids: Iterable[int]) -> float:
    return sum(process_cpu_seconds(pid) or 0.0 for pid in pids)


def watch_window(server: Any, pools: dict[str, ClientPool], start: float, end: float) -> dict:
    """CPU of the server and the client workers over the wall-clock window [start, end],
    as % of one core; the server's peak RSS."""
    pids = {name: pool.pids for name, pool in pools.items()}
    time.sleep(max(0.0, start - time.time()))
    began = time.monotonic()
    server_before = server.cpu_seconds() or 0.0
    before = {name: _cpu(p) for name, p in pids.items()}
    rss = [server.rss_mb() or 0.0]
    while time.time() < end:
        time.sleep(min(0.25, max(0.0, end - time.time())))
        rss.append(server.rss_mb() or 0.0)
    elapsed = time.monotonic() - began
    used = {name: _cpu(p) - before[name] for name, p in pids.items()}
    return {
        "server_cpu_pct": rounded(
            ((server.cpu_seconds() or 0.0) - server_before) / elapsed * 100, 1
        ),
        "server_rss_mb": rounded(max(rss), 1),
        "clients_cpu_pct": rounded(sum(used.values()) / elapsed * 100, 1),
        "phones_cpu_pct": rounded(used.get("phones", 0.0) / elapsed * 100, 1),
    }


def run_drags(setup: Setup, pools: dict[str, ClientPool], args: argparse.Namespace) -> dict:
    """Create the dragged notes, drag them all at once, drop them; raw results."""
    draggers = pools["draggers"]
    notes = [n for reply in draggers.request(("create", None), "create", 120) for n in reply]
    # Start from a quiet server: every screen has every note.
    behind = await_everywhere(pools, [n["seq"] for n in notes], timeout=60)
    log.info(
        "%d notes created%s; dragging for %.1fs",
        len(notes),
        f" ({behind} screens missed some)" if behind else "",
        args.drag_seconds,
    )
    rss_idle = setup.app.server.rss_mb()
    interval = args.interval_ms / 1000
    plan = DragPlan(time.time() + 0.5, args.drag_seconds, interval, len(notes), args.drain_timeout)
    draggers.send(("drag", plan))
    window = watch_window(
        setup.app.server, pools, plan.start_at, plan.start_at + plan.seconds + interval
    )
    window_end = time.monotonic()
    [dragged] = draggers.replies("drag", 2 * args.drain_timeout + 30)
    drop_seqs = [seq for seq, _sent, _acked in dragged["drops"]]
    incomplete = await_everywhere(pools, drop_seqs, args.drain_timeout)
    drain_s = time.monotonic() - window_end
    log.info(
        "drops reached every screen %.1fs after the drags ended%s",
        drain_s,
        f" ({incomplete} screens never got them all)" if incomplete else "",
    )
    screens = [s for pool in pools.values() for s in pool.collect(timeout=120)]
    return {
        **dragged,
        **window,
        "server_rss_mb_idle": rounded(rss_idle, 1),
        "drain_s": rounded(drain_s, 2),
        "screens": screens,
    }


def _ms(arrived: int, sent: int) -> float:
    return (arrived - sent) / 1e6


def delivery_figures(
    prefix: str, sent: dict[int, int], arrivals: list[dict[int, int]]
) -> dict[str, Any]:
    """Latency of the messages ``sent`` (key -> ns) at the screens' ``arrivals``.

    p50/p99/max pool every (message, screen) pair; ``last`` is, per message,
    the slowest screen, and its median over the messages; ``lost`` counts the
    (message, screen) pairs that never arrived.
    """
    pooled: list[float] = []
    last: list[float] = []
    lost = 0
    for key, sent_ns in sent.items():
        latencies = [_ms(a[key], sent_ns) for a in arrivals if key in a]
        lost += len(arrivals) - len(latencies)
        pooled.extend(latencies)
        if latencies:
            last.append(max(latencies))
    return {
        f"{prefix}_p50_ms": rounded(median(pooled)),
        f"{prefix}_p99_ms": rounded(percentile(pooled, 99)),
        f"{prefix}_max_ms": rounded(max(pooled) if pooled else None),
        f"{prefix}_last_ms": rounded(median(last)),
        f"{prefix}_lost": lost,
    }


def drag_figures(raw: dict[str, Any]) -> dict[str, Any]:
    samples = raw["samples"]
    status = [s[3] for s in samples]
    accepted_all = {key: sent for key, sent, _ack, state in samples if state == "accepted"}
    # A position replaced by a newer one of the same note within the server's 50 ms
    # batch is never sent: superseded, not lost. What reached any screen was sent.
    sent_by_server = set().union(*(s["drags"].keys() for s in raw["screens"]))
    accepted = {key: sent for key, sent in accepted_all.items() if key in sent_by_server}
    not_passed_on = {key for key, _sent, _ack, state in samples if state in ("dropped", "failed")}
    acks = [_ms(acked, sent) for _key, sent, acked, _state in samples if acked is not None]
    projectors = [s for s in raw["screens"] if s["kind"] == "projector"]
    phones = [s for s in raw["screens"] if s["kind"] in ("phone", "lone_phone")]
    lone = [s for s in raw["screens"] if s["kind"] == "lone_phone"]
    figures: dict[str, Any] = {
        "updates_sent": len(samples),
        "updates_accepted": len(accepted_all),
        "updates_superseded": len(accepted_all) - len(accepted),
        "updates_dropped_by_server": status.count("dropped"),
        "updates_failed": status.count("failed"),
        "updates_unacked": status.count("unacked"),
        "updates_per_s": rounded(len(accepted_all) / raw_window_seconds(raw), 1),
        "drag_ack_p50_ms": rounded(median(acks)),
        "drag_ack_p99_ms": rounded(percentile(acks, 99)),
    }
    figures.update(delivery_figures("projector", accepted, [s["drags"] for s in projectors]))
    figures.update(delivery_figures("phone", accepted, [s["drags"] for s in phones]))
    lone_figures = delivery_figures("lone_phone", accepted, [s["drags"] for s in lone])
    for key in ("lone_phone_p50_ms", "lone_phone_p99_ms", "lone_phone_max_ms"):
        figures[key] = lone_figures[key]
    # A dropped update must not be passed on; count any that was.
    figures["unexpected_arrivals"] = sum(
        1 for s in raw["screens"] for key in s["drags"] if key in not_passed_on
    )
    drops = {seq: sent for seq, sent, _acked in raw["drops"]}
    drop_projector = delivery_figures("drop_projector", drops, [s["moved"] for s in projectors])
    drop_phone = delivery_figures("drop_phone", drops, [s["moved"] for s in phones])
    figures.update(
        {
            "drops": len(drops),
            "drop_projector_p50_ms": drop_projector["drop_projector_p50_ms"],
            "drop_projector_p99_ms": drop_projector["drop_projector_p99_ms"],
            "drop_phone_p50_ms": drop_phone["drop_phone_p50_ms"],
            "drop_phone_p99_ms": drop_phone["drop_phone_p99_ms"],
            "drop_phone_last_ms": drop_phone["drop_phone_last_ms"],
            "drop_lost": drop_projector["drop_projector_lost"] + drop_phone["drop_phone_lost"],
            "disconnects": sum(s["disconnects"] for s in raw["screens"]),
        }
    )
    return figures


def raw_window_seconds(raw: dict[str, Any]) -> float:
    """From the first update sent to the last (at least 1 ms)."""
    sent = [s[1] for s in raw["samples"]]
    return max((max(sent) - min(sent)) / 1e9, 0.001) if sent else 1.0


# -- the resync -----------------------------------------------------------------------


def fill_board(setup: Setup, notes: int, pools: dict[str, ClientPool]) -> int:
    """Have the console add notes until the board holds ``notes``; returns how many it has."""
    ack = setup.console.call("sync:request", {})
    board = ack["snapshot"]["boards"][str(setup.board_stage_id)]
    have = len(board["notes"])
    last_seq = None
    started = time.monotonic()
    for i in range(have, notes):
        payload = {
            "action_id": action_id(),
            "text": f"{NOTE_TEXTS[i % len(NOTE_TEXTS)]} ({i})",
            "colour": COLOURS[i % len(COLOURS)],
            "x": float((i * 53) % 1100),
            "y": float((i * 31) % 700),
        }
        ack = setup.console.call("note:create", payload)
        if not ack.get("ok"):
            raise RuntimeError(f"note:create failed: {ack}")
        last_seq = ack["seq"]
    if last_seq is not None:
        incomplete = await_everywhere(pools, [last_seq], timeout=120)
        log.info(
            "board filled to %d notes in %.1fs%s",
            notes,
            time.monotonic() - started,
            f" ({incomplete} screens behind)" if incomplete else "",
        )
    return max(have, notes)


async def _reconnect(url: str, spec: ClientSpec) -> tuple[float, int]:
    """One fresh client's connect until its snapshot is in; (ms, snapshot size in bytes)."""
    http = new_http_session()
    sio = new_client(http, spec)
    got = asyncio.Event()
    box: dict[str, Any] = {}

    def on_snapshot(data: Any) -> None:
        box["snapshot"] = data
        got.set()

    sio.on("snapshot", on_snapshot)
    try:
        ms = await open_client(sio, spec, WorkerOptions(url=url), got)
        # As on the wire: python-socketio encodes with these separators.
        size = len(json.dumps(box["snapshot"], separators=(",", ":")))
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sio.disconnect(), 5)
        await http.close()
    return ms, size


async def _reconnects(url: str, spec: ClientSpec, times: int) -> dict[str, Any]:
    results = [await _reconnect(url, spec) for _ in range(times)]
    times_ms = [ms for ms, _size in results]
    return {"ms": median(times_ms), "max_ms": max(times_ms), "bytes": results[-1][1]}


def measure_resync(setup: Setup, args: argparse.Namespace, pools: dict[str, ClientPool]) -> dict:
    notes = fill_board(setup, args.resync_notes, pools)
    app = setup.app
    auth = {"workshop_id": app.workshop_id}
    specs = {
        "phone": ClientSpec({**auth, "screen": "phone"}, setup.phone_cookies[0]),
        "projector": ClientSpec({**auth, "screen": "projector", "key": setup.projector_key}),
        "console": ClientSpec({**auth, "screen": "console"}, cookie_header(app.facilitator)),
    }
    got = {
        role: asyncio.run(_reconnects(app.base, spec, args.reconnects))
        for role, spec in specs.items()
    }
    phone = got["phone"]
    log.info("resync at %d notes: %.0f ms, %d bytes", notes, phone["ms"], phone["bytes"])
    return {
        "resync_notes": notes,
        "resync_ms": rounded(phone["ms"]),
        "resync_500_notes_ms": rounded(phone["ms"]) if notes == 500 else None,
        "resync_max_ms": rounded(phone["max_ms"]),
        "snapshot_bytes": phone["bytes"],
        "resync_projector_ms": rounded(got["projector"]["ms"]),
        "snapshot_bytes_projector": got["projector"]["bytes"],
        "resync_console_ms": rounded(got["console"]["ms"]),
        "snapshot_bytes_console": got["console"]["bytes"],
    }


# -- one run, and the whole scenario ----------------------------------------------------


def measure(folder: Path, clients: int, args: argparse.Namespace) -> dict[str, Any]:
    """One fresh server: the drags, then the resync."""
    app = prepare_app(folder, title=f"Bench board N={clients}")
    with measuring([app.server]) as cleanup:
        setup = set_up(app, clients, args)
        cleanup.callback(setup.console.close)
        pools, failed = start_board_pools(setup, args)
        for pool in pools.values():
            cleanup.callback(pool.stop)
        raw = run_drags(setup, pools, args)
        figures = drag_figures(raw)
        for key in (
            "server_cpu_pct",
            "server_rss_mb",
            "server_rss_mb_idle",
            "clients_cpu_pct",
            "phones_cpu_pct",
        ):
            figures[key] = raw[key]
        figures["drain_s"] = raw["drain_s"]
        figures["connect_failed"] = failed
        figures.update(measure_resync(setup, args, pools))
    log.info(
        "projector p99 %s ms, phone p99 %s ms, resync %s ms",
        figures["projector_p99_ms"],
        figures["phone_p99_ms"],
        figures["resync_ms"],
    )
    return figures


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures over the repeats: counts summed, other numbers the median."""
    if len(runs) == 1:
        return dict(runs[0])
    combined: dict[str, Any] = {}
    for key in runs[0]:
        values = [r.get(key) for r in runs]
        if key in SUMMED:
            combined[key] = sum(v for v in values if isinstance(v, int | float))
        else:
            combined[key] = median_figure(values)
    for key in GOALS:
        combined[f"{key}_runs"] = [r[key] for r in runs]
    return combined


def check_args(args: argparse.Namespace, clients: Iterable[int]) -> int:
    counts = list(clients)
    if len(counts) != 1:
        raise ValueError("board measures one number of phones at a time, e.g. --clients 300")
    if args.drag_seconds * 1000 / args.interval_ms > MAX_SAMPLES:
        raise ValueError(f"at most {MAX_SAMPLES} updates per dragger: drag for less time")
    if args.draggers < 1 or args.resync_notes < 0 or args.reconnects < 1:
        raise ValueError("--draggers and --reconnects must be at least 1")
    return counts[0]


def run(args: argparse.Namespace) -> dict[str, Any]:
    clients = check_args(args, args.clients or DEFAULT_CLIENTS)
    settings = {
        "draggers": min(args.draggers, clients),
        "drag_seconds": args.drag_seconds,
        "interval_ms": args.interval_ms,
    }
    return repeated_run(
        NAME,
        args,
        clients,
        lambda folder: measure(folder, clients, args),
        combine,
        GOALS,
        settings,
        repeat=args.repeat or DEFAULT_REPEAT,
        prefix="bench-board-",
    )


def format_table(result: dict[str, Any]) -> str:
    rows = [
        ("drag to projector", "projector"),
        ("drag to phones", "phone"),
        ("drag to lone phone", "lone_phone"),
        ("drop to projector", "drop_projector"),
        ("drop to phones", "drop_phone"),
    ]
    lines = [
        f"board, {result['clients']} phones, {result['draggers']} draggers for "
        f"{result['drag_seconds']}s, times in ms",
        f"{'':20} {'p50':>8} {'p99':>8} {'last':>8}",
    ]
    for label, prefix in rows:
        lines.append(
            f"{label:20} {result.get(f'{prefix}_p50_ms')!s:>8} "
            f"{result.get(f'{prefix}_p99_ms')!s:>8} {result.get(f'{prefix}_last_ms', '')!s:>8}"
        )
    lines += [
        f"updates sent {result['updates_sent']}, dropped by the server "
        f"{result['updates_dropped_by_server']}, lost at the projector "
        f"{result['projector_lost']}, at phones {result['phone_lost']}",
        f"server CPU {result['server_cpu_pct']}% of a core, RSS {result['server_rss_mb']} MB; "
        f"client workers CPU {result['clients_cpu_pct']}%",
        f"resync at {result['resync_notes']} notes: {result['resync_ms']} ms, "
        f"snapshot {result['snapshot_bytes']} bytes",
        f"goals met: {result['goals_met']}",
    ]
    return "\n".join(lines)
