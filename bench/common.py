"""Machinery shared by the scenarios.

* servers: the real ``facilitator serve`` (or the bare baseline server) as a
  subprocess on a free port, stopped on exit, error, Ctrl+C or SIGTERM;
* the app over HTTP: a facilitator account, login, a workshop, phones joining
  (free ports, action ids and the forms' fields are :mod:`harness.net`'s, which
  the tests use too);
* client workers: separate processes, each running many ``socketio.AsyncClient``
  on one asyncio loop, that record when each broadcast event arrives (a
  scenario may give :class:`ClientPool` its own worker entry point and commands);
* figures: percentiles and the latency analysis of a run of rounds.

Latencies compare wall-clock timestamps (``time.time_ns()``) taken in different
processes on the same machine; monotonic clocks are not comparable across
processes, the wall clock is (barring an NTP step during the run).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import ctypes
import html
import inspect
import logging
import math
import multiprocessing
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_connections
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin

import requests

from harness.net import (
    ACTION_RE,
    action_id,
    cookie_header,
    csrf_from,
    free_port,
    login,
    post_form,
)

log = logging.getLogger("bench")

ROOT = Path(__file__).resolve().parent.parent
KIT = "hrh-action-framework"
PASSWORD = "bench-password-not-secret"  # noqa: S105 - a throwaway account on a temp db

CODE_RE = re.compile(r'data-bind="code">\s*([A-Z0-9]+)\s*<')
CONSOLE_RE = re.compile(r"/w/(\d+)/console")
PROJECTOR_KEY_RE = re.compile(r'/w/\d+/projector\?key=([^"&<\s]+)')

SECTORS = ("Health", "Education", "Finance", "Civil society", "Private sector")


# -- small helpers -----------------------------------------------------------------


def setup_logging(verbose: bool = False) -> None:
    """Progress goes to stderr; stdout is kept for the figures."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
        datefmt="%H:%M:%S",
    )


def raise_nofile(wanted: int = 65536) -> int:
    """Raise this process's soft open-files limit (children inherit it); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def positive_list(text: str, wanted: str = "numbers, e.g. 50,200,500") -> list[int]:
    """``"250, 500,1000"`` -> ``[250, 500, 1000]``: an argparse type (``wanted``: what
    the message asks for instead)."""
    try:
        values = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"give positive {wanted}")
    return values


def add_round_options(
    group: argparse._ArgumentGroup, warmup: int, round_timeout: float, join_threads: int
) -> None:
    """The options of a scenario timing stage changes in rounds (``stage``, ``scale``)."""
    group.add_argument(
        "--warmup", type=int, default=warmup, help=f"untimed stage changes first (default {warmup})"
    )
    group.add_argument(
        "--gap-ms",
        type=float,
        default=250,
        help="pause after every phone got a round, before the next (default 250)",
    )
    group.add_argument(
        "--round-timeout",
        type=float,
        default=round_timeout,
        help=f"seconds to wait for a round to reach every phone (default {round_timeout:g})",
    )
    add_join_threads(group, join_threads)


def add_join_threads(group: argparse._ArgumentGroup, default: int) -> None:
    """``--join-threads``: how many phones join over HTTP at once."""
    group.add_argument(
        "--join-threads",
        type=int,
        default=default,
        help=f"parallel HTTP joins (default {default})",
    )


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation, as numpy's default."""
    data = sorted(values)
    if not data:
        return None
    rank = (len(data) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


def median(values: Iterable[float]) -> float | None:
    return percentile(values, 50)


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def median_figure(values: Iterable[Any]) -> float | None:
    """One figure over repeats: the median of its numbers (None without any), whole when
    they all are (sizes, counts), else rounded to 2 digits."""
    numbers = [v for v in values if isinstance(v, int | float)]
    if not numbers:
        return None
    if all(isinstance(v, int) for v in numbers):
        return round(median(numbers) or 0)
    return rounded(median(numbers))


# -- child processes ----------------------------------------------------------------


def process_rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MB (Linux /proc), None if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time used so far by process ``pid`` (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


_children: list[subprocess.Popen[bytes]] = []
_cleanup_installed = False

try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the forked child: get SIGTERM when the bench dies, even by SIGKILL (Linux)."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(grace)
    if proc in _children:
        _children.remove(proc)


def _stop_all_children() -> None:
    for proc in list(_children):
        with contextlib.suppress(Exception):
            stop_process(proc, grace=2.0)


def install_cleanup() -> None:
    """Stop every server subprocess on exit; turn SIGTERM/SIGHUP into a clean exit.

    Ctrl+C raises KeyboardInterrupt, which runs the ``finally`` blocks that stop
    servers and client workers; atexit catches anything left. Client workers
    ignore SIGINT and are stopped by their parent (or notice it is gone).
    """
    global _cleanup_installed
    if _cleanup_installed:
        return
    _cleanup_installed = True
    atexit.register(_stop_all_children)

    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)


class ServerProcess:
    """A server subprocess listening on ``port``; its output goes to ``log_path``."""

    def __init__(
        self, name: str, cmd: list[str], env: dict[str, str], port: int, log_path: Path
    ) -> None:
        self.name = name
        self.cmd = cmd
        self.env = env
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0, ready: Callable[[], bool] | None = None) -> None:
        self.launch()
        self.wait_ready(timeout, ready)

    def launch(self) -> None:
        """Start the process without waiting for it (see :meth:`wait_ready`)."""
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl+C reaches the bench, which stops it
                preexec_fn=_die_with_parent,
            )
        _children.append(self.proc)

    def wait_ready(self, timeout: float = 60.0, ready: Callable[[], bool] | None = None) -> None:
        """Wait until the port answers (and ``ready()`` is true); stop it and raise if not."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
            except OSError:
                time.sleep(0.1)
                continue
            if ready is None or ready():
                log.info("%s is up (pid %s, port %s)", self.name, self.pid, self.port)
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start in {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def errors(self) -> int:
        """Tracebacks and errors in its log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return 0
        return sum(1 for line in text.splitlines() if "Traceback" in line or " ERROR " in line)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_mb(self) -> float | None:
        return process_rss_mb(self.proc.pid) if self.proc is not None else None

    def cpu_seconds(self) -> float | None:
        """User + system CPU time used so far (Linux /proc)."""
        return process_cpu_seconds(self.proc.pid) if self.proc is not None else None

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


