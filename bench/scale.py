"""Scenario ``scale``: one room of phones spread over 1, 2 and 4 server processes.

Each repeat makes a fresh PostgreSQL database (SQLite in WAL mode when
PostgreSQL does not answer: ``database`` in the figures says which) and a secret
key, then measures each number of processes P (``--processes``, default 1,2,4)
on fresh processes: P ``facilitator serve`` (eventlet) on that database and one
Redis message queue. The first configuration's process 0 serves the facilitator
creating the workshop, and the phones join over HTTP (phone i through process
i mod P) before any socket connects; later configurations reuse the workshop
and the phones' cookies. The console client (in this process) connects to
process 0. Then the room grows in steps (``--clients``, default 250, 500, 1000,
1500): the new phones connect from fresh client worker processes, phone i to
process i mod P, and the console sends ``--rounds`` stage changes, each timed
from the send until the ``stage:changed`` event reaches each phone. The steps
stop after the first one past ``--room`` (1000, always measured) whose p99 is
over ``--limit-ms`` (200).

Clients are given to the processes directly, not through nginx: see
bench/README.md (``ip_hash`` hashes the first three bytes of the address, and
every bench client comes from 127.0.0.1; nginx would also take its share of the
same two cores).

Redis: by default the bench starts a ``redis-server`` of its own on a free port
(no disk): Socket.IO's pub/sub channel is the same for every installation and
Redis pub/sub ignores the database number, so servers of another test or bench
on the shared Redis would send their ``workshop:1`` events to these phones; and
its CPU is then this run's alone. ``--redis URL`` uses a running one instead.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import resource
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .common import (
    PASSWORD,
    AppWorkshop,
    ClientPool,
    ClientSpec,
    ServerProcess,
    TriggerClient,
    WorkerOptions,
    action_id,
    add_round_options,
    analyse_rounds,
    app_env,
    app_ready,
    app_server,
    console_client,
    create_facilitator,
    free_port,
    join_many,
    machine_figures,
    measuring,
    median,
    open_workshop,
    positive_list,
    process_cpu_seconds,
    rounded,
)
from .pdf import cpu_pressure_us

NAME = "scale"
DEFAULT_CLIENTS = [250, 500, 1000, 1500]
DEFAULT_PROCESSES = [1, 2, 4]
DEFAULT_ROUNDS = 10
DEFAULT_REPEAT = 3
ROOM = 1000
LIMIT_MS = 200.0
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
EVENT = "stage:goto"

#: Counts of problems, summed over repeats; other numbers are medians.
SUMMED = {"missing", "seq_gaps", "disconnects", "samples", "connect_failed", "server_errors"}

log = logging.getLogger("bench.scale")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scale scenario")
    group.add_argument(
        "--processes",
        type=positive_list,
        default=DEFAULT_PROCESSES,
        help="numbers of server processes to compare (default 1,2,4)",
    )
    group.add_argument(
        "--room",
        type=int,
        default=ROOM,
        help="the room size always measured, for the speed-up (default 1000)",
    )
    group.add_argument(
        "--limit-ms",
        type=float,
        default=LIMIT_MS,
        help="p99 a configuration must keep to hold a room (default 200)",
    )
    add_round_options(group, warmup=2, round_timeout=20, join_threads=8)
    group.add_argument(
        "--database",
        choices=("auto", "postgresql", "sqlite"),
        default="auto",
        help="auto: PostgreSQL when --postgres answers, else SQLite (default auto)",
    )
    group.add_argument(
        "--postgres",
        default=os.environ.get("FACILITATOR_BENCH_POSTGRES", POSTGRES),
        help="a PostgreSQL database to connect to; the bench creates and drops its own "
        f"beside it (default {POSTGRES})",
    )
    group.add_argument(
        "--redis",
        help="use this Redis (e.g. redis://127.0.0.1:6379/0) instead of starting one",
    )


# -- services -------------------------------------------------------------------------------


class Postgres:
    """Fresh databases on a PostgreSQL server, made and dropped through ``url``'s database."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.user = parts.username or "postgres"
        self.password = parts.password
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 5432
        self.admin_db = parts.path.lstrip("/") or "postgres"

    def _admin(self) -> Any:
        import pg8000.native

        return pg8000.native.Connection(
            self.user,
            host=self.host,
            port=self.port,
            database=self.admin_db,
            password=self.password,
            timeout=5,
        )

    def unavailable(self) -> str | None:
        try:
            self._admin().close()
        except Exception as exc:  # any failure to connect means: not here
            return f"{self.user}@{self.host}:{self.port}/{self.admin_db}: {exc}"
        return None

    def create(self) -> tuple[str, str]:
        """A new empty database: (its name, its URL)."""
        name = f"bench_scale_{secrets.token_hex(4)}"
        admin = self._admin()
        try:
            admin.run(f"CREATE DATABASE {name}")
        finally:
            admin.close()
        auth = self.user + (f":{self.password}" if self.password else "")
        return name, f"postgresql://{auth}@{self.host}:{self.port}/{name}"

    def drop(self, name: str) -> None:
        admin = self._admin()
        try:
            admin.run(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name",
                name=name,
            )
            admin.run(f"DROP DATABASE IF EXISTS {name}")
        finally:
            admin.close()


