"""Snapshots: the whole state a screen needs, with the sequence number it is at."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from . import live, plan, signoff
from .agenda import snapshot_part as agenda_snapshot
from .board import boards_snapshot
from .polls import snapshot_part as polls_snapshot
from .stakeholders import snapshot_part as stakeholders_snapshot
from .workshops import Participant, Workshop, active_participants, presence, public_info

#: Reuse the parts of a snapshot that are the same for every screen of a role while
#: the workshop's sequence number stands still (off when several processes write:
#: see :func:`configure`).
_share = True
#: (workshop id, its creation time, role) -> (seq, when read, parts), newest last.
_shared: dict[tuple[int, datetime, str], tuple[int, float, dict[str, Any]]] = {}
_SHARED_MAX = 256
#: Derived views changed this long before a shared read are sent again on reuse.
_MARGIN = 1.0


def configure(share: bool) -> None:
    """Share role-wide parts between snapshots only if this process sees every change
    (no message queue): then it knows which derived views changed since a read."""
    global _share
    _share = share
    _shared.clear()


def snapshot(
    session: Session, workshop: Workshop, role: str, participant: Participant | None = None
) -> dict[str, Any]:
    """The state of ``workshop`` as ``role`` may see it.

    Read in the same transaction as ``workshop.seq``, so a client that applies
    events with a higher number from here on misses nothing.
    """
    state: dict[str, Any] = {"seq": workshop.seq, "role": role}
    state.update(_role_parts(session, workshop, role))
    if participant is not None:
        state["me"] = participant.as_dict()
    state["boards"] = boards_snapshot(session, workshop, role, participant)
    state["stakeholders"] = stakeholders_snapshot(session, workshop, participant)
    if role == "participant":
        state["stakeholders"]["summaries"] = {}  # not while they place (see placement:summary)
    state["polls"] = polls_snapshot(session, workshop, participant)
    state["agendas"] = agenda_snapshot(session, workshop, role, participant)
    return state


def _role_parts(session: Session, workshop: Workshop, role: str) -> dict[str, Any]:
    """The parts that depend on the role only, read once per sequence number.

    Every change to them appends an event, so while the workshop's ``seq`` is
    the one they were read at they are still true - except derived views (the
    running counts of :func:`live.schedule_refresh`), which change without an
    event: those changed since the read are sent again, so a screen that
    joined its rooms after the read gets their newer value. Read-only: the same
    dictionaries go into every snapshot.
    """
    key = (workshop.id, workshop.created_at, role)
    if _share:
        found = _shared.get(key)
        if found is not None and found[0] == workshop.seq:
            live.refresh_again(workshop.id, since=found[1] - _MARGIN)
            return found[2]
    read_at = time.monotonic()
    parts: dict[str, Any] = {
        "workshop": public_info(workshop),
        "stages": [stage.as_dict() for stage in workshop.stages],
        "current_stage_id": workshop.current_stage_id,
        "presence": presence(session, workshop.id),
    }
    if role == "facilitator":
        parts["participants"] = [p.as_dict() for p in active_participants(session, workshop.id)]
    parts["plan"] = plan.snapshot_part(session, workshop, role)
    parts["signoff"] = signoff.snapshot_part(session, workshop)
    if _share:
        _shared.pop(key, None)
        _shared[key] = (workshop.seq, read_at, parts)
        while len(_shared) > _SHARED_MAX:
            _shared.pop(next(iter(_shared)))
    return parts
