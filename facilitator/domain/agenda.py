"""The agenda: items proposed by the room, prioritised by dots, ordered, time-boxed.

Participants propose items (typed, or promoted from a board note); the
facilitator edits, merges duplicates and removes. Each participant has N dots
(from the stage's config, or set by the facilitator) to spread over the items,
stacked or not; the totals stay hidden until the facilitator reveals them and
then give the starting order. The facilitator orders the items, sets a time box
for each, marks the current one and runs its timer (start, pause, extend); the
timer is a state (started at, elapsed before), so every screen counts down
from the same numbers, whoever reconnects when.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from facilitator.core import protocol, quotas
from facilitator.core.db import Base, utcnow
from facilitator.core.errors import CONFLICT, INVALID, NOT_FOUND, STAGE, DomainError
from facilitator.core.events import Event, Outcome, refresher
from facilitator.core.i18n import N_
from facilitator.core.text import clean_text
from facilitator.domain.board import Note
from facilitator.domain.workshops import Participant, Stage, Workshop

TITLE_MAX = 200


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    __table_args__ = (Index("ix_agenda_items_stage", "stage_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    proposed_by: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL")
    )
    #: The board note it was promoted from, if any.
    note_id: Mapped[int | None] = mapped_column(ForeignKey("notes.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(default=0)
    minutes: Mapped[int] = mapped_column(default=10)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgendaDot(Base):
    """How many dots one participant put on one item."""

    __tablename__ = "agenda_dots"
    __table_args__ = (UniqueConstraint("item_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    dots: Mapped[int]


def item_dict(item: AgendaItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "stage_id": item.stage_id,
        "title": item.title,
        "position": item.position,
        "minutes": item.minutes,
        "note_id": item.note_id,
    }


def settings(stage: Stage) -> dict[str, Any]:
    config, state = stage.config or {}, stage.state or {}
    return {
        "dots": int(state.get("dots", config.get("dots_per_participant", 3))),
        "stacking": bool(state.get("stacking", config.get("allow_stacking", True))),
        "revealed": bool(state.get("revealed", False)),
        "current_item_id": state.get("current_item_id"),
        "timer": state.get("timer"),
    }


def _stage(workshop: Workshop) -> Stage:
    stage = workshop.current_stage
    if stage is None or stage.type != "agenda":
        raise DomainError(STAGE, "The current stage is not the agenda.")
    return stage


def _item(session: Session, stage: Stage, item_id: int) -> AgendaItem:
    item = session.get(AgendaItem, item_id)
    if item is None or item.stage_id != stage.id:
        raise DomainError(NOT_FOUND, "There is no agenda item {id}.", values={"id": item_id})
    return item


def _title(text: str) -> str:
    return clean_text(
        text,
        "title",
        TITLE_MAX,
        missing=N_("An agenda item needs a title."),
        too_long=N_("An agenda item has at most {max} characters."),
    )


def _items(session: Session, stage: Stage) -> list[AgendaItem]:
    return list(
        session.scalars(
            select(AgendaItem)
            .where(AgendaItem.stage_id == stage.id)
            .order_by(AgendaItem.position, AgendaItem.id)
        )
    )


def totals(session: Session, stage: Stage) -> dict[str, int]:
    rows = session.execute(
        select(AgendaDot.item_id, func.sum(AgendaDot.dots))
        .join(AgendaItem, AgendaItem.id == AgendaDot.item_id)
        .where(AgendaItem.stage_id == stage.id)
        .group_by(AgendaDot.item_id)
    ).all()
    return {str(item_id): int(total) for item_id, total in rows}


def _voters(session: Session, stage: Stage) -> int:
    return (
        session.scalar(
            select(func.count(func.distinct(AgendaDot.participant_id)))
            .join(AgendaItem, AgendaItem.id == AgendaDot.item_id)
            .where(AgendaItem.stage_id == stage.id)
        )
        or 0
    )


def _next_position(session: Session, stage: Stage) -> int:
    return (
        session.scalar(select(func.max(AgendaItem.position)).where(AgendaItem.stage_id == stage.id))
        or 0
    ) + 1


# -- items -----------------------------------------------------------------------------------


def propose(
    session: Session,
    workshop: Workshop,
    participant: Participant | None,
    title: str,
    minutes: int | None,
) -> Outcome:
    stage = _stage(workshop)
    if participant is not None:
        quotas.check(
            session,
            AgendaItem,
            [AgendaItem.stage_id == stage.id, AgendaItem.proposed_by == participant.id],
            quotas.AGENDA_ITEMS_PER_PARTICIPANT,
            N_(
                "You have reached the limit of {limit} agenda items proposed. "
                "Ask the facilitator if more are needed."
            ),
        )
    item = AgendaItem(
        workshop_id=workshop.id,
        stage_id=stage.id,
        title=_title(title),
        proposed_by=participant.id if participant else None,
        position=_next_position(session, stage),
        minutes=minutes or int((stage.config or {}).get("default_minutes", 10)),
    )
    session.add(item)
    session.flush()
    data = {"item": item_dict(item)}
    return Outcome(result=data, events=[Event(protocol.AGENDA_ITEM_ADDED, data)])


def promote_note(
    session: Session, workshop: Workshop, participant: Participant | None, note_id: int
) -> Outcome:
    """Turn a board note into an agenda item (its own note, for a participant)."""
    note = session.get(Note, note_id)
    if note is None or note.workshop_id != workshop.id or note.private:
        raise DomainError(NOT_FOUND, "There is no note {id} to promote.", values={"id": note_id})
    if participant is not None and note.author_id != participant.id:
        raise DomainError(INVALID, "You can promote only your own notes.")
    outcome = propose(session, workshop, participant, note.text[:TITLE_MAX], None)
    item = session.get(AgendaItem, outcome.result["item"]["id"])
    assert item is not None
    item.note_id = note.id
    session.flush()
    outcome.result["item"]["note_id"] = note.id
    return outcome


def edit(
    session: Session, workshop: Workshop, item_id: int, title: str | None, minutes: int | None
) -> Outcome:
    stage = _stage(workshop)
    item = _item(session, stage, item_id)
    if title is not None:
        item.title = _title(title)
    if minutes is not None:
        item.minutes = minutes
    session.flush()
    data = {"item": item_dict(item)}
    return Outcome(result=data, events=[Event(protocol.AGENDA_ITEM_UPDATED, data)])


def remove(session: Session, workshop: Workshop, item_id: int, into_id: int | None) -> Outcome:
    """Remove an item; merging moves its dots to the item it duplicates."""
    stage = _stage(workshop)
    item = _item(session, stage, item_id)
    if into_id is not None:
        if into_id == item_id:
            raise DomainError(INVALID, "An item cannot be merged into itself.")
        target = _item(session, stage, into_id)
        for dot in session.scalars(select(AgendaDot).where(AgendaDot.item_id == item.id)):
            existing = session.scalar(
                select(AgendaDot).where(
                    AgendaDot.item_id == target.id, AgendaDot.participant_id == dot.participant_id
                )
            )
            if existing is None:
                dot.item_id = target.id
            else:  # one person's dots on both duplicates: keep the larger stack
                existing.dots = max(existing.dots, dot.dots)
                session.delete(dot)
        session.flush()
    session.delete(item)
    session.flush()
    state = dict(stage.state or {})
    if state.get("current_item_id") == item_id:
        state["current_item_id"] = None
        stage.state = state
    data: dict[str, Any] = {"item_id": item_id, "merged_into": into_id}
    if settings(stage)["revealed"]:
        data["totals"] = totals(session, stage)
    return Outcome(result=data, events=[Event(protocol.AGENDA_ITEM_REMOVED, data)])


def order(session: Session, workshop: Workshop, item_ids: list[int]) -> Outcome:
    stage = _stage(workshop)
    items = {i.id: i for i in _items(session, stage)}
    if sorted(item_ids) != sorted(items):
        raise DomainError(INVALID, "Give every agenda item exactly once, in the new order.")
    for position, item_id in enumerate(item_ids, start=1):
        items[item_id].position = position
    session.flush()
    data = {"stage_id": stage.id, "order": item_ids}
    return Outcome(result=data, events=[Event(protocol.AGENDA_ORDERED, data)])


def order_by_dots(session: Session, workshop: Workshop) -> Outcome:
    stage = _stage(workshop)
    counted = totals(session, stage)
    items = _items(session, stage)
    ranked = sorted(items, key=lambda i: (-counted.get(str(i.id), 0), i.position, i.id))
    return order(session, workshop, [i.id for i in ranked])


# -- dots ------------------------------------------------------------------------------------


def place_dots(
    session: Session, workshop: Workshop, participant: Participant, dots: dict[int, int]
) -> Outcome:
    """Replace this participant's dots with ``dots`` (item -> count)."""
    stage = _stage(workshop)
    rules = settings(stage)
    if rules["revealed"]:
        raise DomainError(CONFLICT, "The dots are counted and revealed; voting is over.")
    for item_id, count in dots.items():
        _item(session, stage, item_id)
        if count < 0:
            raise DomainError(INVALID, "Dots are whole numbers from 0.")
        if count > 1 and not rules["stacking"]:
            raise DomainError(INVALID, "One dot per item in this vote.")
    used = sum(dots.values())
    if used > rules["dots"]:
        raise DomainError(
            INVALID,
            "You have {dots} dots; this uses {used}.",
            values={"dots": rules["dots"], "used": used},
        )
    mine = session.scalars(
        select(AgendaDot)
        .join(AgendaItem, AgendaItem.id == AgendaDot.item_id)
        .where(AgendaItem.stage_id == stage.id, AgendaDot.participant_id == participant.id)
    )
    for dot in mine:
        session.delete(dot)
    session.flush()
    for item_id, count in dots.items():
        if count:
            session.add(AgendaDot(item_id=item_id, participant_id=participant.id, dots=count))
    session.flush()
    # No numbered event per ballot: the room sees a coalesced count of who has
    # placed dots (at most every 100 ms); totals only when revealed.
    return Outcome(
        result={"dots": {str(k): v for k, v in dots.items() if v}, "used": used},
        refresh=[(protocol.AGENDA_COUNT, stage.id)],
    )


