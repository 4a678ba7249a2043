"""Limits on how fast one client may act: events per socket, attempts per address.

Two kinds, both kept in memory per server process (docs/security.md):

* :class:`EventLimits` - token buckets on socket events, one per connection and
  one per participant (two phones of one person share it). A refused event gets a
  ``rate_limited`` ack; a connection refused too often in a short time is
  disconnected. The facilitator's own sockets are not limited: the account is
  logged in and acts on its own workshop only (and seeding a plan or a board from
  the console legitimately sends hundreds of actions in a row).
* :class:`AttemptLimits` - failures (wrong join codes, wrong passwords) per key in
  a sliding window; once a key has used its allowance every further attempt is
  refused until the oldest failure leaves the window, right answers included, so
  guessing cannot go on.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from facilitator.core import i18n
from facilitator.core.errors import RATE_LIMITED, DomainError

Clock = Callable[[], float]


class TokenBuckets:
    """A token bucket per key: ``rate`` tokens a second, at most ``burst`` saved up.

    Idle keys are forgotten (a full bucket is the same as no bucket), so memory stays
    bounded by the keys active in the last ``burst / rate`` seconds.
    """

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._next_prune = 0.0

    def take(self, key: str) -> bool:
        """Spend one token of ``key``'s bucket; False when there is none left."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1
            self._buckets[key] = (tokens - 1 if allowed else tokens, now)
            if now >= self._next_prune:
                self._prune(now)
            return allowed

    def forget(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)

    def _prune(self, now: float) -> None:
        refill = self.burst / self.rate if self.rate > 0 else 0.0
        self._buckets = {
            k: (t, last) for k, (t, last) in self._buckets.items() if now - last < refill
        }
        self._next_prune = now + max(refill, 1.0)


class Strikes:
    """Refusals per key, decaying: more than ``limit`` within about ``period`` seconds
    (``limit`` refusals, less ``limit / period`` a second) means sustained abuse."""

    def __init__(self, limit: float, period: float = 10.0, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.decay = limit / period
        self._clock = clock
        self._counts: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """Count one refusal; True once the key is over the limit."""
        now = self._clock()
        with self._lock:
            count, last = self._counts.get(key, (0.0, now))
            count = max(0.0, count - (now - last) * self.decay) + 1
            self._counts[key] = (count, now)
            return count > self.limit

    def forget(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


@dataclass(frozen=True)
class EventVerdict:
    """What to do with one socket event: ``error`` None lets it through."""

    error: DomainError | None = None
    #: Sustained abuse: answer, then close the connection.
    disconnect: bool = False


ALLOWED = EventVerdict()


class EventLimits:
    """Socket events per connection and per participant (see the module docstring)."""

    def __init__(self, config: Any, clock: Clock = time.monotonic) -> None:
        self.connection = TokenBuckets(config["EVENT_RATE"], config["EVENT_BURST"], clock=clock)
        self.participant = TokenBuckets(
            config["PARTICIPANT_EVENT_RATE"], config["PARTICIPANT_EVENT_BURST"], clock=clock
        )
        self.strikes = Strikes(config["EVENT_DISCONNECT_AFTER"], clock=clock)

    def check(self, sid: str, role: str, actor: str) -> EventVerdict:
        if role == "facilitator":
            return ALLOWED
        if not self.connection.take(sid):
            error = self._error(self.connection, participant=False)
        elif role == "participant" and not self.participant.take(actor):
            error = self._error(self.participant, participant=True)
        else:
            return ALLOWED
        return EventVerdict(error, disconnect=self.strikes.add(sid))

    def forget(self, sid: str) -> None:
        """A connection closed: its bucket and strikes go (the participant's stay)."""
        self.connection.forget(sid)
        self.strikes.forget(sid)

    @staticmethod
    def _error(buckets: TokenBuckets, *, participant: bool) -> DomainError:
        values = {"rate": _number(buckets.rate), "burst": _number(buckets.burst)}
        if participant:
            return DomainError(
                RATE_LIMITED,
                "Too many actions: at most {rate} a second for you (all your devices "
                "together), {burst} at once. Wait a moment and try again.",
                values=values,
                rate=buckets.rate,
                burst=buckets.burst,
            )
        return DomainError(
            RATE_LIMITED,
            "Too many actions: at most {rate} a second for this connection, {burst} at once. "
            "Wait a moment and try again.",
            values=values,
            rate=buckets.rate,
            burst=buckets.burst,
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class AttemptLimits:
    """Failures per key within ``window`` seconds; ``allowance`` of them, then refusal."""

    def __init__(self, allowance: int, window: float, clock: Clock = time.monotonic) -> None:
        self.allowance = allowance
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_prune = 0.0

    def retry_after(self, key: str) -> int:
        """0 when ``key`` may try now; otherwise the seconds until it may."""
        now = self._clock()
        with self._lock:
            failures = self._recent(key, now)
            if failures is None or len(failures) < self.allowance:
                return 0
            return max(1, int(failures[-self.allowance] + self.window - now + 0.999))

    def fail(self, key: str) -> None:
        now = self._clock()
        with self._lock:
            failures = self._recent(key, now)
            if failures is None:
                failures = self._failures[key] = deque()
            failures.append(now)
            while len(failures) > self.allowance:
                failures.popleft()
            if now >= self._next_prune:
                self._failures = {
                    k: f for k, f in self._failures.items() if f and f[-1] > now - self.window
                }
                self._next_prune = now + self.window

    def _recent(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is not None:
            while failures and failures[0] <= now - self.window:
                failures.popleft()
        return failures


class HttpLimits:
    """Join-code and log-in failures per address, and log-in failures per account."""

    def __init__(self, config: Any, clock: Clock = time.monotonic) -> None:
        self.join = AttemptLimits(
            config["JOIN_FAILURES_PER_ADDRESS"], config["JOIN_WINDOW"], clock=clock
        )
        self.login_address = AttemptLimits(
            config["LOGIN_FAILURES_PER_ADDRESS"], config["LOGIN_WINDOW"], clock=clock
        )
        self.login_account = AttemptLimits(
            config["LOGIN_FAILURES_PER_ACCOUNT"], config["LOGIN_WINDOW"], clock=clock
        )


HTTP_LIMITS = "facilitator.http_limits"


def http_limits() -> HttpLimits:
    """The limits of the application handling the current request."""
    from flask import current_app

    return current_app.extensions[HTTP_LIMITS]


def client_address() -> str:
    """The client's address: the peer's, or a trusted proxy's X-Forwarded-For."""
    from flask import request

    return request.remote_addr or "unknown"


def minutes(seconds: int) -> str:
    """'about 3 minutes', for people waiting out a limit."""
    if seconds < 90:
        return i18n.ngettext(i18n.current(), "{n} second", "{n} seconds", seconds)
    return i18n._("about {n} minutes", n=round(seconds / 60))
