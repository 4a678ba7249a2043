"""Session design: the facilitator adapts a workshop's stages before and during it.

Stages are copied from the kit when a workshop is created; here they are added,
edited, reordered, duplicated and removed, and the schedule is set, always on the
workshop, never on the kit. Every change sends the whole stage list
(``stages:changed``), so every screen shows the same programme.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from facilitator.core import protocol
from facilitator.core.errors import CONFLICT, INVALID, NOT_FOUND, DomainError
from facilitator.core.events import Event, Outcome
from facilitator.core.i18n import N_
from facilitator.core.text import clean_text
from facilitator.domain.agenda import AgendaItem
from facilitator.domain.board import Note, NoteGroup
from facilitator.domain.plan import PlanAction
from facilitator.domain.polls import Poll
from facilitator.domain.seeding import lay_out_areas
from facilitator.domain.stage_configs import STAGE_TYPES, check_stage_config
from facilitator.domain.stakeholders import Stakeholder
from facilitator.domain.workshops import Stage, Workshop

MAX_STAGES = 60
TITLE_MAX = 80
PROMPT_MAX = 2000
MINUTES_MAX = 600
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def schedule(workshop: Workshop) -> list[dict[str, Any]]:
    """Each stage's start and end as clock times from the workshop's start time."""
    start = (workshop.display or {}).get("starts_at") or ""
    if not TIME_RE.match(start):
        return []
    clock = int(start[:2]) * 60 + int(start[3:])
    rows = []
    for stage in workshop.stages:
        rows.append(
            {"stage_id": stage.id, "start": _hhmm(clock), "end": _hhmm(clock + stage.minutes)}
        )
        clock += stage.minutes
    return rows


def _hhmm(minutes: int) -> str:
    return f"{(minutes // 60) % 24:02d}:{minutes % 60:02d}"


def _changed(workshop: Workshop, session: Session) -> Outcome:
    session.flush()
    session.refresh(workshop, ["stages"])
    data = {
        "stages": [s.as_dict() for s in workshop.stages],
        "current_stage_id": workshop.current_stage_id,
        "starts_at": (workshop.display or {}).get("starts_at", ""),
        "schedule": schedule(workshop),
        "total_minutes": sum(s.minutes for s in workshop.stages),
    }
    return Outcome(result=data, events=[Event(protocol.STAGES_CHANGED, data)])


def _stage(workshop: Workshop, stage_id: int) -> Stage:
    stage = next((s for s in workshop.stages if s.id == stage_id), None)
    if stage is None:
        raise DomainError(
            NOT_FOUND, "There is no stage {id} in this workshop.", values={"id": stage_id}
        )
    return stage


def _title(value: str) -> str:
    refusal = N_("A stage title has 1 to {max} characters.")
    return clean_text(value, "title", TITLE_MAX, missing=refusal, too_long=refusal)


def _minutes(value: int) -> int:
    if not 1 <= value <= MINUTES_MAX:
        raise DomainError(
            INVALID,
            "A time box is 1 to {max} minutes.",
            values={"max": MINUTES_MAX},
            field="minutes",
        )
    return value


def _config(stage_type: str, config: dict[str, Any]) -> dict[str, Any]:
    try:
        return check_stage_config(stage_type, config)
    except ValueError as exc:
        raise DomainError(INVALID, str(exc), field="config") from None


def _key(workshop: Workshop, title: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:32] or "stage"
    if not base[0].isalpha():
        base = "s-" + base
    taken = {s.key for s in workshop.stages}
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def _renumber(workshop: Workshop, ordered: list[Stage]) -> None:
    for position, stage in enumerate(ordered):
        stage.position = position
    workshop.stages.sort(key=lambda s: s.position)


def add_stage(
    session: Session,
    workshop: Workshop,
    stage_type: str,
    title: str,
    minutes: int,
    after_stage_id: int | None,
) -> Outcome:
    if stage_type not in STAGE_TYPES:
        raise DomainError(
            INVALID,
            "A stage is one of: {types}.",
            values={"types": ", ".join(STAGE_TYPES)},
            field="type",
        )
    if len(workshop.stages) >= MAX_STAGES:
        raise DomainError(
            INVALID, "A workshop has at most {max} stages.", values={"max": MAX_STAGES}
        )
    ordered = list(workshop.stages)
    index = len(ordered)
    if after_stage_id is not None:
        index = ordered.index(_stage(workshop, after_stage_id)) + 1
    stage = Stage(
        key=_key(workshop, title),
        type=stage_type,
        title=_title(title),
        prompt="",
        minutes=_minutes(minutes),
        config=_config(stage_type, {}),
        position=len(ordered),
    )
    workshop.stages.append(stage)
    ordered.insert(index, stage)
    _renumber(workshop, ordered)
    return _changed(workshop, session)


def edit_stage(
    session: Session, workshop: Workshop, stage_id: int, changes: dict[str, Any]
) -> Outcome:
    stage = _stage(workshop, stage_id)
    if "title" in changes:
        stage.title = _title(changes["title"])
    if "prompt" in changes:
        stage.prompt = clean_text(
            changes["prompt"],
            "prompt",
            PROMPT_MAX,
            one_line=False,
            too_long=N_("A prompt has at most {max} characters."),
        )
    if "minutes" in changes:
        stage.minutes = _minutes(changes["minutes"])
    if "config" in changes:
        stage.config = _config(stage.type, changes["config"])
        if stage.type == "board":
            _add_areas(session, workshop, stage)
    return _changed(workshop, session)


def _add_areas(session: Session, workshop: Workshop, stage: Stage) -> None:
    """New areas of a board become groups on it (existing groups are left as they are)."""
    have = {
        t.casefold()
        for t in session.scalars(select(NoteGroup.title).where(NoteGroup.stage_id == stage.id))
    }
    areas = (stage.config or {}).get("areas", [])
    new = [a for a in areas if a.casefold() not in have]
    if new:
        lay_out_areas(session, workshop, stage.id, new, offset=len(have))
        session.flush()


def move_stage(session: Session, workshop: Workshop, stage_id: int, position: int) -> Outcome:
    ordered = list(workshop.stages)
    stage = _stage(workshop, stage_id)
    if not 0 <= position < len(ordered):
        raise DomainError(
            INVALID,
            "A position is 0 to {last}.",
            values={"last": len(ordered) - 1},
            field="position",
        )
    ordered.remove(stage)
    ordered.insert(position, stage)
    _renumber(workshop, ordered)
    return _changed(workshop, session)


def duplicate_stage(session: Session, workshop: Workshop, stage_id: int) -> Outcome:
    """A copy of the stage's design (not its content), right after it."""
    if len(workshop.stages) >= MAX_STAGES:
        raise DomainError(
            INVALID, "A workshop has at most {max} stages.", values={"max": MAX_STAGES}
        )
    source = _stage(workshop, stage_id)
    ordered = list(workshop.stages)
    title = f"{source.title} (copy)"[:TITLE_MAX]
    copy = Stage(
        key=_key(workshop, title),
        type=source.type,
        title=title,
        prompt=source.prompt,
        minutes=source.minutes,
        config=dict(source.config or {}),
        position=len(ordered),
    )
    workshop.stages.append(copy)
    ordered.insert(ordered.index(source) + 1, copy)
    _renumber(workshop, ordered)
    return _changed(workshop, session)


