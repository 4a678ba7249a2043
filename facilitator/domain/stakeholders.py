"""The stakeholder map: cards on a power/interest grid, and the room's placements.

Power and interest run from 0 to the kit's ``scale_max``; the quadrant follows
from the midpoint (Mendelow), the salience class from the power, legitimacy and
urgency attributes (Mitchell, Agle & Wood). In participatory mode every
participant places every stakeholder privately; the screens get, per
stakeholder, the room's median position and how far the room disagrees
(the spread), never who placed what.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from facilitator.core import protocol, quotas
from facilitator.core.db import Base, utcnow
from facilitator.core.errors import CONFLICT, INVALID, NOT_FOUND, STAGE, DomainError
from facilitator.core.events import Event, Outcome
from facilitator.core.i18n import N_
from facilitator.core.text import clean_text
from facilitator.domain.workshops import Participant, Workshop

NAME_MAX = 80
NOTES_MAX = 500
POSITIONS = {
    -3: N_("Strong opponent"),
    -2: N_("Opponent"),
    -1: N_("Leaning against"),
    0: N_("Neutral"),
    1: N_("Leaning for"),
    2: N_("Supporter"),
    3: N_("Strong supporter"),
}
PROPOSED = "proposed"
ACCEPTED = "accepted"
SALIENCE = {
    (False, False, False): "none",
    (True, False, False): "dormant",
    (False, True, False): "discretionary",
    (False, False, True): "demanding",
    (True, True, False): "dominant",
    (True, False, True): "dangerous",
    (False, True, True): "dependent",
    (True, True, True): "definitive",
}


class Stakeholder(Base):
    __tablename__ = "stakeholders"
    __table_args__ = (Index("ix_stakeholders_workshop", "workshop_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    category: Mapped[str] = mapped_column(String(80), default="")
    sector: Mapped[str] = mapped_column(String(60), default="")
    level: Mapped[str] = mapped_column(String(40), default="")
    power: Mapped[float] = mapped_column(Float)
    interest: Mapped[float] = mapped_column(Float)
    #: From -3 (strong opponent) to +3 (strong supporter).
    position: Mapped[int] = mapped_column(default=0)
    legitimacy: Mapped[bool] = mapped_column(default=False)
    urgency: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str] = mapped_column(String(NOTES_MAX), default="")
    #: ``proposed`` by a participant until the facilitator accepts it.
    status: Mapped[str] = mapped_column(String(12), default=ACCEPTED)
    proposed_by: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL")
    )
    #: Increments with every change of its details, for conflict detection.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Placement(Base):
    """Where one participant put one stakeholder, in participatory mode."""

    __tablename__ = "placements"
    __table_args__ = (UniqueConstraint("stakeholder_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stakeholder_id: Mapped[int] = mapped_column(ForeignKey("stakeholders.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    power: Mapped[float] = mapped_column(Float)
    interest: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# -- the grid ----------------------------------------------------------------------------


def map_spec(workshop: Workshop) -> dict[str, Any]:
    spec = workshop.kit_data.get("stakeholder_map") or {}
    quadrants = {
        "manage_closely": "Key players: manage closely",
        "keep_satisfied": "Keep satisfied",
        "keep_informed": "Keep informed",
        "monitor": "Monitor",
        **(spec.get("quadrants") or {}),
    }
    return {
        "scale_max": int(spec.get("scale_max", 10)),
        "quadrants": quadrants,
        "positions": {str(k): v for k, v in POSITIONS.items()},
    }


def quadrant(power: float, interest: float, scale_max: int) -> str:
    mid = scale_max / 2
    if power >= mid:
        return "manage_closely" if interest >= mid else "keep_satisfied"
    return "keep_informed" if interest >= mid else "monitor"


def salience(power: float, legitimacy: bool, urgency: bool, scale_max: int) -> str:
    return SALIENCE[(power >= scale_max / 2, legitimacy, urgency)]


def as_dict(item: Stakeholder, scale_max: int) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "category": item.category,
        "sector": item.sector,
        "level": item.level,
        "power": item.power,
        "interest": item.interest,
        "position": item.position,
        "legitimacy": item.legitimacy,
        "urgency": item.urgency,
        "notes": item.notes,
        "status": item.status,
        "version": item.version,
        "quadrant": quadrant(item.power, item.interest, scale_max),
        "salience": salience(item.power, item.legitimacy, item.urgency, scale_max),
    }


def summarise(points: list[tuple[float, float]], scale_max: int) -> dict[str, Any]:
    """The room's median position and spread for one stakeholder.

    The spread is the median distance of the placements from that median
    point, as a share of the scale (0: everyone agrees; 0.5: typically half
    the grid apart), so a few outliers do not dominate it.
    """
    if not points:
        return {"count": 0, "power": None, "interest": None, "spread": None}
    power = statistics.median(p for p, _ in points)
    interest = statistics.median(i for _, i in points)
    distances = [math.hypot(p - power, i - interest) for p, i in points]
    return {
        "count": len(points),
        "power": round(power, 3),
        "interest": round(interest, 3),
        "spread": round(statistics.median(distances) / scale_max, 4),
    }


# -- loading and checks ----------------------------------------------------------------------


def get_stakeholder(session: Session, workshop: Workshop, stakeholder_id: int) -> Stakeholder:
    item = session.get(Stakeholder, stakeholder_id)
    if item is None or item.workshop_id != workshop.id:
        raise DomainError(
            NOT_FOUND,
            "There is no stakeholder {id} in this workshop.",
            values={"id": stakeholder_id},
        )
    return item


def map_stage(workshop: Workshop) -> Any:
    stage = workshop.current_stage
    if stage is None or stage.type != "stakeholder_map":
        raise DomainError(STAGE, "The current stage is not the stakeholder map.")
    return stage


def map_settings(workshop: Workshop) -> dict[str, Any]:
    stage = next((s for s in workshop.stages if s.type == "stakeholder_map"), None)
    state = (stage.state or {}) if stage else {}
    config = (stage.config or {}) if stage else {}
    return {"participatory": bool(state.get("participatory", config.get("participatory", False)))}


def _text(value: str, label: str, limit: int, required: bool = False) -> str:
    missing = N_("Please give the stakeholder's {field}.") if required else None
    return clean_text(value, label, limit, missing=missing)


def in_scale(value: float, label: str, scale_max: int) -> float:
    if not 0 <= value <= scale_max:
        raise DomainError(
            INVALID,
            "{field} must be between 0 and {max}.",
            values={"field": label, "max": scale_max},
            field=label,
        )
    return float(value)


def _changed(item: Stakeholder, scale_max: int) -> Event:
    return Event(protocol.STAKEHOLDER_UPDATED, {"stakeholder": as_dict(item, scale_max)})


# -- operations -------------------------------------------------------------------------------


def add(
    session: Session,
    workshop: Workshop,
    participant: Participant | None,
    name: str,
    category: str,
    sector: str,
    level: str,
    power: float | None,
    interest: float | None,
) -> Outcome:
    """The facilitator adds a card; a participant's card is a proposal to accept."""
    scale = map_spec(workshop)["scale_max"]
    if participant is not None:
        map_stage(workshop)
        quotas.check(
            session,
            Stakeholder,
            [Stakeholder.workshop_id == workshop.id, Stakeholder.proposed_by == participant.id],
            quotas.STAKEHOLDERS_PER_PARTICIPANT,
            N_(
                "You have reached the limit of {limit} stakeholders proposed. "
                "Ask the facilitator if more are needed."
            ),
        )
    item = Stakeholder(
        workshop_id=workshop.id,
        name=_text(name, "name", NAME_MAX, required=True),
        category=_text(category, "category", 80),
        sector=_text(sector, "sector", 60),
        level=_text(level, "level", 40),
        power=in_scale(power if power is not None else scale / 2, "power", scale),
        interest=in_scale(interest if interest is not None else scale / 2, "interest", scale),
        status=PROPOSED if participant is not None else ACCEPTED,
        proposed_by=participant.id if participant else None,
    )
    session.add(item)
    session.flush()
    data = {"stakeholder": as_dict(item, scale)}
    return Outcome(result=data, events=[Event(protocol.STAKEHOLDER_ADDED, data)])


