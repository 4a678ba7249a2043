"""Scenario ``vote_storm``: every phone votes within one second; is the count exact, and fast?

One app server (``facilitator serve``, eventlet, SQLite in a temp instance
folder), a facilitator and a workshop made over HTTP, N phones joined through
the join form. The console client (in this process) moves the workshop to the
kit's ``vote`` stage and creates a consensus poll with live results; the
projector (alone in its worker) and the N phones (``--workers`` processes)
connect; the console opens the poll. Then:

1. **Storm.** Every phone sends ``poll:vote`` at its own moment, spread
   uniformly over ``--storm-seconds`` (1 s), and waits for the ack. Some phones
   do more (see :data:`ROLES`): resend the same action id, change their ballot,
   or disconnect and reconnect in the middle of it.
2. **Final tally.** Every screen (each phone, the projector, the console)
   records the ``transient`` ``poll:count`` messages it gets; the bench waits
   until each has seen one whose turnout and per-choice counts equal the
   ballots the phones had acked, and times that from the last ``poll:vote`` sent.
3. **Close.** The console sends ``poll:close``; the outcome in its ack and the
   ``poll:closed`` event at every screen must hold the same counts.

Send and arrival stamps are ``time.time_ns()`` taken in different processes of
the same machine (see :mod:`bench.common`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .common import (
    AppWorkshop,
    ClientPool,
    ClientSpec,
    ResourceWatch,
    TriggerClient,
    WorkerOptions,
    action_id,
    add_join_threads,
    answer_commands,
    ask_all,
    connect_all,
    connect_stats,
    console_client,
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
    projector_key,
    repeated_run,
    rounded,
    run_worker,
    start_pools,
)

NAME = "vote_storm"
DEFAULT_CLIENTS = [500]
DEFAULT_REPEAT = 3

POLL_COUNT = "poll:count"
POLL_OPENED = "poll:opened"
POLL_CLOSED = "poll:closed"
CHOICES = ("agree", "abstain", "disagree", "block")

#: What a phone does in the storm besides voting once.
PLAIN = "plain"
DUPLICATE = "duplicate"  #: sends the same poll:vote (same action id) twice
CHANGER = "changer"  #: votes, then changes its ballot with a new action id
RECONNECT = "reconnect"  #: disconnects and reconnects at its moment, then votes
LOST_ACK = "lost_ack"  #: votes, disconnects before the ack, reconnects, resends the same id
ROLES = (PLAIN, DUPLICATE, CHANGER, RECONNECT, LOST_ACK)

#: The goals the figures are held against (milliseconds).
GOALS = {"ack_p99_ms": 300, "final_tally_ms": 1000}

#: Counts of problems, summed over repeats; flags are and-ed; every other number is the median.
SUMMED = {
    "votes_failed",
    "votes_unacked",
    "screens_without_final",
    "screens_without_closed",
    "disconnects",
    "connect_failed",
    "server_errors",
}
FLAGS = {"tally_exact", "acks_exact", "reasons_exact"}

log = logging.getLogger("bench.vote_storm")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("vote_storm scenario")
    group.add_argument(
        "--storm-seconds",
        type=float,
        default=1.0,
        help="the phones' first votes are spread uniformly over this long (default 1)",
    )
    group.add_argument(
        "--duplicates",
        type=float,
        default=0.10,
        help="share of phones that resend the same action id (default 0.10)",
    )
    group.add_argument(
        "--reconnects",
        type=float,
        default=0.10,
        help="share of phones that disconnect and reconnect mid-storm (default 0.10)",
    )
    group.add_argument(
        "--changers",
        type=float,
        default=0.04,
        help="share of phones that change their ballot (default 0.04)",
    )
    group.add_argument(
        "--blocks",
        type=float,
        default=0.02,
        help="share of phones that block, with a reason (default 0.02)",
    )
    group.add_argument(
        "--final-timeout",
        type=float,
        default=30,
        help="seconds to wait for the final count at every screen (default 30)",
    )
    group.add_argument("--seed", type=int, default=1, help="seed of the phones' plan (default 1)")
    add_join_threads(group, 4)


# -- what each screen saw ------------------------------------------------------------------


class ScreenLog:
    """What one screen received: its ``poll:count`` messages, its first event of
    each type, and the arrival of every message (to count what the server sent).

    Used by the workers' clients and by the console in the bench process (whose
    handlers run on the Socket.IO client's thread; appends are atomic).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        #: (arrival ns, source, poll id, turnout, ballots, counts); source is
        #: ``transient`` or ``snapshot`` (a reconnecting phone's snapshot holds the count).
        self.counts: list[tuple[int, str, Any, Any, Any, Any]] = []
        self.events: dict[str, tuple[int, Any]] = {}
        #: (arrival ns, kind) of every message: transient, event, snapshot, ack.
        self.arrivals: list[tuple[int, str]] = []
        self.disconnects = 0
        self._final: tuple[Any, int] | None = None  # (expected, arrival ns)
        self._scanned = 0

    def on_transient(self, message: Any) -> None:
        now = time.time_ns()
        self.arrivals.append((now, "transient"))
        if isinstance(message, dict) and message.get("type") == POLL_COUNT:
            self._count(now, "transient", message.get("data"))

    def on_event(self, message: Any) -> None:
        now = time.time_ns()
        self.arrivals.append((now, "event"))
        if isinstance(message, dict):
            self.events.setdefault(message.get("type"), (now, message.get("data")))

    def on_snapshot(self, data: Any) -> None:
        now = time.time_ns()
        self.arrivals.append((now, "snapshot"))
        for entry in (data or {}).get("polls") or []:
            if entry.get("count"):
                self._count(now, "snapshot", entry["count"])

    def on_ack(self, now: int) -> None:
        self.arrivals.append((now, "ack"))

    def on_disconnect(self, *_args: Any) -> None:
        self.disconnects += 1

    def _count(self, now: int, source: str, data: Any) -> None:
        if not isinstance(data, dict):
            return
        tally = data.get("tally") or {}
        self.counts.append(
            (
                now,
                source,
                data.get("poll_id"),
                data.get("turnout"),
                tally.get("ballots"),
                tally.get("counts"),
            )
        )

    def final_at(self, expected: dict[str, Any]) -> int | None:
        """When the first count equal to ``expected`` (poll_id, turnout, counts) arrived."""
        key = (expected["poll_id"], expected["turnout"], expected["turnout"], expected["counts"])
        if self._final is not None and self._final[0] == key:
            return self._final[1]
        if self._final is not None:  # another expectation: scan again
            self._final, self._scanned = None, 0
        for at, _source, *values in self.counts[self._scanned :]:
            self._scanned += 1
            if tuple(values) == key:
                self._final = (key, at)
                return at
        return None

    def final_summary(self, expected: dict[str, Any]) -> dict[str, Any]:
        mine = [c for c in self.counts if c[2] == expected["poll_id"]]
        last = mine[-1] if mine else None
        return {
            "kind": self.kind,
            "final_ns": self.final_at(expected),
            "last": None
            if last is None
            else {"turnout": last[3], "ballots": last[4], "counts": last[5]},
        }

    def event_summary(self, event_type: str) -> dict[str, Any]:
        at, data = self.events.get(event_type, (None, None))
        outcome = ((data or {}).get("round") or {}).get("outcome") or {}
        return {"kind": self.kind, "at": at, "outcome": _outcome_counts(outcome)}

    def messages(self, start_ns: int, end_ns: int) -> dict[str, Any]:
        """Messages received in [start_ns, end_ns] by kind (transient, event, snapshot,
        ack); ``poll_count``: the transients among them that were a ``poll:count``."""
        kinds = Counter(kind for at, kind in self.arrivals if start_ns <= at <= end_ns)
        counts = [
            at
            for at, source, *_ in self.counts
            if source == "transient" and start_ns <= at <= end_ns
        ]
        return {
            "kind": self.kind,
            "kinds": dict(kinds),
            "poll_count": len(counts),
            # The cadence of the counts, for the projector and the console only.
            "count_ns": counts if self.kind != "phone" else [],
            "disconnects": self.disconnects,
        }


