"""The event log: per-workshop sequence numbers, the write lock, and catching up.

Every change appends its events to the workshop's log, numbered by a
per-workshop sequence, in the same transaction as the change. A client that
misses a number fetches what it missed (or a snapshot) and carries on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from facilitator.core.events import Event, EventRecord, view
from facilitator.domain.workshops import Workshop

#: A client further behind than this gets a snapshot instead of the events.
MAX_REPLAY = 500


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
    return update(Workshop).where(Workshop.id == bindparam("wid")).values(seq=Workshop.seq)


def append(session: Session, workshop_id: int, events: list[Event]) -> list[Published]:
    """Number ``events`` and write them to the log, inside the caller's transaction."""
    if not events:
        return []
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