def accept(session: Session, workshop: Workshop, stakeholder_id: int) -> Outcome:
    item = get_stakeholder(session, workshop, stakeholder_id)
    scale = map_spec(workshop)["scale_max"]
    if item.status == ACCEPTED:
        return Outcome(result={"stakeholder": as_dict(item, scale)})
    item.status = ACCEPTED
    item.version += 1
    session.flush()
    return Outcome(result={"stakeholder": as_dict(item, scale)}, events=[_changed(item, scale)])


EDITABLE = ("name", "category", "sector", "level", "position", "legitimacy", "urgency", "notes")


def update(
    session: Session,
    workshop: Workshop,
    stakeholder_id: int,
    version: int,
    changes: dict[str, Any],
) -> Outcome:
    item = get_stakeholder(session, workshop, stakeholder_id)
    scale = map_spec(workshop)["scale_max"]
    if item.version != version:
        raise DomainError(
            CONFLICT,
            "Someone changed this stakeholder meanwhile; here are its current details.",
            stakeholder=as_dict(item, scale),
        )
    if not changes:
        raise DomainError(INVALID, "Nothing to change.")
    limits = {"name": NAME_MAX, "category": 80, "sector": 60, "level": 40, "notes": NOTES_MAX}
    for key, value in changes.items():
        if key in limits:
            value = _text(value, key, limits[key], required=key == "name")
        setattr(item, key, value)
    item.version += 1
    session.flush()
    return Outcome(result={"stakeholder": as_dict(item, scale)}, events=[_changed(item, scale)])


def place(
    session: Session, workshop: Workshop, stakeholder_id: int, power: float, interest: float
) -> Outcome:
    """Put a card on the grid; the last committed placement wins."""
    item = get_stakeholder(session, workshop, stakeholder_id)
    scale = map_spec(workshop)["scale_max"]
    item.power = in_scale(power, "power", scale)
    item.interest = in_scale(interest, "interest", scale)
    session.flush()
    return Outcome(result={"stakeholder": as_dict(item, scale)}, events=[_changed(item, scale)])