def _outcome_counts(outcome: dict[str, Any]) -> dict[str, Any] | None:
    """The parts of a closed round's outcome the bench checks."""
    if not outcome:
        return None
    tally = outcome.get("tally") or {}
    return {
        "counts": tally.get("counts"),
        "ballots": tally.get("ballots"),
        "turnout": outcome.get("turnout"),
        "reasons": sorted((r.get("choice"), r.get("reason")) for r in outcome.get("reasons") or []),
    }


# -- what the workers run ---------------------------------------------------------------------


@dataclass
class VoterSpec(ClientSpec):
    #: The phone's number; -1 for a screen that does not vote (the projector).
    index: int = -1
    role: str = PLAIN
    #: Seconds after the storm starts when it acts.
    offset: float = 0.0
    #: Its final ballot; a changer votes ``first_choice`` first.
    choice: str = ""
    reason: str = ""
    first_choice: str = ""


@dataclass
class StormOptions(WorkerOptions):
    kind: str = "phone"


@dataclass
class StormPlan:
    poll_id: int
    start_at: float  #: time.time() when the storm starts
    ack_timeout: float


class _Screen:
    """One client of a worker: its Socket.IO client, what it saw, what it sent."""

    def __init__(self, spec: VoterSpec, kind: str) -> None:
        self.spec = spec
        self.log = ScreenLog(kind)
        self.sio: Any = None
        self.got_snapshot = asyncio.Event()
        self.connect_ms: float | None = None
        self.error: str | None = None
        self.reconnect_ms: float | None = None
        #: One record per poll:vote sent.
        self.sends: list[dict[str, Any]] = []

    def on_snapshot(self, data: Any) -> None:
        self.log.on_snapshot(data)
        self.got_snapshot.set()

    async def connect(self, http: Any, options: WorkerOptions) -> None:
        """Connect (a fresh client each time) and wait for the snapshot; raises on failure."""
        self.got_snapshot = asyncio.Event()
        sio = self.sio = new_client(http, self.spec)
        sio.on("snapshot", self.on_snapshot)
        sio.on("transient", self.log.on_transient)
        sio.on("event", self.log.on_event)
        sio.on("disconnect", self.log.on_disconnect)
        self.connect_ms = await open_client(sio, self.spec, options, self.got_snapshot)

    async def reconnect(self, http: Any, options: WorkerOptions) -> None:
        started = time.perf_counter()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 5)
        await self.connect(http, options)
        self.reconnect_ms = (time.perf_counter() - started) * 1000

    def _record(self, what: str, payload: dict[str, Any], planned_ns: int) -> dict[str, Any]:
        record = {
            "phone": self.spec.index,
            "what": what,
            "action_id": payload["action_id"],
            "choice": payload["choice"],
            "reason": payload.get("reason", ""),
            "planned_ns": planned_ns,
            "sent_ns": time.time_ns(),
            "ack_ns": None,
            "ack": None,
        }
        self.sends.append(record)
        return record

    def _on_ack(self, record: dict[str, Any], ack: Any) -> None:
        record["ack_ns"] = now = time.time_ns()
        record["ack"] = ack
        self.log.on_ack(now)

    async def send_vote(
        self,
        what: str,
        payload: dict[str, Any],
        plan: StormPlan,
        planned_ns: int,
        wait: bool = True,
    ) -> dict[str, Any]:
        """Emit ``poll:vote``; with ``wait``, until its ack comes (or ``plan.ack_timeout``)."""
        record = self._record(what, payload, planned_ns)
        acked = asyncio.Event()

        def callback(ack: Any = None) -> None:
            self._on_ack(record, ack)
            acked.set()

        await self.sio.emit("poll:vote", payload, callback=callback)
        if wait:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(acked.wait(), plan.ack_timeout)
        return record


