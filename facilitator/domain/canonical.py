"""The canonical plan: the whole plan as plain data, its bytes and its hash.

Built from the database when the facilitator freezes the plan (docs/plan.md
defines the shape). Lists are in a fixed order and only JSON types are used, so
the same plan always serialises to the same bytes and the same SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitator.core.text import name_key
from facilitator.domain import organisations, plan_schema, plan_view, stakeholders, tally
from facilitator.domain.agenda import AgendaItem, totals
from facilitator.domain.polls import Poll, PollRound
from facilitator.domain.workshops import Stage, Workshop, active_participants

FORMAT = "facilitator.plan/2"
#: Keys that describe the act of freezing rather than the plan's content.
FREEZE_KEYS = ("version", "frozen_at", "override")


def canonical_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(data)).hexdigest()


def content(data: dict[str, Any]) -> dict[str, Any]:
    """The plan without the freeze's own details: equal content, same plan."""
    return {k: v for k, v in data.items() if k not in FREEZE_KEYS}


def iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build(
    session: Session,
    workshop: Workshop,
    *,
    version: int,
    frozen_at: datetime,
    override: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The canonical plan of ``workshop`` as it stands."""
    config = plan_schema.settings(workshop)
    return {
        "format": FORMAT,
        "version": version,
        "frozen_at": iso(frozen_at),
        "override": override,
        "workshop": {
            "id": workshop.id,
            "title": workshop.title,
            "kit": workshop.kit,
            "kit_title": workshop.kit_data.get("title", workshop.kit),
            "date": workshop.created_at.date().isoformat(),
            "place": workshop.place,
            "language": workshop.language,
        },
        "sectors": list(workshop.sectors),
        "action_fields": config["action_fields"],
        "cycle_phases": config["cycle_phases"],
        "columns": config["columns"],
        "organisations": _organisations(session, workshop),
        "stakeholder_map": _stakeholder_map(session, workshop),
        "agenda": _agenda(session, workshop),
        "decisions": _decisions(session, workshop),
        "actions": plan_view.plan_actions(session, workshop),
    }


def _organisations(session: Session, workshop: Workshop) -> list[dict[str, Any]]:
    """The organisations of the people who took part, as the workshop's rows name them
    (a participant without a row, from before rows, under the name they typed)."""
    rows = {o.id: o for o in organisations.of_workshop(session, workshop.id)}
    groups: dict[str, dict[str, Any]] = {}
    for person in active_participants(session, workshop.id):
        row = rows.get(person.organisation_id) if person.organisation_id else None
        name = row.name if row else person.organisation
        group = groups.setdefault(
            name_key(name),
            {
                "name": name,
                "short_name": row.short_name if row else "",
                "other_names": list(row.other_names) if row else [],
                "sector": (row.sector if row and row.sector else person.sector),
                "participants": [],
            },
        )
        group["participants"].append({"name": person.name})
    for group in groups.values():
        group["participants"].sort(key=lambda p: p["name"].casefold())
    return sorted(groups.values(), key=lambda g: (g["sector"].casefold(), g["name"].casefold()))


def _stakeholder_map(session: Session, workshop: Workshop) -> dict[str, Any]:
    spec = stakeholders.map_spec(workshop)
    scale = spec["scale_max"]
    items = session.scalars(
        select(stakeholders.Stakeholder).where(
            stakeholders.Stakeholder.workshop_id == workshop.id,
            stakeholders.Stakeholder.status == stakeholders.ACCEPTED,
        )
    ).all()
    rows = [
        {
            "name": s.name,
            "category": s.category,
            "sector": s.sector,
            "level": s.level,
            "power": float(s.power),
            "interest": float(s.interest),
            "quadrant": stakeholders.quadrant(s.power, s.interest, scale),
            "salience": stakeholders.salience(s.power, s.legitimacy, s.urgency, scale),
            "notes": s.notes,
        }
        for s in items
    ]
    rows.sort(key=lambda r: (r["name"].casefold(), r["sector"], r["power"], r["interest"]))
    return {"scale_max": scale, "quadrants": spec["quadrants"], "stakeholders": rows}


def _agenda(session: Session, workshop: Workshop) -> list[dict[str, Any]]:
    out = []
    for stage in workshop.stages:
        if stage.type != "agenda":
            continue
        dots = totals(session, stage)
        items = session.scalars(
            select(AgendaItem)
            .where(AgendaItem.stage_id == stage.id)
            .order_by(AgendaItem.position, AgendaItem.id)
        ).all()
        out.extend(
            {"title": i.title, "dots": dots.get(str(i.id), 0), "minutes": i.minutes} for i in items
        )
    return out


def _decisions(session: Session, workshop: Workshop) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Poll, PollRound)
        .join(PollRound, PollRound.poll_id == Poll.id)
        .where(Poll.workshop_id == workshop.id, PollRound.closed_at.is_not(None))
        .order_by(PollRound.closed_at, PollRound.id)
    ).all()
    stage_titles = {
        s.id: s.title
        for s in session.scalars(select(Stage).where(Stage.workshop_id == workshop.id))
    }
    decisions = []
    for poll, item in rows:
        result = item.outcome or {}
        decisions.append(
            {
                "title": poll.title,
                "stage": stage_titles.get(poll.stage_id or 0, ""),
                "proposal": item.proposal,
                "round": item.number,
                "method": item.method,
                "method_label": tally.METHODS[item.method].label,
                "rule": item.rule,
                "rule_text": tally.describe_rule(item.method, item.rule),
                "anonymous": item.anonymous,
                "decided": result.get("decided"),
                "explanation": result.get("explanation", ""),
                "tally_rows": tally.tally_rows(item.method, item.config, result.get("tally", {})),
                "turnout": result.get("turnout", 0),
                "present": result.get("present", 0),
                "reasons": [
                    {
                        "choice": tally.choice_label(item.method, item.config, r["choice"]),
                        "reason": r["reason"],
                        **({"name": r["name"]} if r.get("name") else {}),
                    }
                    for r in result.get("reasons", [])
                ],
                "closed_at": iso(item.closed_at),
            }
        )
    return decisions
