"""What a change is: an :class:`Event` to announce, the :class:`Outcome` a domain
operation hands back, and the stored :class:`EventRecord` of each published event.

Domain modules also declare here how an event's data is cut down for roles that
may not see all of it (:func:`redacted_for`) and how a derived view is recomputed
(:func:`refresher`); the live layer reads both registries when it publishes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, Session, mapped_column

from facilitator.core.db import Base, utcnow


@dataclass(frozen=True)
class Event:
    """A change to announce: ``type`` is a ``noun:verb`` name from :mod:`protocol`."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What a domain operation hands back to the edge: a result and events."""

    result: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    #: Passing updates (a note being dragged): not numbered, not stored, may be dropped.
    transient: list[Event] = field(default_factory=list)
    #: Derived views to recompute and send after commit, coalesced: (kind, key).
    refresh: list[tuple[str, Any]] = field(default_factory=list)


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


Redaction = Callable[[dict[str, Any], str], dict[str, Any]]
_redactions: dict[str, Redaction] = {}


def redacted_for(event_type: str) -> Callable[[Redaction], Redaction]:
    """Declare how an event type's data is cut down for roles that may not see all of it."""

    def register(func: Redaction) -> Redaction:
        _redactions[event_type] = func
        return func

    return register


def is_redacted(event_type: str) -> bool:
    """Whether some roles see less of this event type's data than others."""
    return event_type in _redactions


def view(event_type: str, data: dict[str, Any], role: str) -> dict[str, Any]:
    """The data of an event as ``role`` may see it."""
    redact = _redactions.get(event_type)
    return redact(data, role) if redact else data


Refresher = Callable[[Session, Any], dict[str, Any] | None]
_refreshers: dict[str, Refresher] = {}


def refresher(kind: str) -> Callable[[Refresher], Refresher]:
    """Declare how to recompute a derived view sent as a ``transient`` of type ``kind``."""

    def register(func: Refresher) -> Refresher:
        _refreshers[kind] = func
        return func

    return register


def refreshed(session: Session, kind: str, key: Any) -> dict[str, Any] | None:
    """The derived view ``kind`` of ``key`` now, or None when it is gone."""
    return _refreshers[kind](session, key)
