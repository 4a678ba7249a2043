"""Idempotency receipts: the answer given to each client action, so a retried
action id has no second effect and an id reused for other parameters is refused."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, bindparam, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from facilitator.core.db import Base, utcnow


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


def digest(event: str, params: dict[str, Any]) -> str:
    """A fingerprint of an action: its name and canonical parameters."""
    canonical = json.dumps([event, params], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


_FIND_RECEIPT = select(ActionReceipt.digest, ActionReceipt.response).where(
    ActionReceipt.workshop_id == bindparam("wid"),
    ActionReceipt.actor == bindparam("actor"),
    ActionReceipt.action_id == bindparam("aid"),
)
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


def find_receipts(
    session: Session, workshop_id: int, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """The digest and response of each action already performed, by (actor, action id),
    with one query."""
    if not keys:
        return {}
    if len(keys) == 1:  # one call on its own: the plain equality lookup
        actor, action_id = keys[0]
        row = session.execute(
            _FIND_RECEIPT, {"wid": workshop_id, "actor": actor, "aid": action_id}
        ).first()
        return {} if row is None else {keys[0]: (row.digest, row.response)}
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
    rows = [
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
    ]
    # One row on its own is one plain INSERT; a list of them one executemany.
    session.execute(_STORE_RECEIPTS, rows[0] if len(rows) == 1 else rows)
