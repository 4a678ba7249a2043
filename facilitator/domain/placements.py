"""Participatory placement on the stakeholder map: each participant places a card where
they see it, privately; the room sees the median and spread of all placements, and the
facilitator may move the card to the median."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitator.core import protocol
from facilitator.core.errors import CONFLICT, STAGE, DomainError
from facilitator.core.events import Event, Outcome
from facilitator.domain.stakeholders import (
    ACCEPTED,
    Placement,
    get_stakeholder,
    in_scale,
    map_settings,
    map_spec,
    map_stage,
    place,
    placement_points,
    summarise,
    summary_event,
)
from facilitator.domain.workshops import Participant, Workshop


def set_mode(session: Session, workshop: Workshop, participatory: bool) -> Outcome:
    stage = map_stage(workshop)
    stage.state = {**(stage.state or {}), "participatory": participatory}
    session.flush()
    data = {"stage_id": stage.id, "settings": map_settings(workshop)}
    return Outcome(result=data, events=[Event(protocol.MAP_CHANGED, data)])


def place_privately(
    session: Session,
    workshop: Workshop,
    participant: Participant,
    stakeholder_id: int,
    power: float,
    interest: float,
) -> Outcome:
    """A participant's own placement; the room sees only the summary."""
    map_stage(workshop)
    if not map_settings(workshop)["participatory"]:
        raise DomainError(STAGE, "The facilitator places the stakeholders in this round.")
    item = get_stakeholder(session, workshop, stakeholder_id)
    if item.status != ACCEPTED:
        raise DomainError(CONFLICT, "This stakeholder is still a proposal.")
    scale = map_spec(workshop)["scale_max"]
    power, interest = in_scale(power, "power", scale), in_scale(interest, "interest", scale)
    placement = session.scalar(
        select(Placement).where(
            Placement.stakeholder_id == item.id, Placement.participant_id == participant.id
        )
    )
    if placement is None:
        placement = Placement(
            stakeholder_id=item.id, participant_id=participant.id, power=power, interest=interest
        )
        session.add(placement)
    else:
        placement.power, placement.interest = power, interest
    session.flush()
    summary = summary_event(session, item.id, scale)
    return Outcome(
        result={
            "stakeholder_id": item.id,
            "power": power,
            "interest": interest,
            "summary": summary.data["summary"],
        },
        events=[summary],
    )


def adopt_median(session: Session, workshop: Workshop, stakeholder_id: int) -> Outcome:
    item = get_stakeholder(session, workshop, stakeholder_id)
    scale = map_spec(workshop)["scale_max"]
    summary = summarise(placement_points(session, item.id), scale)
    if not summary["count"]:
        raise DomainError(CONFLICT, "Nobody has placed this stakeholder yet.")
    return place(session, workshop, item.id, summary["power"], summary["interest"])