def backend_pids(database: str) -> list[int]:
    """PostgreSQL's processes serving ``database`` (``postgres: ... <database> ...``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            words = (entry / "cmdline").read_bytes().decode(errors="replace").split()
            if words and words[0].startswith("postgres:") and database in words:
                pids.append(int(entry.name))
    return pids


def start_redis(folder: Path) -> ServerProcess:
    """A ``redis-server`` of the bench's own on a free loopback port, without persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: install it or give --redis URL")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    redis = ServerProcess(
        "redis",
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        dict(os.environ),
        port,
        folder / "redis.log",
    )
    redis.start(timeout=20)
    return redis


def check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=3).ping()
    except Exception as exc:
        raise RuntimeError(f"the scale scenario needs Redis; {url}: {exc}") from None


def redis_cpu_seconds(url: str) -> float | None:
    """User + system CPU of the Redis server so far (its INFO, wherever it runs)."""
    import redis

    try:
        info = redis.Redis.from_url(url, socket_timeout=3).info("cpu")
    except Exception:
        return None
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


# -- CPU over a window ----------------------------------------------------------------------


def machine_busy_seconds() -> float | None:
    """CPU time the whole machine spent busy so far, all cores (/proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuWatch:
    """CPU of each part of the setup between :meth:`start` and :meth:`stop`."""

    servers: list[ServerProcess]
    pools: list[ClientPool]
    redis_url: str
    database: str | None  #: PostgreSQL database name; None for SQLite
    _start: dict[str, Any] = field(default_factory=dict)

    def _sample(self) -> dict[str, Any]:
        return {
            "at": time.monotonic(),
            "servers": [s.cpu_seconds() or 0.0 for s in self.servers],
            "clients": {pid: process_cpu_seconds(pid) or 0.0 for p in self.pools for pid in p.pids},
            "postgres": {
                pid: process_cpu_seconds(pid) or 0.0 for pid in backend_pids(self.database)
            }
            if self.database
            else {},
            "redis": redis_cpu_seconds(self.redis_url),
            "bench": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
            "machine": machine_busy_seconds(),
            "pressure_us": cpu_pressure_us(),
        }

    def start(self) -> None:
        self._start = self._sample()

    def stop(self, rounds: int) -> dict[str, Any]:
        """% of one core for each part, over the window; CPU ms per round of servers and
        clients; the CPU pressure (share of the window some task waited for a CPU)."""
        a, b = self._start, self._sample()
        seconds = max(b["at"] - a["at"], 1e-3)

        def pct(used: float | None) -> float | None:
            return rounded(None if used is None else used / seconds * 100, 1)

        def by_pid(key: str) -> float:
            return sum(cpu - a[key].get(pid, 0.0) for pid, cpu in b[key].items())

        servers = [end - begin for begin, end in zip(a["servers"], b["servers"], strict=True)]
        redis = None if None in (a["redis"], b["redis"]) else b["redis"] - a["redis"]
        ours = sum(servers) + by_pid("clients") + by_pid("postgres") + (redis or 0.0)
        ours += b["bench"] - a["bench"]
        machine = None if None in (a["machine"], b["machine"]) else b["machine"] - a["machine"]
        pressure = None
        if a["pressure_us"] is not None and b["pressure_us"] is not None:
            pressure = (b["pressure_us"] - a["pressure_us"]) / 1e6 / seconds * 100
        return {
            "window_s": rounded(seconds),
            "servers_cpu_pct": [pct(s) for s in servers],
            "redis_cpu_pct": pct(redis),
            "postgres_cpu_pct": pct(by_pid("postgres")) if self.database else None,
            "clients_cpu_pct": pct(by_pid("clients")),
            "bench_cpu_pct": pct(b["bench"] - a["bench"]),
            "machine_cpu_pct": pct(machine),
            "other_cpu_pct": pct(None if machine is None else max(0.0, machine - ours)),
            "servers_cpu_ms_per_round": rounded(sum(servers) * 1000 / max(rounds, 1)),
            "clients_cpu_ms_per_round": rounded(by_pid("clients") * 1000 / max(rounds, 1)),
            "cpu_pressure_pct": rounded(pressure, 1),
        }


# -- one configuration ----------------------------------------------------------------------


@dataclass
class Services:
    """Where the processes keep their state: the database (a fresh one per configuration)
    and the message queue."""

    folder: Path
    postgres: Postgres | None
    redis_url: str
    databases: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "postgresql" if self.postgres is not None else "sqlite"

    def new_database(self, folder: Path) -> tuple[str | None, str]:
        """(PostgreSQL database name or None, URL) of a fresh database."""
        if self.postgres is None:
            return None, f"sqlite:///{folder / 'shared.sqlite3'}"
        name, url = self.postgres.create()
        self.databases.append(name)
        return name, url

    def drop(self, name: str | None) -> None:
        if self.postgres is not None and name is not None:
            with contextlib.suppress(Exception):
                self.postgres.drop(name)
            self.databases.remove(name)


@dataclass
class Shared:
    """What the configurations of one repeat share: the database and the secret key,
    the workshop made on the first one's process 0 and the phones joined there. Each
    configuration starts fresh processes on it; cookies signed by one process are
    good on the next, as behind one proxy."""

    database: str | None  #: PostgreSQL database name; None for SQLite
    url: str
    secret: str = field(default_factory=lambda: secrets.token_hex(32))
    migrated: bool = False
    facilitator: Any = None  #: the facilitator's logged-in requests.Session
    workshop_id: int = 0
    code: str = ""
    cookies: list[str] = field(default_factory=list)


def start_processes(folder: Path, count: int, shared: Shared, redis_url: str) -> list:
    """``count`` app processes on the shared database, message queue and secret key."""
    envs = []
    for k in range(count):
        instance = folder / f"p{k}"
        instance.mkdir(parents=True, exist_ok=True)
        env = app_env(instance)
        env.update(
            {
                "FACILITATOR_DATABASE_URL": shared.url,
                "FACILITATOR_MESSAGE_QUEUE": redis_url,
                "FACILITATOR_SECRET_KEY": shared.secret,
                # No PDFs here: no warm render service beside each process.
                "FACILITATOR_PDF_PREWARM": "0",
            }
        )
        envs.append((instance, env))
    if not shared.migrated:
        # Creating the account migrates the database, once, before any process starts.
        create_facilitator(envs[0][1], "bench", PASSWORD)
        shared.migrated = True
    servers = [
        app_server(instance, free_port(), env, name=f"app process {k}")
        for k, (instance, env) in enumerate(envs)
    ]
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_ready(ready=app_ready(server.port))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def workshop_on(servers: list[ServerProcess], shared: Shared, phones: int, args: Any) -> Any:
    """The shared workshop as seen from ``servers[0]``; made, and ``phones`` joined
    through the servers, by the first configuration of the repeat."""
    base = f"http://127.0.0.1:{servers[0].port}"
    if shared.facilitator is None:
        app = open_workshop(servers[0], "Bench scale")
        shared.facilitator, shared.workshop_id, shared.code = (
            app.facilitator,
            app.workshop_id,
            app.code,
        )
        started = time.monotonic()
        bases = [f"http://127.0.0.1:{s.port}" for s in servers]
        shared.cookies = join_many(bases, app.code, phones, threads=args.join_threads)
        log.info("%d phones joined in %.1fs", phones, time.monotonic() - started)
        return app
    return AppWorkshop(servers[0], base, shared.facilitator, shared.workshop_id, shared.code)


def other_stages(console: TriggerClient) -> list[dict[str, Any]]:
    """Two stages that are not the current one, to alternate between."""
    assert console.snapshot is not None
    current = console.snapshot["current_stage_id"]
    stages = [s for s in console.snapshot["stages"] if s["id"] != current][:2]
    if len(stages) < 2:
        raise RuntimeError("the workshop needs at least three stages")
    return stages


@dataclass
class Room:
    """The processes, the workshop, the console and the phones connected so far."""

    servers: list[ServerProcess]
    app: AppWorkshop
    console: TriggerClient
    stages: list[dict[str, Any]]
    cookies: list[str]
    pools: list[ClientPool] = field(default_factory=list)
    connected: int = 0  #: phones given to the pools so far
    connect_failed: int = 0

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{s.port}" for s in self.servers]

    def grow(self, clients: int, args: argparse.Namespace) -> None:
        """Connect phones ``connected`` .. ``clients - 1`` from fresh client workers."""
        auth = {"workshop_id": self.app.workshop_id, "screen": "phone"}
        bases = self.bases
        specs = [
            ClientSpec(dict(auth), self.cookies[i], url=bases[i % len(bases)])
            for i in range(self.connected, clients)
        ]
        options = WorkerOptions(url=bases[0], connect_concurrency=args.connect_concurrency)
        pool = ClientPool(specs, options, workers=args.workers)
        self.pools.append(pool)
        started = time.monotonic()
        pool.start()
        stats = pool.wait_connected(timeout=60 + len(specs) * 0.2)
        self.connected = clients
        self.connect_failed += stats["failed"]
        log.info(
            "P=%d: %d phones more connected in %.1fs (%d in the room)%s",
            len(self.servers),
            stats["connected"],
            time.monotonic() - started,
            clients,
            f"; {stats['failed']} failed: {stats['errors'][:2]}" if stats["failed"] else "",
        )

    def rounds(self, args: argparse.Namespace, watch: CpuWatch) -> dict[str, Any]:
        """``--warmup`` + ``--rounds`` stage changes, one at a time; the latency figures."""
        emitted: dict[int, int] = {}
        acks: list[float] = []
        late = 0
        for i in range(args.warmup + args.rounds):
            if i == args.warmup:
                watch.start()
            stage = self.stages[i % 2]
            sent = time.time_ns()
            ack = self.console.call(
                EVENT, {"action_id": action_id(), "stage_id": stage["id"]}, timeout=60
            )
            acked = time.time_ns()
            if not isinstance(ack, dict) or not ack.get("ok") or "seq" not in ack:
                raise RuntimeError(f"{EVENT} failed: {ack!r}")
            if i >= args.warmup:
                emitted[ack["seq"]] = sent
                acks.append((acked - sent) / 1e6)
            deadline = time.monotonic() + args.round_timeout
            for pool in self.pools:
                if not pool.wait_round(ack["seq"], max(0.1, deadline - time.monotonic())):
                    late += 1
            time.sleep(args.gap_ms / 1000)
        cpu = watch.stop(args.rounds)
        if late:
            log.warning("%d rounds did not reach every phone in time", late)
        phones = [p for pool in self.pools for p in pool.collect(timeout=120)]
        figures = analyse_rounds(emitted, phones, expected=self.connected)
        figures["ack_p50_ms"] = rounded(median(acks))
        figures.update(cpu)
        return figures

    def close(self) -> None:
        for pool in self.pools:
            pool.stop()
        self.console.close()


def measure_repeat(
    folder: Path, order: list[int], steps: list[int], services: Services, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Every configuration once, in ``order``, on one fresh database: a row per step."""
    database, url = services.new_database(folder)
    shared = Shared(database, url)
    rows: list[dict[str, Any]] = []
    try:
        for processes in order:
            servers = start_processes(
                folder / f"p{processes}", processes, shared, services.redis_url
            )
            measured = measure_steps(servers, shared, steps, services, args)
            errors = sum(server.errors() for server in servers)
            for row in measured:
                row["server_errors"] = errors
                row["loadavg"] = round(os.getloadavg()[0], 2)
            rows += measured
    finally:
        services.drop(database)
    return rows


