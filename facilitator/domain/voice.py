"""Share of voice: who is present, who writes, proposes and votes, per organisation
and per sector, against their share of the room. Makes visible when one partner
dominates (or when one is silent)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facilitator.core.text import name_key
from facilitator.domain.agenda import AgendaDot, AgendaItem
from facilitator.domain.board import Note
from facilitator.domain.polls import Poll, PollRound, Turnout
from facilitator.domain.stakeholders import Stakeholder
from facilitator.domain.workshops import Participant, Workshop

MEASURES = ("present", "notes", "proposals", "votes")


def _per_participant(session: Session, workshop: Workshop) -> dict[int, Counter[str]]:
    counts: dict[int, Counter[str]] = {}

    def add(rows: Any, measure: str) -> None:
        for participant_id, n in rows:
            if participant_id is not None:
                counts.setdefault(participant_id, Counter())[measure] += n

    wid = workshop.id
    add(
        session.execute(
            select(Note.author_id, func.count())
            .where(Note.workshop_id == wid)
            .group_by(Note.author_id)
        ).all(),
        "notes",
    )
    add(
        session.execute(
            select(AgendaItem.proposed_by, func.count())
            .where(AgendaItem.workshop_id == wid)
            .group_by(AgendaItem.proposed_by)
        ).all(),
        "proposals",
    )
    add(
        session.execute(
            select(Stakeholder.proposed_by, func.count())
            .where(Stakeholder.workshop_id == wid)
            .group_by(Stakeholder.proposed_by)
        ).all(),
        "proposals",
    )
    add(
        session.execute(
            select(Turnout.participant_id, func.count())
            .join(PollRound, PollRound.id == Turnout.round_id)
            .join(Poll, Poll.id == PollRound.poll_id)
            .where(Poll.workshop_id == wid)
            .group_by(Turnout.participant_id)
        ).all(),
        "votes",
    )
    # Spending dots on the agenda counts as one vote per agenda.
    add(
        session.execute(
            select(AgendaDot.participant_id, func.count(func.distinct(AgendaItem.stage_id)))
            .join(AgendaItem, AgendaItem.id == AgendaDot.item_id)
            .where(AgendaItem.workshop_id == wid)
            .group_by(AgendaDot.participant_id)
        ).all(),
        "votes",
    )
    return counts


def share_of_voice(session: Session, workshop: Workshop) -> dict[str, Any]:
    """Per organisation and per sector: counts, and shares of each measure."""
    people = session.execute(
        select(Participant.id, Participant.organisation, Participant.sector)
        .where(Participant.workshop_id == workshop.id, Participant.removed_at.is_(None))
        .order_by(Participant.id)
    ).all()
    activity = _per_participant(session, workshop)
    result: dict[str, Any] = {}
    for field, index in (("by_organisation", 1), ("by_sector", 2)):
        groups: dict[str, Counter[str]] = {}
        shown: dict[str, str] = {}  # one name per group, as its first member wrote it
        for person in people:
            key = name_key(person[index])
            group = groups.setdefault(shown.setdefault(key, person[index]), Counter())
            group["present"] += 1
            group.update(activity.get(person[0], Counter()))
        totals = {m: sum(g[m] for g in groups.values()) for m in MEASURES}
        rows = []
        for name, group in groups.items():
            row: dict[str, Any] = {"name": name}
            for m in MEASURES:
                row[m] = group[m]
                row[f"{m}_share"] = round(group[m] / totals[m], 3) if totals[m] else 0.0
            # Above 1: this group is heard more than its share of the room.
            row["voice_ratio"] = (
                round(
                    (row["notes_share"] + row["proposals_share"] + row["votes_share"])
                    / 3
                    / row["present_share"],
                    2,
                )
                if row["present_share"]
                else 0.0
            )
            rows.append(row)
        rows.sort(key=lambda r: (-r["present"], r["name"]))
        result[field] = rows
        result["totals"] = totals
    return result