def remove(session: Session, workshop: Workshop, stakeholder_id: int) -> Outcome:
    item = get_stakeholder(session, workshop, stakeholder_id)
    session.delete(item)
    session.flush()
    data = {"stakeholder_id": stakeholder_id, "merged_into": None}
    return Outcome(result=data, events=[Event(protocol.STAKEHOLDER_REMOVED, data)])


def merge(session: Session, workshop: Workshop, stakeholder_id: int, into_id: int) -> Outcome:
    """Fold a duplicate into another card: its placements move unless the person
    already placed the other card; the duplicate is removed."""
    if stakeholder_id == into_id:
        raise DomainError(INVALID, "A stakeholder cannot be merged into itself.")
    duplicate = get_stakeholder(session, workshop, stakeholder_id)
    target = get_stakeholder(session, workshop, into_id)
    scale = map_spec(workshop)["scale_max"]
    placed = set(
        session.scalars(
            select(Placement.participant_id).where(Placement.stakeholder_id == target.id)
        )
    )
    for placement in session.scalars(
        select(Placement).where(Placement.stakeholder_id == duplicate.id)
    ):
        if placement.participant_id not in placed:
            placement.stakeholder_id = target.id
    if target.status == PROPOSED:
        target.status = ACCEPTED
    target.version += 1
    session.flush()
    session.delete(duplicate)
    session.flush()
    removed = {"stakeholder_id": duplicate.id, "merged_into": target.id}
    return Outcome(
        result={"stakeholder": as_dict(target, scale)},
        events=[
            Event(protocol.STAKEHOLDER_REMOVED, removed),
            _changed(target, scale),
            summary_event(session, target.id, scale),
        ],
    )


def placement_points(session: Session, stakeholder_id: int) -> list[tuple[float, float]]:
    rows = session.execute(
        select(Placement.power, Placement.interest).where(
            Placement.stakeholder_id == stakeholder_id
        )
    )
    return [(p, i) for p, i in rows.all()]


def summary_event(session: Session, stakeholder_id: int, scale: int) -> Event:
    data = {
        "stakeholder_id": stakeholder_id,
        "summary": summarise(placement_points(session, stakeholder_id), scale),
    }
    return Event(protocol.PLACEMENT_SUMMARY, data)


def coverage(workshop: Workshop, items: list[dict[str, Any]], room_sectors: set[str]) -> dict:
    """The kit's sectors and categories with no stakeholder, and sectors mapped but absent."""
    accepted = [i for i in items if i["status"] == ACCEPTED]
    mapped_sectors = {i["sector"].lower() for i in accepted if i["sector"]}
    mapped_categories = {i["category"].lower() for i in accepted if i["category"]}
    in_room = {s.lower() for s in room_sectors}
    return {
        "sectors_without_stakeholder": [
            s for s in workshop.sectors if s.lower() not in mapped_sectors
        ],
        "categories_without_stakeholder": [
            c
            for c in workshop.kit_data.get("stakeholder_categories", [])
            if c.lower() not in mapped_categories
        ],
        "sectors_mapped_not_in_room": sorted(
            {i["sector"] for i in accepted if i["sector"] and i["sector"].lower() not in in_room}
        ),
    }


def shared_part(session: Session, workshop: Workshop) -> dict[str, Any]:
    """The map as every screen sees it (read-only)."""
    spec = map_spec(workshop)
    scale = spec["scale_max"]
    items = list(
        session.scalars(
            select(Stakeholder)
            .where(Stakeholder.workshop_id == workshop.id)
            .order_by(Stakeholder.id)
        )
    )
    summaries = {}
    rows = session.execute(
        select(Placement.stakeholder_id, Placement.power, Placement.interest)
        .join(Stakeholder, Stakeholder.id == Placement.stakeholder_id)
        .where(Stakeholder.workshop_id == workshop.id)
    ).all()
    by_item: dict[int, list[tuple[float, float]]] = {}
    for sid, p, i in rows:
        by_item.setdefault(sid, []).append((p, i))
    for sid, points in by_item.items():
        summaries[str(sid)] = summarise(points, scale)
    part: dict[str, Any] = {
        "spec": spec,
        "settings": map_settings(workshop),
        "items": [as_dict(i, scale) for i in items],
        "summaries": summaries,
    }
    return part


def personal_part(
    shared: dict[str, Any], session: Session, participant: Participant | None
) -> dict[str, Any]:
    """The map for one screen: a participant also gets their own placements, and while
    they place, not the room's (see placement:summary)."""
    if participant is None:
        return shared
    mine = session.execute(
        select(Placement.stakeholder_id, Placement.power, Placement.interest).where(
            Placement.participant_id == participant.id
        )
    ).all()
    return {
        **shared,
        "summaries": {},
        "mine": {str(s): {"power": p, "interest": i} for s, p, i in mine},
    }
