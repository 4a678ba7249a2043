"""What a kit prepares in a new workshop: the starter stakeholders of its map, the
areas of its boards, the topics of its agendas and the polls of its vote stages.

Everything is created once, when the workshop is, as ordinary rows the room then
changes like anything it made itself.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

from . import tally
from .agenda import AgendaItem
from .board import BOARD_HEIGHT, BOARD_WIDTH, NoteGroup
from .kits import check_stage_config
from .polls import DRAFT, Poll
from .stakeholders import ACCEPTED, Stakeholder
from .workshops import Workshop

#: Area cards are laid out in a grid of this many columns at most.
AREA_COLUMNS = 4


def seed(session: Session, workshop: Workshop) -> None:
    """Prepare a new workshop from its own design: the kit data and stages copied into
    it (so a duplicated workshop starts the same way as its original did)."""
    spec = workshop.kit_data.get("stakeholder_map") or {}
    for starter in spec.get("starters") or []:
        session.add(
            Stakeholder(
                workshop_id=workshop.id,
                name=starter["name"],
                category=starter.get("category", ""),
                sector=starter.get("sector", ""),
                level=starter.get("level", ""),
                power=starter["power"],
                interest=starter["interest"],
                notes=starter.get("notes", ""),
                status=ACCEPTED,
            )
        )
    for stage in workshop.stages:
        config = check_stage_config(stage.type, dict(stage.config or {}))
        if stage.type == "board":
            _areas(session, workshop, stage.id, config.get("areas", []))
        elif stage.type == "agenda":
            minutes = int(config.get("default_minutes", 10))
            for position, topic in enumerate(config.get("topics", [])):
                session.add(
                    AgendaItem(
                        workshop_id=workshop.id,
                        stage_id=stage.id,
                        title=topic,
                        position=position,
                        minutes=minutes,
                    )
                )
        elif stage.type == "vote":
            for poll in config.get("polls", []):
                session.add(_poll(workshop, stage.id, poll))
    session.flush()


def _areas(session: Session, workshop: Workshop, stage_id: int, areas: list[str]) -> None:
    lay_out_areas(session, workshop, stage_id, areas)


def lay_out_areas(
    session: Session, workshop: Workshop, stage_id: int, areas: list[str], offset: int = 0
) -> None:
    """Area groups in a grid four wide, from slot ``offset`` on (after existing groups)."""
    if not areas:
        return
    slots = offset + len(areas)
    columns = min(AREA_COLUMNS, slots)
    rows = math.ceil(slots / columns)
    for index, title in enumerate(areas, start=offset):
        row, column = divmod(index, columns)
        session.add(
            NoteGroup(
                workshop_id=workshop.id,
                stage_id=stage_id,
                title=title,
                x=round(20 + column * (BOARD_WIDTH - 40) / columns, 1),
                y=round(20 + row * (BOARD_HEIGHT - 40) / rows, 1),
            )
        )


def _poll(workshop: Workshop, stage_id: int, spec: dict[str, Any]) -> Poll:
    method = spec["method"]
    config: dict[str, Any] = {}
    if spec.get("options"):
        config["options"] = list(spec["options"])
    if method == "dots":
        config["dots"] = spec.get("dots") or 3
        config["stacking"] = True
    if method == "scale":
        config["scale_max"] = spec.get("scale_max") or 5
    return Poll(
        workshop_id=workshop.id,
        stage_id=stage_id,
        title=spec["title"],
        proposal=spec.get("proposal", ""),
        method=method,
        config=config,
        rule=tally.check_rule(method, spec.get("rule", {})),
        anonymous=spec.get("anonymous", True),
        results=spec.get("results", "on_close"),
        group_by=spec.get("group_by", "sector"),
        status=DRAFT,
    )