@refresher(protocol.AGENDA_COUNT)
def dot_count(session: Session, stage_id: int) -> dict[str, Any] | None:
    stage = session.get(Stage, stage_id)
    if stage is None:
        return None
    return {"stage_id": stage.id, "voters": _voters(session, stage)}


def configure(
    session: Session, workshop: Workshop, dots: int | None, stacking: bool | None
) -> Outcome:
    stage = _stage(workshop)
    if _voters(session, stage):
        raise DomainError(CONFLICT, "Dots have been placed; the rules of this dot vote are fixed.")
    state = dict(stage.state or {})
    if dots is not None:
        state["dots"] = dots
    if stacking is not None:
        state["stacking"] = stacking
    stage.state = state
    session.flush()
    data = {"stage_id": stage.id, "settings": settings(stage)}
    return Outcome(result=data, events=[Event(protocol.AGENDA_CHANGED, data)])


def reveal(session: Session, workshop: Workshop) -> Outcome:
    stage = _stage(workshop)
    stage.state = {**(stage.state or {}), "revealed": True}
    session.flush()
    data = {
        "stage_id": stage.id,
        "voters": _voters(session, stage),
        "totals": totals(session, stage),
        "revealed": True,
    }
    return Outcome(result=data, events=[Event(protocol.AGENDA_DOTS, data)])


