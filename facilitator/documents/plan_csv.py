"""A plan version as CSV: one row per action, the standard columns then the kit's own, each
cell kept as text in spreadsheet programs."""

from __future__ import annotations

import csv
import io
from typing import Any

from facilitator.domain.kits import PLAN_COLUMNS, plan_fields
from facilitator.domain.signoff import PlanVersion

CSV_COLUMNS = ("ref", *plan_fields())


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with these is a formula in spreadsheet programs: keep it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def plan_csv(plan: dict[str, Any], sha256: str = "") -> str:
    """One row per action, the kit's own columns after the standard ones."""
    custom = [c["id"] for c in plan["columns"] if c["id"] not in _standard()]
    fields = {f["id"]: f["name"] for f in plan.get("action_fields", [])}
    phases = {f["id"]: f["name"] for f in plan.get("cycle_phases", [])}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, *custom, "version", "version_sha256"])
    for a in plan["actions"]:
        row = {
            **a,
            "action_field": fields.get(a["action_field"], a["action_field"]),
            "cycle_phase": phases.get(a.get("cycle_phase", ""), a.get("cycle_phase", "")),
            "partners": "; ".join(a["partners"]),
            "budget_amount": a["budget"]["amount"],
            "budget_currency": a["budget"]["currency"],
            "budget_source": a["budget"]["source"],
        }
        writer.writerow(
            [_csv_cell(row[c]) for c in CSV_COLUMNS]
            + [_csv_cell(a.get("custom", {}).get(c, "")) for c in custom]
            + [plan["version"], sha256]
        )
    return out.getvalue()


def _standard() -> set[str]:
    return set(PLAN_COLUMNS)


def version_csv(version: PlanVersion) -> str:
    return plan_csv(version.plan(), version.sha256)