def _payload(poll_id: int, choice: str, reason: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"action_id": action_id(), "poll_id": poll_id, "choice": choice}
    if reason:
        payload["reason"] = reason
    return payload


async def _vote(screen: _Screen, plan: StormPlan, http: Any, options: WorkerOptions) -> None:
    """One phone's part of the storm, as its role says."""
    spec = screen.spec
    at = plan.start_at + spec.offset
    await asyncio.sleep(max(0.0, at - time.time()))
    planned = int(at * 1e9)
    vote = _payload(plan.poll_id, spec.choice, spec.reason)
    if spec.role == RECONNECT:
        # The network drops at its moment: back (with a snapshot), then it votes.
        await screen.reconnect(http, options)
        await screen.send_vote("first", vote, plan, planned)
    elif spec.role == LOST_ACK:
        # It votes and loses the connection before the ack; back, it resends the same id.
        await screen.send_vote("first", vote, plan, planned, wait=False)
        await asyncio.sleep(0.002)  # let the client's write loop put it on the wire
        await screen.reconnect(http, options)
        await screen.send_vote("resend", vote, plan, planned)
    elif spec.role == DUPLICATE:
        if spec.index % 2:
            # A retry after the ack (a client that gave up waiting a moment too soon).
            await screen.send_vote("first", vote, plan, planned)
            await screen.send_vote("duplicate", vote, plan, planned)
        else:
            # A double tap: both in flight at once.
            await asyncio.gather(
                screen.send_vote("first", vote, plan, planned),
                screen.send_vote("duplicate", vote, plan, planned),
            )
    elif spec.role == CHANGER:
        first = _payload(plan.poll_id, spec.first_choice, "")
        await screen.send_vote("first", first, plan, planned)
        await screen.send_vote("change", vote, plan, planned)
    else:
        await screen.send_vote("first", vote, plan, planned)


async def _storm(
    screens: list[_Screen], plan: StormPlan, http: Any, options: WorkerOptions
) -> dict[str, Any]:
    voters = [s for s in screens if s.spec.index >= 0]
    errors: list[str] = []

    async def vote(screen: _Screen) -> None:
        try:
            await _vote(screen, plan, http, options)
        except Exception as exc:  # a failed reconnect: its ballot goes missing, and is seen
            errors.append(f"phone {screen.spec.index}: {type(exc).__name__}: {exc}")

    await asyncio.gather(*(vote(s) for s in voters))
    return {
        "sends": [record for s in voters for record in s.sends],
        "reconnect_ms": [s.reconnect_ms for s in voters if s.reconnect_ms is not None],
        "errors": errors,
    }


