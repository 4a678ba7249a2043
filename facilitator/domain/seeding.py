"""A new workshop, made from a kit or copied from another, and what its design
prepares in it: the starter stakeholders of its map, the areas of its boards, the
topics of its agendas and the polls of its vote stages.

Everything is created once, when the workshop is, as ordinary rows the room then
changes like anything it made itself.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from sqlalchemy.orm import Session

from facilitator.core.i18n import N_
from facilitator.core.text import clean_text, strip_bidi_controls
from facilitator.domain import tally
from facilitator.domain.agenda import AgendaItem
from facilitator.domain.board import BOARD_HEIGHT, BOARD_WIDTH, NoteGroup
from facilitator.domain.kits import Kit
from facilitator.domain.polls import DRAFT, Poll
from facilitator.domain.stage_configs import check_stage_config
from facilitator.domain.stakeholders import ACCEPTED, Stakeholder
from facilitator.domain.workshops import DRAFT as WORKSHOP_DRAFT
from facilitator.domain.workshops import (
    LIVE,
    PLACE_MAX,
    TITLE_MAX,
    Stage,
    Workshop,
    unused_code,
    workshop_language,
)

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


# -- creating and copying workshops -----------------------------------------


def create_workshop(
    session: Session,
    owner_id: int,
    kit_name: str,
    kit: Kit,
    title: str,
    place: str = "",
    status: str = LIVE,
    language: str = "en",
) -> Workshop:
    title = (
        clean_text(
            strip_bidi_controls(title),
            "title",
            TITLE_MAX,
            one_line=False,
            too_long=N_("The title must have at most {max} characters."),
        )
        or kit.title
    )
    place = clean_text(
        strip_bidi_controls(place),
        "place",
        PLACE_MAX,
        too_long=N_("The place must have at most {max} characters."),
    )
    kit_data = kit.model_dump(exclude={"stages"})
    workshop = Workshop(
        title=title,
        place=place,
        status=status,
        owner_id=owner_id,
        kit=kit_name,
        kit_data=kit_data,
        code=unused_code(session),
        projector_key=secrets.token_urlsafe(16),
        language=workshop_language(language),
    )
    session.add(workshop)
    for position, spec in enumerate(kit.stages):
        workshop.stages.append(
            Stage(
                position=position,
                key=spec.id,
                type=spec.type,
                title=spec.title,
                prompt=spec.prompt,
                minutes=spec.minutes,
                config=dict(spec.config),
            )
        )
    session.flush()
    workshop.current_stage_id = workshop.stages[0].id
    seed(session, workshop)
    return workshop


def duplicate_workshop(session: Session, source: Workshop, owner_id: int) -> Workshop:
    """A new draft with the same design (kit data, stages, schedule), a new join code,
    and nothing the room made."""
    copy = Workshop(
        title=f"{source.title} (copy)"[:TITLE_MAX],
        place=source.place,
        status=WORKSHOP_DRAFT,
        owner_id=owner_id,
        kit=source.kit,
        kit_data=dict(source.kit_data),
        code=unused_code(session),
        projector_key=secrets.token_urlsafe(16),
        display={k: v for k, v in (source.display or {}).items() if k == "starts_at"},
        language=source.language,
    )
    session.add(copy)
    for stage in source.stages:
        copy.stages.append(
            Stage(
                position=stage.position,
                key=stage.key,
                type=stage.type,
                title=stage.title,
                prompt=stage.prompt,
                minutes=stage.minutes,
                config=dict(stage.config or {}),
            )
        )
    session.flush()
    copy.current_stage_id = copy.stages[0].id
    seed(session, copy)
    return copy
