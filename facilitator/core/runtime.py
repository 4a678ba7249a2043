"""Everything specific to the async runtime lives here.

Eventlet is the default server runtime and ``threading`` must work too; the
rest of the package asks this module for what differs between them
(monkey patching and running blocking work off the event loop) and never
imports eventlet itself.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

ASYNC_MODES = ("eventlet", "threading")
_patched = False


def async_mode_from_env() -> str:
    """The async mode chosen by ``FACILITATOR_ASYNC_MODE`` (default eventlet)."""
    mode = os.environ.get("FACILITATOR_ASYNC_MODE", "eventlet").strip().lower()
    if mode not in ASYNC_MODES:
        raise SystemExit(
            f"FACILITATOR_ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}, not {mode!r}"
        )
    return mode


def prepare_process(mode: str) -> None:
    """Patch the standard library for eventlet. Call first thing in a server process."""
    global _patched
    if mode == "eventlet" and not _patched:
        import warnings

        # Known and accepted: eventlet is in bugfix mode upstream (see README); its
        # warning would greet every user at every start, from each module importing it.
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet

        eventlet.monkey_patch()
        _patched = True


def run_blocking(mode: str, func: Callable[..., T], *args: object) -> T:
    """Run CPU-heavy or blocking ``func`` without stalling the event loop."""
    if mode == "eventlet" and _patched:
        from eventlet import tpool

        return tpool.execute(func, *args)
    return func(*args)


def os_lock() -> Any:
    """A lock for code that runs in OS threads (see :func:`run_blocking`).

    Under eventlet ``threading.Lock`` is patched into a green lock, which must not be
    used from the thread pool; this one is the operating system's in every mode.
    """
    if _patched:
        from eventlet import patcher

        return patcher.original("_thread").allocate_lock()
    import _thread

    return _thread.allocate_lock()


def os_subprocess() -> Any:
    """The ``subprocess`` module whose pipes block the calling OS thread.

    Eventlet's patched ``Popen`` wraps pipes as green pipes bound to the hub of the
    thread that made them; a process driven from the thread pool needs plain ones.
    """
    if _patched:
        from eventlet import patcher

        return patcher.original("subprocess")
    import subprocess  # noqa: S404 - the caller runs only fixed commands

    return subprocess


def _no_delay(listener: socket.socket) -> None:
    """Send small frames at once: accepted sockets inherit TCP_NODELAY on Linux.

    Without it an ack written right after a broadcast waits for the client's
    delayed ACK (about 40 ms), Nagle's algorithm holding the second small frame.
    """
    try:
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # pragma: no cover - not every platform allows it on a listener
        pass


def _raise_file_limit() -> None:
    """Every phone holds a socket: allow as many open files as the system permits."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            wanted = 65536 if hard == resource.RLIM_INFINITY else hard
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on every platform
        pass


def serve(wsgi_app: Any, host: str, port: int, mode: str) -> None:
    """Serve HTTP and WebSocket until interrupted, with the runtime's own server."""
    _raise_file_limit()
    if mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = eventlet.listen((host, port), family, backlog=1024)
        _no_delay(listener)
        eventlet.wsgi.server(listener, wsgi_app, log_output=False, max_size=10_000)
        return
    from werkzeug.serving import make_server

    server = make_server(host, port, wsgi_app, threaded=True)
    _no_delay(server.socket)
    server.serve_forever()
