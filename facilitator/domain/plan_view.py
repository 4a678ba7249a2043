"""The plan as data: its rows in order with their choices named, the organisations in the
room, the accountability view (who leads and supports what, and the gaps), and each
role's part of the snapshot."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitator.core import protocol
from facilitator.core.events import refresher
from facilitator.core.text import name_key
from facilitator.domain import accountability
from facilitator.domain.plan import PlanAction, row_dict
from facilitator.domain.plan_schema import complete_fields, settings
from facilitator.domain.workshops import Workshop, active_participants


def _rows(session: Session, workshop_id: int) -> list[PlanAction]:
    return list(
        session.scalars(
            select(PlanAction)
            .where(PlanAction.workshop_id == workshop_id)
            .order_by(PlanAction.number)
        )
    )


def plan_actions(session: Session, workshop: Workshop) -> list[dict[str, Any]]:
    """Accepted rows in the shape of ``docs/plan.md``, ordered by objective (rows with
    none last), action field (in kit order) and reference."""
    config = settings(workshop)  # once, not per row
    field_order = {o["id"]: i for i, o in enumerate(config["action_fields"])}
    actions = []
    for row in _rows(session, workshop.id):
        if not row.accepted:
            continue
        f = complete_fields(row.fields)
        custom = {c: f.get(c, "") for c in config["custom"]}
        actions.append(
            {
                "ref": row.ref,
                "objective": f["objective"],
                "activity": f["activity"],
                "action_field": f["action_field"],
                "cycle_phase": f["cycle_phase"],
                "sector": f["sector"],
                "lead": f["lead"],
                "partners": list(f["partners"]),
                "level": f["level"],
                "geography": f["geography"],
                "start": f["start"],
                "due": f["due"],
                "budget": {
                    "amount": f["budget_amount"],
                    "currency": f["budget_currency"] if f["budget_amount"] else "",
                    "source": f["budget_source"],
                },
                "indicator": f["indicator"],
                "baseline": f["baseline"],
                "target": f["target"],
                "verification": f["verification"],
                "risks": f["risks"],
                "review_date": f["review_date"],
                "status": f["status"],
                "custom": custom,
                "_number": row.number,
            }
        )
    actions.sort(
        key=lambda a: (
            not a["objective"],  # rows with no objective come last
            a["objective"].casefold(),
            field_order.get(a["action_field"], len(field_order)),
            a["_number"],
        )
    )
    for a in actions:
        del a["_number"]
    return actions


def organisations_present(session: Session, workshop: Workshop) -> list[str]:
    seen: dict[str, str] = {}
    for p in active_participants(session, workshop.id):
        seen.setdefault(name_key(p.organisation), p.organisation)
    return sorted(seen.values(), key=str.casefold)


def accountability_view(session: Session, workshop: Workshop) -> dict[str, Any]:
    """Gaps and ownership of the accepted rows, against the room and the kit's sectors."""
    actions = plan_actions(session, workshop)
    organisations = organisations_present(session, workshop)
    columns = {c["id"] for c in settings(workshop)["columns"]}
    gaps = accountability.gaps(actions, organisations, workshop.sectors)
    if "indicator" not in columns:
        gaps["no_indicator"] = []
    if "due" not in columns:
        gaps["no_due_date"] = []
    if "sector" not in columns:
        gaps["sectors_without_action"] = []
    return {
        "actions": len(actions),
        "gaps": gaps,
        "ownership": accountability.ownership(actions, organisations),
    }


@refresher(protocol.PLAN_ACCOUNTABILITY)
def accountability_refresh(session: Session, workshop_id: int) -> dict[str, Any] | None:
    workshop = session.get(Workshop, workshop_id)
    if workshop is None:
        return None
    return accountability_view(session, workshop)


def snapshot_part(session: Session, workshop: Workshop, role: str) -> dict[str, Any]:
    """Rows (proposals too: the room sees what is offered), settings, and for the big
    screens the accountability view."""
    part: dict[str, Any] = {
        "settings": settings(workshop),
        "actions": [row_dict(r) for r in _rows(session, workshop.id)],
    }
    if role in ("facilitator", "projector"):
        part["accountability"] = accountability_view(session, workshop)
    return part