def measure_steps(
    servers: list[ServerProcess],
    shared: Shared,
    steps: list[int],
    services: Services,
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    """The room grown step by step on running ``servers`` (stopped at the end)."""
    processes = len(servers)
    rows: list[dict[str, Any]] = []
    with measuring(servers) as cleanup:
        app = workshop_on(servers, shared, max(steps), args)
        console = console_client(app)
        room = Room(servers, app, console, other_stages(console), shared.cookies)
        cleanup.callback(room.close)
        for clients in steps:
            room.grow(clients, args)
            watch = CpuWatch(servers, room.pools, services.redis_url, shared.database)
            row = {"processes": processes, "clients": clients, **room.rounds(args, watch)}
            row["connect_failed"] = room.connect_failed
            rows.append(row)
            log.info(
                "P=%d N=%d: p50 %s ms, p99 %s ms, last %s ms; CPU %% of a core: servers %s, "
                "redis %s, postgres %s, clients %s; machine %s%% of %d cores",
                processes,
                clients,
                row["p50_ms"],
                row["p99_ms"],
                row["last_ms"],
                row["servers_cpu_pct"],
                row["redis_cpu_pct"],
                row["postgres_cpu_pct"],
                row["clients_cpu_pct"],
                row["machine_cpu_pct"],
                os.cpu_count(),
            )
            if clients >= args.room and (row["p99_ms"] or 0) > args.limit_ms:
                break
    return rows


# -- the whole scenario ---------------------------------------------------------------------


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One (processes, clients) over the repeats: medians, sums for counts of problems."""
    combined: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [r.get(key) for r in runs]
        if isinstance(first, list):  # per process: the median of each
            combined[key] = [
                rounded(median(v for v in column if v is not None))
                for column in zip(*values, strict=True)
            ]
        elif key in SUMMED:
            combined[key] = sum(v or 0 for v in values)
        elif key in ("processes", "clients"):
            combined[key] = first
        else:
            numbers = [v for v in values if isinstance(v, int | float)]
            combined[key] = rounded(median(numbers)) if numbers else None
    combined["repeats"] = len(runs)
    if len(runs) > 1:
        combined["p99_ms_runs"] = [r["p99_ms"] for r in runs]
        combined["p50_ms_runs"] = [r["p50_ms"] for r in runs]
    return combined


def largest_rooms(results: list[dict[str, Any]], limit: float) -> dict[str, int | None]:
    """Per number of processes, the largest step whose p99 (and every smaller step's)
    stayed within ``limit``; None when even the smallest did not."""
    rooms: dict[str, int | None] = {}
    for processes in sorted({r["processes"] for r in results}):
        largest = None
        for row in sorted(
            (r for r in results if r["processes"] == processes), key=lambda r: r["clients"]
        ):
            if row["p99_ms"] is None or row["p99_ms"] > limit or row["missing"]:
                break
            largest = row["clients"]
        rooms[str(processes)] = largest
    return rooms


def speedup(results: list[dict[str, Any]], room: int, a: int, b: int, key: str) -> float | None:
    """``key`` with ``a`` processes over ``key`` with ``b``, at ``room`` phones."""
    rows = {r["processes"]: r for r in results if r["clients"] == room}
    if a not in rows or b not in rows or not rows[b].get(key) or rows[a].get(key) is None:
        return None
    return round(rows[a][key] / rows[b][key], 2)


def open_services(folder: Path, args: argparse.Namespace, stack: contextlib.ExitStack) -> Services:
    postgres: Postgres | None = None
    if args.database != "sqlite":
        candidate = Postgres(args.postgres)
        reason = candidate.unavailable()
        if reason is None:
            postgres = candidate
        elif args.database == "postgresql":
            raise RuntimeError(f"PostgreSQL does not answer: {reason}")
        else:
            log.warning("PostgreSQL does not answer (%s): the processes share SQLite", reason)
    if args.redis:
        check_redis(args.redis)
        redis_url = args.redis
    else:
        redis = start_redis(folder / "redis")
        stack.callback(redis.stop)
        redis_url = f"redis://127.0.0.1:{redis.port}/0"
    services = Services(folder, postgres, redis_url)

    def drop_left() -> None:
        for name in list(services.databases):
            services.drop(name)

    stack.callback(drop_left)
    return services


def run(args: argparse.Namespace) -> dict[str, Any]:
    steps = sorted(set(args.clients or DEFAULT_CLIENTS))
    if args.room not in steps:
        steps = sorted({*steps, args.room})
    args.rounds = args.rounds or DEFAULT_ROUNDS
    repeat = args.repeat or DEFAULT_REPEAT
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    runs: dict[tuple[int, int], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp, contextlib.ExitStack() as stack:
        services = open_services(Path(tmp), args, stack)
        log.info("database %s, message queue %s", services.kind, services.redis_url)
        for r in range(repeat):
            # Each repeat measures every configuration, in turn forwards and backwards,
            # so a passing disturbance or a drift of the machine's load lands on all of
            # them rather than on one configuration's runs.
            order = args.processes if r % 2 == 0 else args.processes[::-1]
            for row in measure_repeat(Path(tmp) / f"r{r}", order, steps, services, args):
                runs.setdefault((row["processes"], row["clients"]), []).append(row)
    results = [combine(runs[key]) for key in sorted(runs)]
    room = args.room
    return {
        "scenario": NAME,
        "async_mode": "eventlet",
        "database": services.kind,
        "message_queue": "redis (the bench's own redis-server)" if not args.redis else args.redis,
        "clients_to_processes": "direct: phone i connects to process i mod P (no proxy)",
        "processes": args.processes,
        "steps": steps,
        "room": room,
        "limit_ms": args.limit_ms,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "repeat": repeat,
        "workers": args.workers,
        "gap_ms": args.gap_ms,
        "results": results,
        "largest_room_p99_200ms": largest_rooms(results, LIMIT_MS),
        "largest_room_within_limit": largest_rooms(results, args.limit_ms),
        "speedup_1_to_2": speedup(results, room, 1, 2, "p99_ms"),
        "speedup_1_to_2_p50": speedup(results, room, 1, 2, "p50_ms"),
        "speedup_1_to_2_last": speedup(results, room, 1, 2, "last_ms"),
        "speedup_1_to_4": speedup(results, room, 1, 4, "p99_ms"),
        **machine_figures(started, load_start),
    }


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"scale, {result['database']} + redis, {result['rounds']} rounds x "
        f"{result['repeat']} repeats, times in ms; CPU in % of one core "
        f"({result['cpus']} cores, load {result['loadavg_start']} -> {result['loadavg_end']})",
        f"{'P':>2} {'N':>5} {'p50':>8} {'p99':>8} {'last':>8} {'missing':>7} "
        f"{'servers CPU':>20} {'redis':>6} {'clients':>8} {'machine':>8}",
    ]
    for r in result["results"]:
        servers = "+".join(f"{v:.0f}" for v in r["servers_cpu_pct"] if v is not None)
        lines.append(
            f"{r['processes']:>2} {r['clients']:>5} {r['p50_ms']!s:>8} {r['p99_ms']!s:>8} "
            f"{r['last_ms']!s:>8} {r['missing']!s:>7} {servers:>20} "
            f"{r['redis_cpu_pct']!s:>6} {r['clients_cpu_pct']!s:>8} {r['machine_cpu_pct']!s:>8}"
        )
    lines += [
        f"largest room with p99 <= {result['limit_ms']:g} ms, by processes: "
        f"{result['largest_room_within_limit']}",
        f"speed-up 1 -> 2 processes at {result['room']} phones: p99 {result['speedup_1_to_2']}, "
        f"p50 {result['speedup_1_to_2_p50']}",
    ]
    return "\n".join(lines)