# -- the app ------------------------------------------------------------------------


def facilitator_bin() -> str:
    """The ``facilitator`` console script of this interpreter's environment."""
    beside = Path(sys.executable).parent / "facilitator"
    if beside.exists():
        return str(beside)
    found = shutil.which("facilitator")
    if not found:
        raise RuntimeError("the facilitator command is not installed (pip install -e .)")
    return found


def app_env(instance: Path) -> dict[str, str]:
    env = dict(os.environ)
    # A fresh SQLite database and secret key in the instance folder, nothing shared.
    for name in (
        "FACILITATOR_DATABASE_URL",
        "DATABASE_URL",
        "FACILITATOR_SECRET_KEY",
        "FACILITATOR_MESSAGE_QUEUE",
        "FACILITATOR_PORT",
        "FACILITATOR_HOST",
    ):
        env.pop(name, None)
    env["FACILITATOR_INSTANCE_PATH"] = str(instance)
    env["FACILITATOR_ASYNC_MODE"] = "eventlet"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def create_facilitator(env: dict[str, str], username: str, password: str) -> None:
    result = subprocess.run(
        [facilitator_bin(), "users", "create", username, "--password", "-"],
        input=password + "\n",
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"facilitator users create failed:\n{result.stdout}{result.stderr}")


def app_server(
    instance: Path, port: int, env: dict[str, str] | None = None, name: str = "app server"
) -> ServerProcess:
    """``facilitator serve`` exactly as users run it (not started yet); ``env`` defaults
    to :func:`app_env` of the instance folder, where its log goes."""
    return ServerProcess(
        name,
        [facilitator_bin(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env if env is not None else app_env(instance),
        port,
        instance / "server.log",
    )


def app_ready(port: int) -> Callable[[], bool]:
    """Whether the app on ``port`` serves its login page (for :meth:`ServerProcess.start`)."""

    def ready() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    return ready


def start_app_server(instance: Path, port: int) -> ServerProcess:
    """``facilitator serve`` on a fresh instance folder, started."""
    server = app_server(instance, port)
    server.start(ready=app_ready(port))
    return server


def start_bare_server(folder: Path, port: int) -> ServerProcess:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    server = ServerProcess(
        "bare server",
        [sys.executable, "-m", "bench.bare_server", "--host", "127.0.0.1", "--port", str(port)],
        env,
        port,
        folder / "bare_server.log",
    )
    server.start()
    return server


def create_workshop(http: requests.Session, base: str, title: str) -> tuple[int, str]:
    """Create a workshop from the console page; returns its id and join code."""
    fields = {"kit": KIT, "title": title}
    resp = post_form(http, f"{base}/console", f"{base}/workshops", fields, timeout=30)
    if resp.status_code != 302:
        raise RuntimeError(f"creating a workshop failed: {resp.status_code} {resp.text[:300]}")
    location = resp.headers["Location"]
    match = CONSOLE_RE.search(location)
    if not match:
        raise RuntimeError(f"unexpected redirect after creating a workshop: {location}")
    console = http.get(urljoin(base + "/", location), timeout=10)
    code = CODE_RE.search(console.text)
    if not code:
        raise RuntimeError("the console page shows no join code")
    return int(match.group(1)), code.group(1)


def projector_key(http: requests.Session, base: str, workshop_id: int) -> str:
    """The projector key, from the projector link on the workshop's console page."""
    page = http.get(f"{base}/w/{workshop_id}/console", timeout=10)
    match = PROJECTOR_KEY_RE.search(page.text)
    if page.status_code != 200 or not match:
        raise RuntimeError("the console page shows no projector link")
    return unquote(html.unescape(match.group(1)))


def join(base: str, code: str, index: int) -> str:
    """Join like a phone, through the form; returns the Cookie header of that phone."""
    http = requests.Session()
    page = http.get(f"{base}/j/{code}", timeout=30)
    if page.status_code != 200:
        raise RuntimeError(f"join page: {page.status_code} {page.text[:300]}")
    match = ACTION_RE.search(page.text)
    if not match:
        raise RuntimeError("join form has no action id")
    resp = http.post(
        f"{base}/j/{code}",
        data={
            "csrf_token": csrf_from(page.text),
            "action_id": match.group(1),
            "name": f"Phone {index}",
            "organisation": f"Organisation {index % 37}",
            "sector": SECTORS[index % len(SECTORS)],
        },
        timeout=30,
        allow_redirects=False,
    )
    if resp.status_code != 302:
        raise RuntimeError(f"join failed: {resp.status_code} {resp.text[:300]}")
    cookie = cookie_header(http)
    http.close()
    return cookie


def join_many(
    base: str | list[str], code: str, count: int, threads: int = 4, first: int = 0
) -> list[str]:
    """Phones ``first`` .. ``first + count - 1`` join (phone i through ``base[i % len]``
    when given several servers); their Cookie headers."""
    bases = [base] if isinstance(base, str) else base
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(
            pool.map(lambda i: join(bases[i % len(bases)], code, i), range(first, first + count))
        )


def join_phones(app: AppWorkshop, clients: int, threads: int = 4) -> list[str]:
    """``clients`` phones join ``app``'s workshop over HTTP; their Cookie headers."""
    started = time.monotonic()
    cookies = join_many(app.base, app.code, clients, threads=threads)
    log.info("%d phones joined in %.1fs", clients, time.monotonic() - started)
    return cookies


@dataclass
class AppWorkshop:
    """A running app server with a logged-in facilitator and one workshop."""

    server: ServerProcess
    base: str
    facilitator: requests.Session
    workshop_id: int
    code: str


def open_workshop(server: ServerProcess, title: str) -> AppWorkshop:
    """The facilitator ``bench`` logs in to ``server`` and creates a workshop."""
    base = f"http://127.0.0.1:{server.port}"
    try:
        http = login(base, "bench", PASSWORD)
        workshop_id, code = create_workshop(http, base, title)
    except BaseException:
        server.stop()
        log.error("%s log (end):\n%s", server.name, server.log_tail())
        raise
    return AppWorkshop(server, base, http, workshop_id, code)


def prepare_app(folder: Path, title: str = "Bench workshop") -> AppWorkshop:
    """A fresh app server with its own SQLite database, the facilitator and a workshop."""
    instance = folder / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    create_facilitator(app_env(instance), "bench", PASSWORD)
    return open_workshop(start_app_server(instance, free_port()), title)


# -- the facilitator's client (in the bench process) -----------------------------------


class TriggerClient:
    """One synchronous Socket.IO client that sends the actions and waits for their acks."""

    def __init__(self, url: str, auth: dict[str, Any], cookie: str | None = None) -> None:
        import socketio

        self.url = url
        self.auth = auth
        self.headers = {"Cookie": cookie} if cookie else {}
        self.snapshot: dict[str, Any] | None = None
        self._got_snapshot = threading.Event()
        self.sio = socketio.Client(reconnection=False, handle_sigint=False)
        self.sio.on("snapshot", self._on_snapshot)

    def _on_snapshot(self, data: dict[str, Any]) -> None:
        self.snapshot = data
        self._got_snapshot.set()

    def connect(self, timeout: float = 30) -> TriggerClient:
        self.sio.connect(
            self.url,
            headers=self.headers,
            auth=self.auth,
            transports=["websocket"],
            wait_timeout=timeout,
        )
        if not self._got_snapshot.wait(timeout):
            raise RuntimeError("the facilitator client got no snapshot")
        return self

    def call(self, event: str, payload: dict[str, Any], timeout: float = 30) -> Any:
        return self.sio.call(event, payload, timeout=timeout)

    def close(self) -> None:
        # The close handshake can take seconds; the server is stopped next anyway.
        threading.Thread(target=self.sio.shutdown, daemon=True).start()


def console_client(
    app: AppWorkshop, handlers: dict[str, Callable[..., None]] | None = None
) -> TriggerClient:
    """The facilitator's console on ``app``'s workshop, connected (with ``handlers``
    registered first, so they see the snapshot and everything after)."""
    console = TriggerClient(
        app.base,
        {"workshop_id": app.workshop_id, "screen": "console"},
        cookie_header(app.facilitator),
    )
    for event, handler in (handlers or {}).items():
        console.sio.on(event, handler)
    return console.connect()


def goto_stage(console: TriggerClient, stage_type: str) -> dict[str, Any]:
    """Move the workshop to its first stage of type ``stage_type``; returns that stage."""
    assert console.snapshot is not None
    stage = next((s for s in console.snapshot["stages"] if s["type"] == stage_type), None)
    if stage is None:
        raise RuntimeError(f"the kit has no {stage_type} stage")
    ack = console.call("stage:goto", {"action_id": action_id(), "stage_id": stage["id"]})
    if not ack.get("ok"):
        raise RuntimeError(f"stage:goto failed: {ack}")
    return stage


# -- client workers -----------------------------------------------------------------


@dataclass
class ClientSpec:
    auth: dict[str, Any]
    cookie: str | None = None
    #: The server it connects to; None: its worker's ``WorkerOptions.url``.
    url: str | None = None


@dataclass
class WorkerOptions:
    url: str
    connect_concurrency: int = 16
    connect_timeout: float = 30.0
    #: The ``type`` of the broadcast ``event`` messages whose arrival is timed.
    timed_type: str = "stage:changed"


def new_http_session() -> Any:
    """The aiohttp session a worker's clients share (one connection pool, no cookie jar)."""
    import aiohttp

    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        # Each client sends its own Cookie header; a shared jar would mix them up.
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def new_client(http: Any, spec: ClientSpec) -> Any:
    """A ``socketio.AsyncClient`` that sends ``spec.cookie`` with its WebSocket handshake."""
    import socketio

    extra: dict[str, Any] = {}
    if spec.cookie:
        # Not connect(headers=...): engineio moves a Cookie header into the
        # (shared) session's cookie jar; these headers go to the handshake as is.
        extra["websocket_extra_options"] = {"headers": {"Cookie": spec.cookie}}
    return socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=http, **extra)


async def open_client(
    sio: Any, spec: ClientSpec, options: WorkerOptions, got_snapshot: asyncio.Event
) -> float:
    """Connect ``sio`` and wait for its snapshot; returns the milliseconds that took.

    The whole connect, snapshot included, must happen within
    ``options.connect_timeout``: a server that accepts the TCP connection but
    never serves it would otherwise hold the client for aiohttp's 5 minutes.
    Raises on failure or timeout.
    """
    started = time.perf_counter()
    await asyncio.wait_for(
        sio.connect(
            spec.url or options.url,
            auth=spec.auth,
            transports=["websocket"],
            wait_timeout=options.connect_timeout,
        ),
        options.connect_timeout,
    )
    await asyncio.wait_for(got_snapshot.wait(), options.connect_timeout)
    return (time.perf_counter() - started) * 1000


def run_worker(index: int, out: Connection, main: Coroutine[Any, Any, None]) -> None:
    """The body of a client worker process: run ``main`` on a fresh loop, report a crash."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    raise_nofile()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    try:
        asyncio.run(main)
    except Exception as exc:  # report, then die
        with contextlib.suppress(Exception):
            out.send(("error", index, f"{type(exc).__name__}: {exc}"))
        raise


async def next_command(commands: Connection) -> Any:
    """The parent's next command, without blocking the loop; ``"stop"`` if it is gone."""
    try:
        return await asyncio.get_running_loop().run_in_executor(None, commands.recv)
    except (EOFError, OSError):
        return "stop"


async def connect_all(
    clients: list[Any], connect: Callable[[Any], Awaitable[Any]], concurrency: int
) -> list[Any]:
    """``await connect(client)`` for every client, ``concurrency`` at a time.

    A client is any object with an ``error`` attribute (None at first): a
    failure is kept there. Returns the clients that connected, in order.
    """
    semaphore = asyncio.Semaphore(concurrency)

    async def one(client: Any) -> None:
        async with semaphore:
            try:
                await connect(client)
            except Exception as exc:
                client.error = f"{type(exc).__name__}: {exc} {client.error or ''}".strip()

    await asyncio.gather(*(one(c) for c in clients))
    return [c for c in clients if c.error is None]


def connect_stats(clients: list[Any], connected: list[Any]) -> dict[str, Any]:
    """What a worker reports once connected (see :meth:`ClientPool.wait_connected`);
    the clients have ``error`` and ``connect_ms``."""
    errors = [c.error for c in clients if c.error is not None]
    return {
        "connected": len(connected),
        "errors": errors[:5],
        "failed": len(errors),
        "connect_ms": [c.connect_ms for c in connected],
    }


async def answer_commands(
    index: int, commands: Connection, out: Connection, handlers: dict[str, Callable[[Any], Any]]
) -> None:
    """Answer the bench's commands until ``stop`` (or until the pipe closes).

    A command is ``(name, params)`` or a bare name; ``handlers[name](params)``
    (awaited when it returns an awaitable) goes back as ``(name, index, reply)``.
    """
    while True:
        command = await next_command(commands)
        name, params = command if isinstance(command, tuple) else (command, None)
        if name == "stop":
            return
        if name not in handlers:
            raise RuntimeError(f"unknown command {name!r}")
        reply = handlers[name](params)
        if inspect.isawaitable(reply):
            reply = await reply
        out.send((name, index, reply))


async def disconnect_all(clients: list[Any], http: Any) -> None:
    """Disconnect the clients (each has ``sio``), at most 5 s each, and close ``http``."""

    async def disconnect(client: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.sio.disconnect(), 5)

    await asyncio.gather(*(disconnect(c) for c in clients))
    await http.close()


def _worker_main(
    index: int,
    specs: list[ClientSpec],
    options: WorkerOptions,
    commands: Connection,
    out: Connection,
) -> None:
    """Entry point of a client worker process."""
    run_worker(index, out, _worker(index, specs, options, commands, out))


class _Phone:
    __slots__ = (
        "sio",
        "spec",
        "snapshot_seq",
        "seqs",
        "arrivals",
        "got_snapshot",
        "connect_ms",
        "error",
        "disconnects",
    )

    def __init__(self, spec: ClientSpec) -> None:
        self.spec = spec
        self.sio: Any = None
        self.snapshot_seq: int | None = None
        self.seqs: list[int] = []
        self.arrivals: dict[int, int] = {}
        self.got_snapshot = asyncio.Event()
        self.connect_ms: float | None = None
        self.error: str | None = None
        self.disconnects = 0


async def _worker(
    index: int,
    specs: list[ClientSpec],
    options: WorkerOptions,
    commands: Connection,
    out: Connection,
) -> None:
    """Phones that time the arrival of ``options.timed_type`` events: each ``seq``
    is reported as ``("round", index, seq)`` once all of this worker's phones have it."""
    http = new_http_session()
    phones = [_Phone(spec) for spec in specs]
    counts: dict[int, int] = {}
    connected: list[_Phone] = []

    async def connect(phone: _Phone) -> None:
        def on_snapshot(data: Any) -> None:
            if isinstance(data, dict) and phone.snapshot_seq is None:
                phone.snapshot_seq = data.get("seq")
            phone.got_snapshot.set()

        def on_event(data: Any) -> None:
            now = time.time_ns()
            if not isinstance(data, dict):
                return
            seq = data.get("seq")
            phone.seqs.append(seq)
            if data.get("type") == options.timed_type and seq not in phone.arrivals:
                phone.arrivals[seq] = now
                counts[seq] = counts.get(seq, 0) + 1
                if counts[seq] == len(connected):
                    out.send(("round", index, seq))

        def on_disconnect(*_args: Any) -> None:
            phone.disconnects += 1

        sio = phone.sio = new_client(http, phone.spec)
        sio.on("snapshot", on_snapshot)
        sio.on("event", on_event)
        sio.on("disconnect", on_disconnect)
        sio.on("connect_error", lambda data: setattr(phone, "error", f"refused: {data}"))
        phone.connect_ms = await open_client(sio, phone.spec, options, phone.got_snapshot)

    connected.extend(await connect_all(phones, connect, options.connect_concurrency))
    out.send(("connected", index, connect_stats(phones, connected)))

    def report(_params: Any) -> list[dict[str, Any]]:
        return [
            {
                "snapshot_seq": p.snapshot_seq,
                "seqs": p.seqs,
                "arrivals": p.arrivals,
                "disconnects": p.disconnects,
            }
            for p in connected
        ]

    await answer_commands(index, commands, out, {"report": report})
    await disconnect_all(connected, http)
    with contextlib.suppress(Exception):
        out.send(("stopped", index, None))


@dataclass
class ClientPool:
    """Client worker processes holding ``len(specs)`` Socket.IO clients between them.

    Each worker runs ``target(index, specs, options, commands, out)``
    (:func:`_worker_main` unless a scenario brings its own): it reports
    ``("connected", index, stats)`` once its clients are connected, answers the
    command ``"report"`` with ``("report", index, [per client])`` and stops on
    ``"stop"`` or when the pipe closes. Any other ``(kind, index, payload)`` it
    sends is kept as a reply of that kind (see :meth:`request`).
    """

    specs: list[ClientSpec]
    options: WorkerOptions
    workers: int = 2
    target: Callable[..., None] = _worker_main
    _procs: list[Any] = field(default_factory=list)
    _commands: list[Connection] = field(default_factory=list)
    _outs: list[Connection] = field(default_factory=list)
    _rounds: dict[int, set[int]] = field(default_factory=dict)
    _reports: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    _connected: dict[int, dict[str, Any]] = field(default_factory=dict)
    _replies: dict[str, dict[int, Any]] = field(default_factory=dict)

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self._procs]

    def start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        count = max(1, min(self.workers, len(self.specs)))
        for i in range(count):
            chunk = self.specs[i::count]
            cmd_read, cmd_write = ctx.Pipe(duplex=False)
            out_read, out_write = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=self.target,
                args=(i, chunk, self.options, cmd_read, out_write),
                name=f"bench-clients-{i}",
                daemon=True,
            )
            proc.start()
            cmd_read.close()
            out_write.close()
            self._procs.append(proc)
            self._commands.append(cmd_write)
            self._outs.append(out_read)

    def _pump(self, timeout: float) -> bool:
        """Read what the workers sent within ``timeout``; False when nothing came."""
        ready = wait_connections(self._outs, timeout)
        for conn in ready:
            try:
                kind, index, payload = conn.recv()  # type: ignore[union-attr]
            except (EOFError, OSError):
                proc = self._procs[self._outs.index(conn)]  # type: ignore[arg-type]
                proc.join(1)
                raise RuntimeError(
                    f"client worker {proc.name} died (exit code {proc.exitcode})"
                ) from None
            if kind == "round":
                self._rounds.setdefault(payload, set()).add(index)
            elif kind == "connected":
                self._connected[index] = payload
            elif kind == "report":
                self._reports[index] = payload
            elif kind == "error":
                raise RuntimeError(f"client worker {index} failed: {payload}")
            else:
                self._replies.setdefault(kind, {})[index] = payload
        return bool(ready)

    def _wait(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._pump(remaining)
        return True

    def wait_connected(self, timeout: float) -> dict[str, Any]:
        if not self._wait(lambda: len(self._connected) == len(self._procs), timeout):
            raise RuntimeError(f"clients did not connect within {timeout:.0f}s")
        stats = list(self._connected.values())
        connect_ms = [ms for s in stats for ms in s["connect_ms"]]
        return {
            "connected": sum(s["connected"] for s in stats),
            "failed": sum(s["failed"] for s in stats),
            "errors": [e for s in stats for e in s["errors"]][:5],
            "connect_p50_ms": median(connect_ms),
            "connect_p99_ms": percentile(connect_ms, 99),
        }

    def wait_round(self, seq: int, timeout: float) -> bool:
        """Wait until every worker saw ``seq`` arrive at all its clients."""
        active = {i for i, stats in self._connected.items() if stats["connected"]}
        return self._wait(lambda: active <= self._rounds.get(seq, set()), timeout)

    def send(self, command: Any) -> None:
        """Send ``command`` to every worker (answers come with :meth:`replies`)."""
        for conn in self._commands:
            conn.send(command)

    def replies(self, kind: str, timeout: float) -> list[Any]:
        """Wait for every worker's reply of ``kind``; their payloads, in worker order."""
        if not self._wait(lambda: len(self._replies.get(kind, {})) == len(self._procs), timeout):
            raise RuntimeError(f"client workers sent no {kind!r} within {timeout:.0f}s")
        answers = self._replies.pop(kind)
        return [answers[i] for i in sorted(answers)]

    def request(self, command: Any, reply: str, timeout: float) -> list[Any]:
        """Send ``command`` to every worker; their ``reply`` payloads, in worker order."""
        self._replies.pop(reply, None)
        self.send(command)
        return self.replies(reply, timeout)

    def collect(self, timeout: float = 60) -> list[dict[str, Any]]:
        """Every client's report, now (the workers' earlier reports are dropped)."""
        self._reports.clear()
        for conn in self._commands:
            conn.send("report")
        if not self._wait(lambda: len(self._reports) == len(self._procs), timeout):
            raise RuntimeError("client workers did not report")
        return [phone for i in sorted(self._reports) for phone in self._reports[i]]

    def stop(self, timeout: float = 15) -> None:
        for conn in self._commands:
            with contextlib.suppress(OSError, ValueError):
                conn.send("stop")
        deadline = time.monotonic() + timeout
        for proc in self._procs:
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()
                proc.join(2)
            if proc.is_alive():
                proc.kill()
                proc.join(2)
        for conn in self._commands + self._outs:
            conn.close()
        self._procs.clear()


def start_pools(
    plans: dict[str, tuple[list[Any], WorkerOptions, int]],
    target: Callable[..., None] = _worker_main,
    connect_concurrency: int = 16,
) -> tuple[dict[str, ClientPool], int]:
    """Start one :class:`ClientPool` per plan ``name: (specs, options, workers)``, in
    order, each connected before the next starts (an empty plan is skipped).

    Returns the pools and how many clients could not connect; raises when a
    pool could connect none (the pools started so far are stopped).
    """
    pools: dict[str, ClientPool] = {}
    failed = 0
    try:
        for name, (specs, options, workers) in plans.items():
            if not specs:
                continue
            options.connect_concurrency = connect_concurrency
            pool = pools[name] = ClientPool(specs, options, workers=workers, target=target)
            started = time.monotonic()
            pool.start()
            stats = pool.wait_connected(timeout=60 + len(specs) * 0.2)
            log.info(
                "%s: %d/%d connected in %.1fs%s",
                name,
                stats["connected"],
                len(specs),
                time.monotonic() - started,
                f" ({stats['failed']} failed: {stats['errors'][:2]})" if stats["failed"] else "",
            )
            if not stats["connected"]:
                raise RuntimeError(f"{name}: no client could connect: {stats['errors']}")
            failed += stats["failed"]
    except BaseException:
        for pool in pools.values():
            pool.stop()
        raise
    return pools, failed


def ask_all(pools: dict[str, ClientPool], command: tuple[str, Any], timeout: float) -> list[Any]:
    """Send ``command`` to every worker of every pool at once; their replies, pool by
    pool and in worker order."""
    for pool in pools.values():
        pool.send(command)
    return [reply for pool in pools.values() for reply in pool.replies(command[0], timeout)]


@contextlib.contextmanager
def measuring(servers: list[ServerProcess]) -> Iterator[contextlib.ExitStack]:
    """One measurement on running ``servers``.

    Whatever is pushed on the stack it yields (client pools, consoles) is closed at
    the end, newest first, then the servers are stopped. On an error, the end of
    each server's log is logged; at a normal end, a server that died is an error.
    """
    with contextlib.ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
        try:
            yield stack
            for server in servers:
                if not server.alive():
                    raise RuntimeError(f"{server.name} died:\n{server.log_tail()}")
        except Exception:
            for server in servers:
                log.error("%s log (end):\n%s", server.name, server.log_tail())
            raise


def goals_met(figures: dict[str, Any], goals: dict[str, float]) -> dict[str, bool | None]:
    """Per goal, whether the figure of that name is at most the goal (None: no figure)."""
    return {
        key: None if figures.get(key) is None else figures[key] <= goal
        for key, goal in goals.items()
    }


def repeated_run(
    name: str,
    args: argparse.Namespace,
    clients: int,
    measure: Callable[[Path], dict[str, Any]],
    combine: Callable[[list[dict[str, Any]]], dict[str, Any]],
    goals: dict[str, float],
    settings: dict[str, Any],
    *,
    repeat: int,
    prefix: str,
) -> dict[str, Any]:
    """A scenario measured ``repeat`` times on ``clients`` phones, each time in a fresh
    folder of a temporary directory (named with ``prefix``): its result, with
    ``settings`` (what was asked of the run), the figures ``combine`` makes of the
    runs, the goals and whether they are met, and :func:`machine_figures`."""
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        runs = [measure(Path(tmp) / f"r{r}") for r in range(repeat)]
    figures = combine(runs)
    return {
        "scenario": name,
        "async_mode": "eventlet",
        "clients": clients,
        **settings,
        "repeat": repeat,
        "workers": args.workers,
        **figures,
        "goals": goals,
        "goals_met": goals_met(figures, goals),
        **machine_figures(started, load_start),
    }


def machine_figures(started: float, load_start: float) -> dict[str, Any]:
    """The run's duration (from ``time.monotonic()`` ``started``), the machine's cores
    and its 1-minute load average at the start and now: other work on the machine
    skews the figures."""
    return {
        "duration_s": round(time.monotonic() - started, 1),
        "cpus": os.cpu_count(),
        "loadavg_start": round(load_start, 2),
        "loadavg_end": round(os.getloadavg()[0], 2),
    }


def _reference_work() -> int:
    """A fixed piece of plain Python (numbers, strings, a dict, calls): the same work on
    every run and every version of the app."""
    counts: dict[str, int] = {}
    total = 0
    for i in range(600_000):
        text = str(i)
        counts[text[-2:]] = counts.get(text[-2:], 0) + len(text)
        total += i * i % 7
    return total + len(counts)


def cpu_reference_ms(repeat: int = 5) -> float:
    """How long this machine takes for :func:`_reference_work` now, in ms (median of
    ``repeat``, one core): the machine's speed varies from day to day and hour to hour,
    so absolute times of runs on different days are compared through it."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        _reference_work()
        times.append((time.perf_counter() - started) * 1000)
    return round(median(times) or 0.0, 1)


class ResourceWatch:
    """CPU used by a server and by other processes (client workers) over a window,
    and the server's peak RSS, sampled every ``interval`` seconds by a thread.

    ``start()`` opens the window, ``stop()`` closes it and returns the figures:
    CPU (user + system, /proc ticks of 10 ms) in seconds and in % of one core.
    """

    def __init__(self, server_pid: int, others: Iterable[int] = (), interval: float = 0.1) -> None:
        self.server_pid = server_pid
        self.others = list(others)
        self.interval = interval
        self._rss: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._began = 0.0
        self._cpu: tuple[float, float] = (0.0, 0.0)

    def _cpu_now(self) -> tuple[float, float]:
        server = process_cpu_seconds(self.server_pid) or 0.0
        return server, sum(process_cpu_seconds(pid) or 0.0 for pid in self.others)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = process_rss_mb(self.server_pid)
            if rss is not None:
                self._rss.append(rss)

    def start(self) -> ResourceWatch:
        self._rss = [process_rss_mb(self.server_pid) or 0.0]
        self._began = time.monotonic()
        self._cpu = self._cpu_now()
        self._thread = threading.Thread(target=self._sample, name="resource-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict[str, float | None]:
        server, others = self._cpu_now()
        elapsed = max(time.monotonic() - self._began, 1e-3)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        self._rss.append(process_rss_mb(self.server_pid) or 0.0)
        return {
            "seconds": rounded(elapsed),
            "server_cpu_s": rounded(server - self._cpu[0]),
            "server_cpu_pct": rounded((server - self._cpu[0]) / elapsed * 100, 1),
            "server_rss_mb": rounded(max(self._rss), 1),
            "clients_cpu_pct": rounded((others - self._cpu[1]) / elapsed * 100, 1),
        }


# -- figures -------------------------------------------------------------------------


def consecutive(snapshot_seq: int | None, seqs: list[int]) -> bool:
    """True when the events after the snapshot are numbered snapshot+1, +2, ...

    Events numbered up to the snapshot's own number are already in it (the app
    may deliver one just before the snapshot) and are skipped.
    """
    if snapshot_seq is None:
        return False
    expected = snapshot_seq + 1
    for seq in seqs:
        if isinstance(seq, int) and seq <= snapshot_seq:
            continue
        if seq != expected:
            return False
        expected += 1
    return True


def analyse_rounds(
    emitted: dict[int, int], phones: list[dict[str, Any]], expected: int
) -> dict[str, Any]:
    """Latency figures for rounds sent at ``emitted`` (seq -> time_ns) to ``expected`` phones.

    p50/p99 pool every (phone, round) latency; ``last`` is, per round, the
    latency of the last phone to receive it, and its median over the rounds
    (``first``: the same for the first phone).
    A phone that never connected counts as missing every round.
    """
    pooled: list[float] = []
    first_per_round: list[float] = []
    last_per_round: list[float] = []
    missing = 0
    for seq, sent_ns in emitted.items():
        arrivals = [p["arrivals"][seq] for p in phones if seq in p["arrivals"]]
        missing += expected - len(arrivals)
        latencies = [(t - sent_ns) / 1e6 for t in arrivals]
        pooled.extend(latencies)
        if latencies:
            first_per_round.append(min(latencies))
            last_per_round.append(max(latencies))
            log.debug(
                "seq %d: first %.1f ms, median %.1f ms, last %.1f ms",
                seq,
                min(latencies),
                median(latencies),
                max(latencies),
            )
    return {
        "p50_ms": rounded(median(pooled)),
        "p90_ms": rounded(percentile(pooled, 90)),
        "p99_ms": rounded(percentile(pooled, 99)),
        "max_ms": rounded(max(pooled) if pooled else None),
        "first_ms": rounded(median(first_per_round)),
        "last_ms": rounded(median(last_per_round)),
        "missing": missing,
        "seq_gaps": sum(1 for p in phones if not consecutive(p["snapshot_seq"], p["seqs"])),
        "disconnects": sum(p["disconnects"] for p in phones),
        "samples": len(pooled),
    }
