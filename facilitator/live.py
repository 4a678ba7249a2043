"""The live layer: event log, sequence numbers, idempotency receipts, publishing.

Every change appends its events to the workshop's log, numbered by a
per-workshop sequence, in the same transaction as the change. Events are
published to the workshop's Socket.IO room only after that transaction has
committed. A client that misses a number fetches what it missed (or a
snapshot) and carries on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import protocol
from .db import Base, utcnow

log = logging.getLogger("facilitator.live")

#: A client further behind than this gets a snapshot instead of the events.
MAX_REPLAY = 500


class EventRecord(Base):
    """One published change, kept so clients can catch up and for the record."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("workshop_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    #: Per-workshop sequence number, consecutive from 1.
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionReceipt(Base):
    """The answer given to a client action, so a retried action id has no second effect."""

    __tablename__ = "action_receipts"
    __table_args__ = (
        UniqueConstraint("workshop_id", "actor", "action_id"),
        Index("ix_action_receipts_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    #: Who sent it: ``f:<user id>``, ``p:<participant id>`` or ``v:<visitor id>``.
    actor: Mapped[str] = mapped_column(String(48))
    action_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(40))
    #: SHA-256 of the action's parameters: reusing an id for other parameters is refused.
    digest: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class Event:
    """A change to announce: ``type`` is a ``noun:verb`` name from :mod:`protocol`."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    workshop_id: int
    seq: int
    type: str
    data: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "data": self.data}


def lock_workshop(session: Session, workshop_id: int) -> bool:
    """Take the workshop's write lock for this transaction; False if it does not exist.

    A no-op update: PostgreSQL locks the row until commit, SQLite takes its
    write lock. Writers of one workshop are serialised, so sequence numbers
    are consecutive and commit in order, whichever process writes.
    """
    return bool(session.execute(_lock_statement(), {"wid": workshop_id}).rowcount)


@cache
def _lock_statement() -> Any:
    # Built once: every action runs it, and building a statement costs more than running it.
    from .workshops import Workshop

    return update(Workshop).where(Workshop.id == bindparam("wid")).values(seq=Workshop.seq)


def append(session: Session, workshop_id: int, events: list[Event]) -> list[Published]:
    """Number ``events`` and write them to the log, inside the caller's transaction."""
    if not events:
        return []
    from .workshops import Workshop

    last = session.execute(
        update(Workshop)
        .where(Workshop.id == workshop_id)
        .values(seq=Workshop.seq + len(events))
        .returning(Workshop.seq)
    ).scalar_one()
    first = last - len(events) + 1
    published = []
    for offset, ev in enumerate(events):
        seq = first + offset
        session.add(EventRecord(workshop_id=workshop_id, seq=seq, type=ev.type, data=ev.data))
        published.append(Published(workshop_id, seq, ev.type, ev.data))
    session.flush()
    return published


#: Roles with a room of their own in each workshop.
SCREEN_ROLES = ("facilitator", "projector", "participant")

Redaction = Callable[[dict[str, Any], str], dict[str, Any]]
_redactions: dict[str, Redaction] = {}


def redacted_for(event_type: str) -> Callable[[Redaction], Redaction]:
    """Declare how an event type's data is cut down for roles that may not see all of it."""

    def register(func: Redaction) -> Redaction:
        _redactions[event_type] = func
        return func

    return register


def view(event_type: str, data: dict[str, Any], role: str) -> dict[str, Any]:
    """The data of an event as ``role`` may see it."""
    redact = _redactions.get(event_type)
    return redact(data, role) if redact else data


def events_since(
    session: Session, workshop_id: int, since: int, role: str
) -> list[dict[str, Any]] | None:
    """Events after ``since`` in order, as ``role`` sees them, or None when a
    snapshot is the better answer."""
    rows = session.scalars(
        select(EventRecord)
        .where(EventRecord.workshop_id == workshop_id, EventRecord.seq > since)
        .order_by(EventRecord.seq)
        .limit(MAX_REPLAY + 1)
    ).all()
    if len(rows) > MAX_REPLAY:
        return None
    if rows and rows[0].seq != since + 1:
        return None
    return [{"seq": r.seq, "type": r.type, "data": view(r.type, r.data, role)} for r in rows]


def digest(event: str, params: dict[str, Any]) -> str:
    """A fingerprint of an action: its name and canonical parameters."""
    canonical = json.dumps([event, params], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


_FIND_RECEIPT = select(ActionReceipt.digest, ActionReceipt.response).where(
    ActionReceipt.workshop_id == bindparam("wid"),
    ActionReceipt.actor == bindparam("actor"),
    ActionReceipt.action_id == bindparam("aid"),
)
_STORE_RECEIPT = insert(ActionReceipt)
# Many at once: both IN lists use the (workshop_id, actor, action_id) index; the
# rows of other pairs that match both lists are dropped in Python.
_FIND_RECEIPTS = select(
    ActionReceipt.actor, ActionReceipt.action_id, ActionReceipt.digest, ActionReceipt.response
).where(
    ActionReceipt.workshop_id == bindparam("wid"),
    ActionReceipt.actor.in_(bindparam("actors", expanding=True)),
    ActionReceipt.action_id.in_(bindparam("aids", expanding=True)),
)
#: On the table itself, so a list of rows is one executemany, not an ORM bulk insert.
_STORE_RECEIPTS = insert(ActionReceipt.__table__)


def find_receipt(
    session: Session, workshop_id: int, actor: str, action_id: str
) -> tuple[str, dict[str, Any]] | None:
    """The digest and response of an action already performed, if any."""
    row = session.execute(
        _FIND_RECEIPT, {"wid": workshop_id, "actor": actor, "aid": action_id}
    ).first()
    return None if row is None else (row.digest, row.response)


def find_receipts(
    session: Session, workshop_id: int, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """:func:`find_receipt` for many (actor, action id) pairs with one query."""
    if not keys:
        return {}
    wanted = set(keys)
    rows = session.execute(
        _FIND_RECEIPTS,
        {
            "wid": workshop_id,
            "actors": sorted({a for a, _ in wanted}),
            "aids": sorted({i for _, i in wanted}),
        },
    )
    return {
        (r.actor, r.action_id): (r.digest, r.response)
        for r in rows
        if (r.actor, r.action_id) in wanted
    }


def store_receipts(
    session: Session,
    workshop_id: int,
    event: str,
    receipts: list[tuple[str, str, str, dict[str, Any]]],
) -> None:
    """Store many receipts of one action: (actor, action id, digest, response) each."""
    if not receipts:
        return
    now = utcnow()
    session.execute(
        _STORE_RECEIPTS,
        [
            {
                "workshop_id": workshop_id,
                "actor": actor,
                "action_id": action_id,
                "event": event,
                "digest": fingerprint,
                "response": response,
                "created_at": now,
            }
            for actor, action_id, fingerprint, response in receipts
        ],
    )


def store_receipt(
    session: Session,
    workshop_id: int,
    actor: str,
    action_id: str,
    event: str,
    fingerprint: str,
    response: dict[str, Any],
) -> None:
    session.execute(
        _STORE_RECEIPT,
        {
            "workshop_id": workshop_id,
            "actor": actor,
            "action_id": action_id,
            "event": event,
            "digest": fingerprint,
            "response": response,
            "created_at": utcnow(),
        },
    )


def room(workshop_id: int, role: str | None = None) -> str:
    """The Socket.IO room of every screen of one workshop, or of one role's screens."""
    return f"workshop:{workshop_id}" if role is None else f"workshop:{workshop_id}:{role}"


def participant_room(participant_id: int) -> str:
    """The room of one participant's sockets (all their tabs and reconnects)."""
    return f"participant:{participant_id}"


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
                from .sockets import socketio

                socketio.start_background_task(self._run)

    def flush(self) -> None:
        from .sockets import socketio

        with self._lock:
            pending, self._pending = self._pending, {}
        for (workshop_id, event_type), items in pending.items():
            payload = {"type": event_type, "data": {"items": list(items.values())}}
            socketio.emit(protocol.TRANSIENT, payload, to=room(workshop_id))

    def _run(self) -> None:
        from .sockets import socketio

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


Refresher = Callable[[Session, Any], dict[str, Any] | None]
_refreshers: dict[str, Refresher] = {}
#: Derived views (a poll's running count) are recomputed at most this often.
REFRESH_INTERVAL = 0.1
#: ...and sent to phones at most this often: a room of phones is the costly audience.
PHONE_REFRESH_INTERVAL = 1.0
#: Except when the view has stopped changing for this long: then phones get its final
#: value at once (if they got none for PHONE_QUIET_SPACING), not up to a second later.
PHONE_QUIET = 0.15
PHONE_QUIET_SPACING = 0.25


def refresher(kind: str) -> Callable[[Refresher], Refresher]:
    """Declare how to recompute a derived view sent as a ``transient`` of type ``kind``."""

    def register(func: Refresher) -> Refresher:
        _refreshers[kind] = func
        return func

    return register


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
                from .sockets import socketio

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
        from .db import db
        from .sockets import socketio

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
                data = _refreshers[kind](session, key)
                if data is None:
                    continue
                payload = {"type": kind, "data": data}
                if item in screens:
                    for role in ("facilitator", "projector"):
                        socketio.emit(protocol.TRANSIENT, payload, to=room(workshop_id, role))
                if item in phones:
                    socketio.emit(protocol.TRANSIENT, payload, to=room(workshop_id, "participant"))

    def _run(self) -> None:
        from .sockets import socketio

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


def publish(published: list[Published]) -> None:
    """Send committed events to their rooms. Call only after commit."""
    from .sockets import disconnect_room, socketio

    for item in published:
        if item.type in _redactions:
            for role in SCREEN_ROLES:
                payload = {**item.payload(), "data": view(item.type, item.data, role)}
                socketio.emit(protocol.EVENT, payload, to=room(item.workshop_id, role))
        else:
            socketio.emit(protocol.EVENT, item.payload(), to=room(item.workshop_id))
        if item.type == protocol.PARTICIPANT_REMOVED:
            disconnect_room(participant_room(item.data["participant_id"]))
