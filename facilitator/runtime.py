"""Everything specific to the async runtime lives here.

Eventlet is the default server runtime and ``threading`` must work too; the
rest of the package asks this module for what differs between them
(monkey patching and running blocking work off the event loop) and never
imports eventlet itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

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

        with warnings.catch_warnings():
            # Known and accepted: eventlet is in bugfix mode upstream (see README).
            warnings.simplefilter("ignore", DeprecationWarning)
            import eventlet

        eventlet.monkey_patch()
        _patched = True


def run_blocking(mode: str, func: Callable[..., T], *args: object) -> T:
    """Run CPU-heavy or blocking ``func`` without stalling the event loop."""
    if mode == "eventlet" and _patched:
        from eventlet import tpool

        return tpool.execute(func, *args)
    return func(*args)