async def _await(screens: list[_Screen], done: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(done(s.log) for s in screens):
        await asyncio.sleep(0.02)


async def _storm_worker(
    index: int,
    specs: list[VoterSpec],
    options: StormOptions,
    commands: Connection,
    out: Connection,
) -> None:
    """Connect the clients, then answer the bench's commands until ``stop``.

    Commands are ``(name, params)``: ``await_event`` (``(type, timeout)``),
    ``storm`` (a :class:`StormPlan`), ``await_final`` (``(expected, timeout)``)
    and ``messages`` (``(start_ns, end_ns)``); each is answered with
    ``(name, index, payload)``.
    """
    http = new_http_session()
    screens = [_Screen(spec, options.kind) for spec in specs]
    connected = await connect_all(
        screens, lambda s: s.connect(http, options), options.connect_concurrency
    )
    out.send(("connected", index, connect_stats(screens, connected)))

    async def await_event(params: tuple[str, float]) -> list[dict[str, Any]]:
        event_type, timeout = params
        await _await(connected, lambda log: event_type in log.events, timeout)
        return [s.log.event_summary(event_type) for s in connected]

    async def await_final(params: tuple[dict[str, Any], float]) -> list[dict[str, Any]]:
        expected, timeout = params
        await _await(connected, lambda log: log.final_at(expected) is not None, timeout)
        return [s.log.final_summary(expected) for s in connected]

    await answer_commands(
        index,
        commands,
        out,
        {
            "await_event": await_event,
            "storm": lambda plan: _storm(connected, plan, http, options),
            "await_final": await_final,
            "messages": lambda window: [s.log.messages(*window) for s in connected],
        },
    )
    await disconnect_all(connected, http)


def storm_worker_main(
    index: int,
    specs: list[VoterSpec],
    options: StormOptions,
    commands: Connection,
    out: Connection,
) -> None:
    """Entry point of a vote_storm client worker process."""
    run_worker(index, out, _storm_worker(index, specs, options, commands, out))


# -- the plan -------------------------------------------------------------------------------


def _share(fraction: float, n: int) -> int:
    """round(fraction * n), at least 1 when the fraction is not 0."""
    return 0 if fraction <= 0 else max(1, round(fraction * n))


def plan_voters(cookies: list[str], workshop_id: int, args: argparse.Namespace) -> list[VoterSpec]:
    """Who does what, and when: roles, choices and moments, drawn with ``--seed``.

    Roles go to disjoint sets of phones; the reconnecting ones alternate between
    ``reconnect`` and ``lost_ack``. A few phones block (with a reason), the rest
    agree, disagree or abstain. Moments are spread evenly over the storm, in a
    random order.
    """
    n = len(cookies)
    rng = random.Random(args.seed)
    phones = list(range(n))
    rng.shuffle(phones)
    roles = [PLAIN] * n
    cursor = 0
    reconnecting = [RECONNECT, LOST_ACK]
    for role, count in (
        (DUPLICATE, _share(args.duplicates, n)),
        ("reconnecting", _share(args.reconnects, n)),
        (CHANGER, _share(args.changers, n)),
    ):
        for k, phone in enumerate(phones[cursor : cursor + count]):
            roles[phone] = reconnecting[k % 2] if role == "reconnecting" else role
        cursor += count
    blocks = set(rng.sample(range(n), min(n, _share(args.blocks, n))))
    moments = list(range(n))
    rng.shuffle(moments)
    specs = []
    for i, cookie in enumerate(cookies):
        if i in blocks:
            choice = "block"
        else:
            choice = rng.choices(("agree", "disagree", "abstain"), weights=(5, 3, 2))[0]
        specs.append(
            VoterSpec(
                {"workshop_id": workshop_id, "screen": "phone"},
                cookie,
                index=i,
                role=roles[i],
                offset=(moments[i] + 0.5) / n * args.storm_seconds,
                choice=choice,
                reason=f"The budget for phone {i}'s district is not secured" if i in blocks else "",
                first_choice=("disagree" if choice == "agree" else "agree")
                if roles[i] == CHANGER
                else "",
            )
        )
    return specs


# -- checking and figures ---------------------------------------------------------------------


def check_acks(specs: list[VoterSpec], sends: list[dict[str, Any]]) -> tuple[dict, list[str]]:
    """Each phone's ballot as its acks confirm it, and what is wrong with the acks.

    Returns (``ballots``: phone -> (choice, reason) for phones whose final
    ballot was acked ok, ``problems``).
    """
    problems: list[str] = []
    by_phone: dict[int, list[dict[str, Any]]] = {}
    for record in sends:
        by_phone.setdefault(record["phone"], []).append(record)
    ballots: dict[int, tuple[str, str]] = {}
    for spec in specs:
        records = by_phone.get(spec.index, [])
        if not records:
            problems.append(f"phone {spec.index}: sent no vote")
        for record in records:
            ack = record["ack"]
            if ack is None:
                if not (spec.role == LOST_ACK and record["what"] == "first"):
                    problems.append(f"phone {spec.index}: no ack for its {record['what']} vote")
                continue
            if not ack.get("ok"):
                problems.append(f"phone {spec.index}: {record['what']} vote refused: {ack}")
                continue
            changed = record["what"] == "change"
            wanted = (record["choice"], record["reason"], changed, 1)
            got = (ack.get("choice"), ack.get("reason"), ack.get("changed"), ack.get("round"))
            if got != wanted:
                problems.append(f"phone {spec.index}: {record['what']} ack {got} != {wanted}")
        by_id: dict[str, list[Any]] = {}
        for record in records:
            if record["ack"] is not None:
                by_id.setdefault(record["action_id"], []).append(record["ack"])
        for acks in by_id.values():
            if any(a != acks[0] for a in acks):
                problems.append(f"phone {spec.index}: one action id, different acks: {acks}")
        last = records[-1] if records else None
        if last is not None and isinstance(last["ack"], dict) and last["ack"].get("ok"):
            ballots[spec.index] = (last["choice"], last["reason"])
    return ballots, problems


def expected_count(poll_id: int, ballots: dict[int, tuple[str, str]]) -> dict[str, Any]:
    counts = Counter(choice for choice, _reason in ballots.values())
    return {
        "poll_id": poll_id,
        "turnout": len(ballots),
        "counts": {choice: counts.get(choice, 0) for choice in CHOICES},
    }


def _ms(later: int | None, earlier: int) -> float | None:
    return None if later is None else (later - earlier) / 1e6


# -- one run ----------------------------------------------------------------------------------


@dataclass
class Setup:
    """The workshop on its vote stage with a draft poll, the console and its log."""

    app: AppWorkshop
    console: TriggerClient
    console_log: ScreenLog
    poll_id: int
    cookies: list[str]
    projector_key: str


def set_up(app: AppWorkshop, clients: int, args: argparse.Namespace) -> Setup:
    """Join the phones, connect the console, go to the vote stage and draft the poll."""
    cookies = join_phones(app, clients, threads=args.join_threads)
    key = projector_key(app.facilitator, app.base, app.workshop_id)
    console_log = ScreenLog("console")
    console = console_client(
        app,
        {
            "transient": console_log.on_transient,
            "event": console_log.on_event,
            "disconnect": console_log.on_disconnect,
        },
    )
    try:
        goto_stage(console, "vote")
        ack = console.call(
            "poll:create",
            {
                "action_id": action_id(),
                "title": "Adopt the retention package",
                "proposal": "Rural allowances and faster hiring of graduates",
                "method": "consensus",
                "results": "live",
                "anonymous": True,
            },
        )
        if not ack.get("ok"):
            raise RuntimeError(f"poll:create failed: {ack}")
    except BaseException:
        console.close()
        raise
    return Setup(app, console, console_log, ack["poll"]["id"], cookies, key)


def start_storm_pools(setup: Setup, specs: list[VoterSpec], args: argparse.Namespace) -> dict:
    """The projector's worker and the phones' workers, connected; returns them and failures."""
    app = setup.app
    projector = VoterSpec(
        {"workshop_id": app.workshop_id, "screen": "projector", "key": setup.projector_key}
    )
    plans = {
        "projector": ([projector], StormOptions(url=app.base, kind="projector"), 1),
        "phones": (specs, StormOptions(url=app.base, kind="phone"), args.workers),
    }
    pools, failed = start_pools(plans, storm_worker_main, args.connect_concurrency)
    return {"pools": pools, "failed": failed}


def ask_screens(pools: dict[str, ClientPool], command: tuple[str, Any], timeout: float) -> list:
    """Send ``command`` to every worker; the per-screen replies, flattened."""
    return [item for reply in ask_all(pools, command, timeout) for item in reply]


def await_event(setup: Setup, pools: dict[str, ClientPool], event_type: str, timeout: float):
    """Every screen's first ``event_type`` (the console's included)."""
    screens = ask_screens(pools, ("await_event", (event_type, timeout)), timeout + 30)
    deadline = time.monotonic() + timeout
    while event_type not in setup.console_log.events and time.monotonic() < deadline:
        time.sleep(0.01)
    return [*screens, setup.console_log.event_summary(event_type)]


def open_poll(setup: Setup, pools: dict[str, ClientPool]) -> float:
    """Open the poll; milliseconds until every screen had ``poll:opened``."""
    sent = time.time_ns()
    ack = setup.console.call("poll:open", {"action_id": action_id(), "poll_id": setup.poll_id})
    if not ack.get("ok"):
        raise RuntimeError(f"poll:open failed: {ack}")
    opened = await_event(setup, pools, POLL_OPENED, timeout=60)
    missing = sum(1 for s in opened if s["at"] is None)
    last_ms = max(_ms(s["at"], sent) or 0.0 for s in opened)
    log.info(
        "poll %d open on every screen after %.0f ms%s",
        setup.poll_id,
        last_ms,
        f" ({missing} screens never saw it)" if missing else "",
    )
    return last_ms


def close_poll(setup: Setup, pools: dict[str, ClientPool]) -> dict[str, Any]:
    """Close the poll: the outcome in the console's ack, and every screen's ``poll:closed``."""
    sent = time.time_ns()
    close = setup.console.call("poll:close", {"action_id": action_id(), "poll_id": setup.poll_id})
    acked = time.time_ns()
    if not close.get("ok"):
        raise RuntimeError(f"poll:close failed: {close}")
    return {
        "close_sent_ns": sent,
        "close_ack_ms": (acked - sent) / 1e6,
        "close_outcome": _outcome_counts(close["round"]["outcome"]),
        "closed": await_event(setup, pools, POLL_CLOSED, timeout=60),
    }


def run_storm(
    setup: Setup, pools: dict[str, ClientPool], specs: list[VoterSpec], args: argparse.Namespace
) -> dict[str, Any]:
    """Open the poll, run the storm, wait for the final count everywhere, close the poll."""
    open_last_ms = open_poll(setup, pools)
    server, console_log = setup.app.server, setup.console_log
    rss_idle = server.rss_mb()
    ack_timeout = 30.0
    plan = StormPlan(setup.poll_id, time.time() + 1.0, ack_timeout)
    storm_start_ns = int(plan.start_at * 1e9)
    log.info("storm: %d phones vote within %.1fs", len(specs), args.storm_seconds)
    for pool in pools.values():
        pool.send(("storm", plan))
    time.sleep(max(0.0, plan.start_at - time.time()))
    watch = ResourceWatch(server.pid, [pid for p in pools.values() for pid in p.pids]).start()
    stormed = [
        r
        for pool in pools.values()
        for r in pool.replies("storm", args.storm_seconds + 2 * ack_timeout + 60)
    ]
    sends = [record for r in stormed for record in r["sends"]]
    ballots, problems = check_acks(specs, sends)
    problems += [error for r in stormed for error in r["errors"]]
    expected = expected_count(setup.poll_id, ballots)
    last_send = max(r["sent_ns"] for r in sends)
    log.info(
        "%d votes sent in %.2fs, %d ballots acked; expecting %s",
        len(sends),
        (last_send - min(r["sent_ns"] for r in sends)) / 1e9,
        len(ballots),
        expected["counts"],
    )

    timeout = args.final_timeout
    finals = ask_screens(pools, ("await_final", (expected, timeout)), timeout + 30)
    deadline = time.monotonic() + timeout
    while console_log.final_at(expected) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    finals.append(console_log.final_summary(expected))
    time.sleep(0.3)  # a count still on its way would be counted, and checked, too
    window_end_ns = time.time_ns()
    resources = watch.stop()
    messages = ask_screens(pools, ("messages", (storm_start_ns, window_end_ns)), 60)
    messages.append(console_log.messages(storm_start_ns, window_end_ns))
    return {
        "specs": specs,
        "sends": sends,
        "ballots": ballots,
        "problems": problems,
        "expected": expected,
        "last_send_ns": last_send,
        "storm_start_ns": storm_start_ns,
        "storm_end_ns": storm_start_ns + int(args.storm_seconds * 1e9),
        "reconnect_ms": [ms for r in stormed for ms in r["reconnect_ms"]],
        "finals": finals,
        "messages": messages,
        "resources": resources,
        "rss_idle": rss_idle,
        "open_last_ms": open_last_ms,
        **close_poll(setup, pools),
    }


def storm_figures(raw: dict[str, Any]) -> dict[str, Any]:
    specs, sends, expected = raw["specs"], raw["sends"], raw["expected"]
    problems = list(raw["problems"])
    roles = Counter(spec.role for spec in specs)
    acked = [r["ack_ns"] for r in sends if r["ack_ns"] is not None]
    acks = [_ms(r["ack_ns"], r["sent_ns"]) for r in sends if r["ack_ns"] is not None]
    # How late the phones sent their first vote (a reconnecting one sends after reconnecting).
    roles_by_phone = {spec.index: spec.role for spec in specs}
    lag = [
        (r["sent_ns"] - r["planned_ns"]) / 1e6
        for r in sends
        if r["what"] == "first" and roles_by_phone[r["phone"]] != RECONNECT
    ]
    lost = [r for r in sends if r["what"] == "first" and roles_by_phone[r["phone"]] == LOST_ACK]
    refused = [r for r in sends if isinstance(r["ack"], dict) and not r["ack"].get("ok")]

    # The final count at every screen: when it came, and that nothing else came after it.
    finals = raw["finals"]
    want_last = {
        "turnout": expected["turnout"],
        "ballots": expected["turnout"],
        "counts": expected["counts"],
    }
    final_ms = [_ms(f["final_ns"], raw["last_send_ns"]) for f in finals]
    seen = [ms for ms in final_ms if ms is not None]
    without_final = len(final_ms) - len(seen)
    wrong_last = [f for f in finals if f["last"] != want_last]
    for f in wrong_last[:5]:
        problems.append(f"a {f['kind']} ended with the count {f['last']}, not {want_last}")
    by_kind = {
        kind: [ms for f, ms in zip(finals, final_ms, strict=True) if f["kind"] == kind]
        for kind in ("projector", "console")
    }

    # The closed outcome: in the close ack and in every screen's poll:closed.
    reasons = sorted((c, r) for c, r in raw["ballots"].values() if r)
    close_outcome = raw["close_outcome"] or {}
    outcome_counts = {k: close_outcome.get(k) for k in ("counts", "ballots")}
    closed_ok = (
        outcome_counts == {"counts": expected["counts"], "ballots": expected["turnout"]}
        and close_outcome.get("turnout") == expected["turnout"]
    )
    if not closed_ok:
        problems.append(f"the close ack's outcome {close_outcome} != {want_last}")
    closed = raw["closed"]
    close_ms = [_ms(s["at"], raw["close_sent_ns"]) for s in closed]
    without_closed = sum(1 for ms in close_ms if ms is None)
    closed_wrong = [s for s in closed if s["outcome"] != close_outcome]
    for s in closed_wrong[:5]:
        problems.append(f"a {s['kind']}'s poll:closed outcome {s['outcome']} != the ack's")
    reasons_exact = close_outcome.get("reasons") == reasons

    # What the server sent in the storm window, as the clients received it.
    messages = raw["messages"]
    total: Counter[str] = Counter()
    for m in messages:
        total.update(m["kinds"])
    per_screen_counts = [m["poll_count"] for m in messages]
    [projector_counts] = [m["count_ns"] for m in messages if m["kind"] == "projector"]
    gaps = [(b - a) / 1e6 for a, b in zip(projector_counts, projector_counts[1:], strict=False)]
    log.debug(
        "poll:count at the projector, ms after the storm started: %s",
        [round(_ms(at, raw["storm_start_ns"]) or 0) for at in projector_counts],
    )
    log.debug(
        "acks, ms after the storm started (every 25th): %s",
        [round(_ms(at, raw["storm_start_ns"]) or 0) for at in sorted(acked)[::25]],
    )
    planned_disconnects = roles[RECONNECT] + roles[LOST_ACK]
    disconnects = sum(m["disconnects"] for m in messages) - planned_disconnects

    tally_exact = (
        without_final == 0
        and not wrong_last
        and closed_ok
        and without_closed == 0
        and not closed_wrong
        and expected["turnout"] == len(specs)
    )
    resources = raw["resources"]
    figures: dict[str, Any] = {
        "voters": len(raw["ballots"]),
        "screens": len(finals),
        "ack_p50_ms": rounded(median(acks)),
        "ack_p99_ms": rounded(percentile(acks, 99)),
        "ack_max_ms": rounded(max(acks) if acks else None),
        "final_tally_ms": rounded(max(seen) if seen and not without_final else None),
        "final_tally_p50_ms": rounded(median(seen)),
        "final_tally_after_storm_ms": rounded(
            _ms(max(f["final_ns"] for f in finals), raw["storm_end_ns"])
            if seen and not without_final
            else None
        ),
        "final_tally_projector_ms": rounded(max(by_kind["projector"], default=None)),
        "final_tally_console_ms": rounded(max(by_kind["console"], default=None)),
        "close_ack_ms": rounded(raw["close_ack_ms"]),
        "close_p50_ms": rounded(median([ms for ms in close_ms if ms is not None])),
        "close_last_ms": rounded(max([ms for ms in close_ms if ms is not None], default=None)),
        "open_last_ms": rounded(raw["open_last_ms"]),
        "last_vote_s": rounded((raw["last_send_ns"] - raw["storm_start_ns"]) / 1e9),
        "last_ack_s": rounded((max(acked) - raw["storm_start_ns"]) / 1e9 if acked else None),
        "send_lag_p99_ms": rounded(percentile(lag, 99)),
        "messages_sent": sum(total.values()),
        "count_messages": sum(per_screen_counts),
        "transient_messages": total["transient"],
        "count_gap_p50_ms": rounded(median(gaps)),
        "count_gap_max_ms": rounded(max(gaps, default=None)),
        "count_messages_per_screen": rounded(median(per_screen_counts)),
        "ack_messages": total["ack"],
        "event_messages": total["event"],
        "snapshot_messages": total["snapshot"],
        "tally_exact": tally_exact,
        "acks_exact": not raw["problems"],
        "reasons_exact": reasons_exact,
        "expected_counts": expected["counts"],
        "closed_counts": close_outcome.get("counts"),
        "votes_sent": len(sends),
        "votes_failed": len(refused),
        "votes_unacked": sum(1 for r in sends if r["ack"] is None and r not in lost),
        "duplicates": roles[DUPLICATE],
        "duplicate_sends": sum(1 for r in sends if r["what"] == "duplicate"),
        "changers": roles[CHANGER],
        "reconnects": planned_disconnects,
        "reconnect_p50_ms": rounded(median(raw["reconnect_ms"])),
        "acks_lost": sum(1 for r in lost if r["ack"] is None),
        "blocks": expected["counts"]["block"],
        "screens_without_final": without_final,
        "screens_without_closed": without_closed,
        "disconnects": disconnects,
        "window_s": resources["seconds"],
        "server_cpu_s": resources["server_cpu_s"],
        "server_cpu_pct": resources["server_cpu_pct"],
        "server_rss_mb": resources["server_rss_mb"],
        "server_rss_mb_idle": rounded(raw["rss_idle"], 1),
        "clients_cpu_pct": resources["clients_cpu_pct"],
        "problems": problems[:10],
    }
    return figures


def measure(folder: Path, clients: int, args: argparse.Namespace) -> dict[str, Any]:
    """One fresh server: the storm, the final count and the close."""
    app = prepare_app(folder, title=f"Bench vote storm N={clients}")
    with measuring([app.server]) as cleanup:
        setup = set_up(app, clients, args)
        cleanup.callback(setup.console.close)
        specs = plan_voters(setup.cookies, app.workshop_id, args)
        started = start_storm_pools(setup, specs, args)
        pools = started["pools"]
        for pool in pools.values():
            cleanup.callback(pool.stop)
        raw = run_storm(setup, pools, specs, args)
        figures = storm_figures(raw)
        figures["connect_failed"] = started["failed"]
    figures["server_errors"] = app.server.errors()
    log.info(
        "ack p99 %s ms, final tally everywhere %s ms after the last vote, exact %s",
        figures["ack_p99_ms"],
        figures["final_tally_ms"],
        figures["tally_exact"],
    )
    for problem in figures["problems"]:
        log.warning("problem: %s", problem)
    return figures


# -- the whole scenario ------------------------------------------------------------------------


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures over the repeats: counts summed, flags and-ed, other numbers the median."""
    if len(runs) == 1:
        return dict(runs[0])
    combined: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [r[key] for r in runs]
        if key in FLAGS:
            combined[key] = all(values)
        elif key == "problems":
            combined[key] = [p for r in runs for p in r[key]][:10]
        elif key in SUMMED:
            combined[key] = sum(values)
        elif isinstance(first, dict):
            combined[key] = first if all(v == first for v in values) else values
        else:
            combined[key] = median_figure(values)
    for key in ("ack_p99_ms", "final_tally_ms", "close_last_ms", "messages_sent"):
        combined[f"{key}_runs"] = [r[key] for r in runs]
    return combined


def run(args: argparse.Namespace) -> dict[str, Any]:
    counts = args.clients or DEFAULT_CLIENTS
    if len(counts) != 1:
        raise ValueError("vote_storm measures one number of phones at a time, e.g. --clients 500")
    clients = counts[0]
    for name in ("duplicates", "reconnects", "changers", "blocks"):
        if not 0 <= getattr(args, name) <= 1:
            raise ValueError(f"--{name} is a share of the phones, from 0 to 1")
    if args.duplicates + args.reconnects + args.changers > 1:
        raise ValueError("--duplicates, --reconnects and --changers add up to more than 1")
    return repeated_run(
        NAME,
        args,
        clients,
        lambda folder: measure(folder, clients, args),
        combine,
        GOALS,
        {"storm_seconds": args.storm_seconds},
        repeat=args.repeat or DEFAULT_REPEAT,
        prefix="bench-vote-storm-",
    )


def format_table(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"vote_storm, {result['clients']} phones voting within {result['storm_seconds']}s, "
            "times in ms",
            f"ack p50 {result['ack_p50_ms']}, p99 {result['ack_p99_ms']}, "
            f"max {result['ack_max_ms']}",
            f"final tally on every screen {result['final_tally_ms']} after the last vote "
            f"(median screen {result['final_tally_p50_ms']}, projector "
            f"{result['final_tally_projector_ms']})",
            f"close: ack {result['close_ack_ms']}, poll:closed at every screen "
            f"{result['close_last_ms']}",
            f"votes sent {result['votes_sent']} ({result['duplicate_sends']} duplicates, "
            f"{result['reconnects']} phones reconnected, {result['changers']} changed), "
            f"failed {result['votes_failed']}, unacked {result['votes_unacked']}",
            f"messages the server sent {result['messages_sent']} "
            f"({result['count_messages']} poll:count)",
            f"tally exact {result['tally_exact']}, acks exact {result['acks_exact']}, "
            f"counts {result['expected_counts']}",
            f"server CPU {result['server_cpu_pct']}% of a core, RSS {result['server_rss_mb']} MB",
            f"goals met: {result['goals_met']}",
        ]
    )
