"""Snapshots: the whole state a screen needs, with the sequence number it is at."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import plan, signoff
from .agenda import snapshot_part as agenda_snapshot
from .board import boards_snapshot
from .polls import snapshot_part as polls_snapshot
from .stakeholders import snapshot_part as stakeholders_snapshot
from .workshops import Participant, Workshop, active_participants, presence, public_info


def snapshot(
    session: Session, workshop: Workshop, role: str, participant: Participant | None = None
) -> dict[str, Any]:
    """The state of ``workshop`` as ``role`` may see it.

    Read in the same transaction as ``workshop.seq``, so a client that applies
    events with a higher number from here on misses nothing.
    """
    state: dict[str, Any] = {
        "seq": workshop.seq,
        "role": role,
        "workshop": public_info(workshop),
        "stages": [stage.as_dict() for stage in workshop.stages],
        "current_stage_id": workshop.current_stage_id,
        "presence": presence(session, workshop.id),
    }
    if role == "facilitator":
        state["participants"] = [p.as_dict() for p in active_participants(session, workshop.id)]
    if participant is not None:
        state["me"] = participant.as_dict()
    state["boards"] = boards_snapshot(session, workshop, role, participant)
    state["stakeholders"] = stakeholders_snapshot(session, workshop, participant)
    if role == "participant":
        state["stakeholders"]["summaries"] = {}  # not while they place (see placement:summary)
    state["polls"] = polls_snapshot(session, workshop, participant)
    state["agendas"] = agenda_snapshot(session, workshop, role, participant)
    state["plan"] = plan.snapshot_part(session, workshop, role)
    state["signoff"] = signoff.snapshot_part(session, workshop)
    return state
