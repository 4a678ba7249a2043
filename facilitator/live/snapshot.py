"""Snapshots: the whole state a screen needs, with the sequence number it is at."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from facilitator.domain import (
    agenda,
    ballots,
    board,
    organisations,
    plan_view,
    signoff,
    stakeholders,
)
from facilitator.domain.workshops import (
    Participant,
    Workshop,
    active_participants,
    presence,
    public_info,
)
from facilitator.live.coalescing import refresh_again

#: Reuse what a snapshot reads for every screen of a role while the workshop's
#: sequence number stands still (off when several processes write: see
#: :func:`configure`).
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
    events with a higher number from here on misses nothing. What every screen of
    the role sees is read once per sequence number (a wave of reconnecting phones
    reads it once); what is one participant's own is read for each.
    """
    parts = _role_parts(session, workshop, role)
    state: dict[str, Any] = {"seq": workshop.seq, "role": role}
    state.update(parts["top"])
    if participant is not None:
        state["me"] = participant.as_dict()
    state["boards"] = board.boards_view(parts["boards"], role, participant)
    state["stakeholders"] = stakeholders.personal_part(parts["stakeholders"], session, participant)
    state["polls"] = ballots.personal_part(parts["polls"], session, participant)
    state["agendas"] = agenda.personal_part(parts["agendas"], session, participant)
    return state


def _role_parts(session: Session, workshop: Workshop, role: str) -> dict[str, Any]:
    """The parts that depend on the role only, read once per sequence number.

    Every change to them appends an event, so while the workshop's ``seq`` is
    the one they were read at they are still true - except derived views (the
    running counts of :func:`facilitator.live.coalescing.schedule_refresh`), which change without an
    event: those changed since the read are sent again, so a screen that
    joined its rooms after the read gets their newer value. Read-only: the same
    dictionaries go into every snapshot.
    """
    key = (workshop.id, workshop.created_at, role)
    if _share:
        found = _shared.get(key)
        if found is not None and found[0] == workshop.seq:
            refresh_again(workshop.id, since=found[1] - _MARGIN)
            return found[2]
    read_at = time.monotonic()
    top: dict[str, Any] = {
        "workshop": public_info(workshop),
        "stages": [stage.as_dict() for stage in workshop.stages],
        "current_stage_id": workshop.current_stage_id,
        "presence": presence(session, workshop.id),
    }
    if role == "facilitator":
        top["participants"] = [p.as_dict() for p in active_participants(session, workshop.id)]
    top["organisations"] = organisations.snapshot_part(session, workshop, role)
    top["plan"] = plan_view.snapshot_part(session, workshop, role)
    top["signoff"] = signoff.snapshot_part(session, workshop)
    parts = {
        "top": top,
        "boards": board.boards_shared(session, workshop),
        "stakeholders": stakeholders.shared_part(session, workshop),
        "polls": ballots.shared_part(session, workshop),
        "agendas": agenda.shared_part(session, workshop),
    }
    if _share:
        _shared.pop(key, None)
        _shared[key] = (workshop.seq, read_at, parts)
        while len(_shared) > _SHARED_MAX:
            _shared.pop(next(iter(_shared)))
    return parts
