"""Updates that are coalesced rather than numbered: passing updates (a note being
dragged) and derived views (a poll's running count), each sent at a bounded rate
whatever the rate of changes."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from facilitator.core import protocol
from facilitator.core.db import db
from facilitator.core.events import Event, refreshed
from facilitator.core.transport import socketio
from facilitator.live.publish import room

log = logging.getLogger("facilitator.live")


#: Passing updates are gathered and sent at most this often per workshop.
TRANSIENT_INTERVAL = 0.05


class TransientBuffer:
    """The latest passing update per item, sent as one message per workshop and type.

    Twenty people dragging at 20 updates a second would otherwise cost every
    screen 400 messages a second; batched, each screen gets at most 20, and a
    position superseded within 50 ms is simply replaced.
    """

    def __init__(self) -> None:
        self._pending: dict[tuple[int, str], dict[Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._started = False

    def add(self, workshop_id: int, events: list[Event]) -> None:
        with self._lock:
            for ev in events:
                items = self._pending.setdefault((workshop_id, ev.type), {})
                items[ev.data.get("note_id", id(ev))] = ev.data
            if not self._started:
                self._started = True
                socketio.start_background_task(self._run)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for (workshop_id, event_type), items in pending.items():
            payload = {"type": event_type, "data": {"items": list(items.values())}}
            socketio.emit(protocol.TRANSIENT, payload, to=room(workshop_id))

    def _run(self) -> None:
        while True:
            socketio.sleep(TRANSIENT_INTERVAL)
            try:
                self.flush()
            except Exception:  # a failed emit must not stop every later one
                log.exception("sending passing updates failed")


_transient = TransientBuffer()


def publish_transient(workshop_id: int, events: list[Event]) -> None:
    """Queue passing updates (no sequence number); a client may miss some."""
    if events:
        _transient.add(workshop_id, events)


#: Derived views (a poll's running count) are recomputed at most this often.
REFRESH_INTERVAL = 0.1
#: ...and sent to phones at most this often: a room of phones is the costly audience.
PHONE_REFRESH_INTERVAL = 1.0
#: Except when the view has stopped changing for this long: then phones get its final
#: value at once (if they got none for PHONE_QUIET_SPACING), not up to a second later.
PHONE_QUIET = 0.15
PHONE_QUIET_SPACING = 0.25


class RefreshQueue:
    """Views to recompute after commits, coalesced: whatever the rate of changes
    (a vote storm), each view is computed at most every 100 ms for the console
    and the projector, and sent to phones at most once a second while it keeps
    changing, so the work grows with time and the size of the room, not with
    the number of changes. A trailing update always follows the last change:
    for phones as soon as the view has been still for PHONE_QUIET (so the
    final count of a storm reaches them in a few hundred ms)."""

    def __init__(self) -> None:
        #: Views changed since the last flush: the big screens get them next time.
        self._pending: set[tuple[int, str, Any]] = set()
        #: Views changed since phones last got them.
        self._phones_pending: set[tuple[int, str, Any]] = set()
        self._phones_sent: dict[tuple[int, str, Any], float] = {}
        #: When each view last changed (for :meth:`again`).
        self._changed: dict[tuple[int, str, Any], float] = {}
        self._lock = threading.Lock()
        self._started = False

    def add(self, workshop_id: int, items: list[tuple[str, Any]]) -> None:
        now = time.monotonic()
        with self._lock:
            keys = {(workshop_id, kind, key) for kind, key in items}
            self._pending |= keys
            self._phones_pending |= keys
            for item in keys:
                self._changed[item] = now
            if len(self._changed) > 1024:  # forget what changed long ago
                self._changed = {k: t for k, t in self._changed.items() if now - t < 60}
            if not self._started:
                self._started = True
                socketio.start_background_task(self._run)

    def again(self, workshop_id: int, since: float) -> None:
        """Send every view of the workshop changed after ``since`` once more."""
        with self._lock:
            keys = {k for k, at in self._changed.items() if k[0] == workshop_id and at >= since}
            self._pending |= keys
            self._phones_pending |= keys

    def _phones_due(self, item: tuple[int, str, Any], now: float) -> bool:
        since_sent = now - self._phones_sent.get(item, 0.0)
        if since_sent >= PHONE_REFRESH_INTERVAL:
            return True
        still = now - self._changed.get(item, 0.0) >= PHONE_QUIET
        return still and since_sent >= PHONE_QUIET_SPACING

    def flush(self) -> None:

        now = time.monotonic()
        with self._lock:
            screens, self._pending = self._pending, set()
            phones = {k for k in self._phones_pending if self._phones_due(k, now)}
            self._phones_pending -= phones
            for key in phones:
                self._phones_sent[key] = now
        if not screens and not phones:
            return
        with db.reader() as session:
            for item in sorted(screens | phones, key=repr):
                workshop_id, kind, key = item
                data = refreshed(session, kind, key)
                if data is None:
                    continue
                payload = {"type": kind, "data": data}
                if item in screens:
                    for role in ("facilitator", "projector"):
                        socketio.emit(protocol.TRANSIENT, payload, to=room(workshop_id, role))
                if item in phones:
                    socketio.emit(protocol.TRANSIENT, payload, to=room(workshop_id, "participant"))

    def _run(self) -> None:
        while True:
            socketio.sleep(REFRESH_INTERVAL)
            try:
                self.flush()
            except Exception:
                log.exception("refreshing derived views failed")


_refresh = RefreshQueue()


def schedule_refresh(workshop_id: int, items: list[tuple[str, Any]]) -> None:
    if items:
        _refresh.add(workshop_id, items)


def refresh_again(workshop_id: int, since: float) -> None:
    """Recompute and send again the workshop's derived views changed after ``since``
    (a monotonic time): for a screen that got a state read before then."""
    _refresh.again(workshop_id, since)