def _content(session: Session, stage: Stage) -> str | None:
    """What the room made in a stage, in words, or None when it is empty."""
    counts = {
        "notes": session.scalar(select(func.count()).where(Note.stage_id == stage.id)),
        "polls": session.scalar(
            select(func.count()).where(Poll.stage_id == stage.id, Poll.status != "draft")
        ),
        "agenda items": session.scalar(
            select(func.count()).where(
                AgendaItem.stage_id == stage.id, AgendaItem.proposed_by.is_not(None)
            )
        ),
    }
    if stage.type == "stakeholder_map":
        counts["stakeholders"] = session.scalar(
            select(func.count()).where(
                Stakeholder.workshop_id == stage.workshop_id, Stakeholder.proposed_by.is_not(None)
            )
        )
    if stage.type == "action_plan":
        counts["actions"] = session.scalar(
            select(func.count()).where(PlanAction.workshop_id == stage.workshop_id)
        )
    found = [f"{n} {what[:-1] if n == 1 else what}" for what, n in counts.items() if n]
    return ", ".join(found) or None


def remove_stage(session: Session, workshop: Workshop, stage_id: int) -> Outcome:
    stage = _stage(workshop, stage_id)
    if len(workshop.stages) == 1:
        raise DomainError(CONFLICT, "A workshop needs at least one stage.")
    if stage.id == workshop.current_stage_id:
        raise DomainError(CONFLICT, "This is the current stage: move to another one first.")
    made = _content(session, stage)
    if made:
        raise DomainError(
            CONFLICT,
            "“{title}” holds what the room made ({made}); it stays.",
            values={"title": stage.title, "made": made},
        )
    ordered = [s for s in workshop.stages if s.id != stage.id]
    session.execute(delete(Poll).where(Poll.stage_id == stage.id))  # only drafts are left
    workshop.stages.remove(stage)  # its row goes, and with it prepared areas and topics
    session.flush()
    _renumber(workshop, ordered)
    return _changed(workshop, session)


def set_schedule(
    session: Session, workshop: Workshop, starts_at: str | None, total_minutes: int | None
) -> Outcome:
    """Set the start time, and fit the stages' time boxes to a total duration
    (in proportion, each at least a minute)."""
    if starts_at is not None:
        if starts_at and not TIME_RE.match(starts_at):
            raise DomainError(INVALID, "A start time is HH:MM, e.g. 09:00.", field="starts_at")
        workshop.display = {**(workshop.display or {}), "starts_at": starts_at}
    if total_minutes is not None:
        stages = list(workshop.stages)
        if not len(stages) <= total_minutes <= MINUTES_MAX * len(stages):
            raise DomainError(
                INVALID,
                "The total must leave each of the {count} stages 1 to {max} minutes.",
                values={"count": len(stages), "max": MINUTES_MAX},
                field="total_minutes",
            )
        _fit(stages, total_minutes)
    return _changed(workshop, session)


def _fit(stages: list[Stage], total: int) -> None:
    current = sum(s.minutes for s in stages)
    shares = [s.minutes * total / current for s in stages]
    minutes = [max(1, int(share)) for share in shares]
    # Hand out what rounding left, largest remainders first (or take back the excess).
    order = sorted(range(len(stages)), key=lambda i: shares[i] - int(shares[i]), reverse=True)
    i = 0
    while sum(minutes) != total:
        k = order[i % len(order)]
        if sum(minutes) < total and minutes[k] < MINUTES_MAX:
            minutes[k] += 1
        elif sum(minutes) > total and minutes[k] > 1:
            minutes[k] -= 1
        i += 1
    for stage, value in zip(stages, minutes, strict=True):
        stage.minutes = value
