"""Forked processes that answer over a pipe: each started with its share of the memory
the caller may still take and killed if the caller dies; its messages are frames of one
kind byte and a body, an error ending the stream as one line."""

from __future__ import annotations

import ctypes
import os
import resource
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from facilitator.documents.frames import read_frame, write_frame


def send(stream: Any, kind: bytes, body: bytes) -> None:
    write_frame(stream, kind + body)


def receive(stream: Any) -> tuple[bytes, bytes]:
    """The next message from a part's process: its kind and its body; an error message
    (b"E") is raised as RuntimeError, an end of stream is kind b""."""
    frame = read_frame(stream)
    if not frame:
        return b"", b""
    kind, body = frame[:1], frame[1:]
    if kind == b"E":
        raise RuntimeError(body.decode("utf-8", "replace"))
    if kind == b"M":
        raise PartOutOfMemory(body.decode("utf-8", "replace"))
    return kind, body


@dataclass
class Forked:
    """A part's process: its pid and the read end of its pipe."""

    pid: int
    stream: Any
    names: list[str]


def fork(work: Callable[[Any], None], names: list[str], shares: int) -> Forked:
    """Run ``work(stream)`` in a forked process writing to a pipe, with ``1/shares`` of
    the memory the caller may still take; an exception there ends the stream with b"E"
    and a one-line error (b"M" when it ran out of memory)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into the caller, whatever happens
        code = 1
        try:
            os.close(read_end)
            _die_with_parent()
            ceiling = _share_address_space(shares)
            with os.fdopen(write_end, "wb") as stream:
                try:
                    work(stream)
                    code = 0
                except Exception as exc:  # reported to the parent as one line
                    message = f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")
                    memory = isinstance(exc, MemoryError) or near_address_limit(ceiling)
                    send(stream, b"M" if memory else b"E", message)
        finally:
            os._exit(code)
    os.close(write_end)
    return Forked(pid, os.fdopen(read_end, "rb"), names)


class PartOutOfMemory(RuntimeError):
    """A part's process ran out of its share of the render's memory."""


def _share_address_space(shares: int) -> int | None:
    """Lower this process's address-space limit to its share of what the render may
    still map (the limit it inherited less what is mapped now), so the parts together
    stay within the render's memory limit; the new limit in bytes, if any (Linux)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or shares <= 1:
        return None
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            mapped = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        return None
    if soft <= mapped:
        return soft
    ceiling = mapped + (soft - mapped) // shares
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    return ceiling


def near_address_limit(ceiling: int | None) -> bool:
    """Whether this process's address space came within 5 % of ``ceiling``: out of
    memory, C code fails in its own ways rather than with MemoryError."""
    if ceiling is None:
        return False
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024 >= ceiling * 0.95
    except OSError:
        pass
    return False


def _die_with_parent() -> None:
    """Linux: stop this process if the one that forked it dies (a render stopped at its
    time limit takes its parts with it)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's limits still stop it
        pass


class PartStopped(RuntimeError):
    """A part's process ended without its answer: ``status`` is its wait status (a
    signal such as SIGXCPU at the render's time limit)."""

    def __init__(self, status: int) -> None:
        if os.WIFSIGNALED(status):
            reason = f"stopped by signal {os.WTERMSIG(status)}"
        else:
            reason = f"ended early (exit status {os.WEXITSTATUS(status)})"
        super().__init__(f"a part of the PDF {reason}")
        self.status = status


def expect(forked: Forked, kind: bytes) -> bytes:
    got, body = receive(forked.stream)
    if got != kind:
        _, status = os.waitpid(forked.pid, 0)
        forked.pid = 0
        raise PartStopped(status)
    return body


def stop(forked: Sequence[Forked]) -> None:
    """After a failure: end the parts' processes still running."""
    for one in forked:
        one.stream.close()
        if one.pid:
            try:
                os.kill(one.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(one.pid, 0)
            one.pid = 0