# -- running the agenda ----------------------------------------------------------------------


def set_current(session: Session, workshop: Workshop, item_id: int | None) -> Outcome:
    stage = _stage(workshop)
    if item_id is not None:
        _item(session, stage, item_id)
    stage.state = {**(stage.state or {}), "current_item_id": item_id, "timer": None}
    session.flush()
    data = {"stage_id": stage.id, "settings": settings(stage)}
    return Outcome(result=data, events=[Event(protocol.AGENDA_CHANGED, data)])


def timer(session: Session, workshop: Workshop, command: str, seconds: int) -> Outcome:
    """start, pause or extend the current item's timer.

    The timer is ``{duration, elapsed, started_at}`` in seconds (``started_at``
    is a Unix time while it runs, null while paused): remaining time is
    ``duration - elapsed - (now - started_at)``, computed by each screen.
    """
    stage = _stage(workshop)
    state = dict(stage.state or {})
    current = state.get("current_item_id")
    if current is None:
        raise DomainError(CONFLICT, "Choose the current agenda item first.")
    item = _item(session, stage, current)
    clock = state.get("timer") or {
        "duration": item.minutes * 60,
        "elapsed": 0.0,
        "started_at": None,
    }
    now = time.time()
    if command == "start":
        if clock["started_at"] is None:
            clock["started_at"] = now
    elif command == "pause":
        if clock["started_at"] is not None:
            clock["elapsed"] += now - clock["started_at"]
            clock["started_at"] = None
    elif command == "extend":
        clock["duration"] += seconds
    state["timer"] = clock
    stage.state = state
    session.flush()
    data = {"stage_id": stage.id, "settings": settings(stage), "server_time": now}
    return Outcome(result=data, events=[Event(protocol.AGENDA_CHANGED, data)])


def shared_part(session: Session, workshop: Workshop) -> dict[str, Any]:
    """Every agenda stage as every screen sees it (read-only). Who has placed dots
    changes without an event: a derived view (``agenda:count``), sent again to a
    screen that got an older one."""
    out: dict[str, Any] = {}
    for stage in workshop.stages:
        if stage.type != "agenda":
            continue
        rules = settings(stage)
        part: dict[str, Any] = {
            "settings": rules,
            "items": [item_dict(i) for i in _items(session, stage)],
            "voters": _voters(session, stage),
        }
        if rules["revealed"]:
            part["totals"] = totals(session, stage)
        out[str(stage.id)] = part
    return out


def personal_part(
    shared: dict[str, Any], session: Session, participant: Participant | None
) -> dict[str, Any]:
    """The agendas for one screen, with the server's clock now (for countdowns), and
    a participant's own dots."""
    now = time.time()
    out: dict[str, Any] = {}
    for stage_id, part in shared.items():
        mine: dict[str, Any] = {**part, "server_time": now}
        if participant is not None:
            dots = session.execute(
                select(AgendaDot.item_id, AgendaDot.dots)
                .join(AgendaItem, AgendaItem.id == AgendaDot.item_id)
                .where(
                    AgendaItem.stage_id == int(stage_id),
                    AgendaDot.participant_id == participant.id,
                )
            ).all()
            mine["mine"] = {str(i): d for i, d in dots}
        out[stage_id] = mine
    return out
