"""How much one participant may add: a room of 500 phones must not let one of them
fill a board, a map, an agenda or a plan for everyone else.

The numbers are far above what a person writes in a workshop; the facilitator has
none of these limits. Text lengths are checked where each text is cleaned.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facilitator.core.errors import INVALID, DomainError

#: Notes of one participant on one board.
NOTES_PER_PARTICIPANT = 100
#: Groups on one board, for participants creating them (the facilitator may add more).
GROUPS_PER_BOARD = 100
#: Stakeholder cards one participant proposes in a workshop.
STAKEHOLDERS_PER_PARTICIPANT = 50
#: Agenda items one participant proposes (or promotes from notes) on one agenda.
AGENDA_ITEMS_PER_PARTICIPANT = 30
#: Plan actions one participant proposes in a workshop.
ACTIONS_PER_PARTICIPANT = 50


def check(session: Session, model: Any, where: list[Any], limit: int, refusal: str) -> None:
    """Refuse one more row when the rows matching ``where`` number ``limit`` already.

    ``refusal`` is a full sentence with ``{limit}``, marked for translation (``N_``).
    """
    count = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    if count >= limit:
        raise DomainError(INVALID, refusal, values={"limit": limit}, limit=limit)
