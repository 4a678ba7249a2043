"""The action plan's table, its accountability matrix and its monitoring rows, from the
canonical plan: which columns, how wide, and what each cell says (gaps marked)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from facilitator.core import i18n
from facilitator.core.i18n import N_
from facilitator.core.text import name_key
from facilitator.documents.drawings import (
    MATRIX_REFS_PER_BLOCK,
    MATRIX_ROWS_PER_BLOCK,
    matrix_block,
)
from facilitator.documents.formatting import as_text, format_amount
from facilitator.domain import accountability
from facilitator.domain.plan_schema import STATUSES

#: Plan columns shown as group headings instead of table columns.
GROUPED_COLUMNS = {"objective", "action_field"}
#: Width of the landscape action table (A4 landscape less the page margins), in mm.
ACTION_TABLE_MM = 271.0
#: Per standard action column: the narrowest width (mm) that keeps its usual words and
#: header whole at 7.5 pt, and its share of the width left over.
ACTION_COLUMNS: dict[str, tuple[float, float]] = {
    "ref": (11, 0),
    "activity": (30, 4),
    "cycle_phase": (20, 0.3),
    "sector": (19, 0.5),
    "lead": (22, 1),
    "partners": (24, 2),
    "level": (16, 0),
    "geography": (16, 0.5),
    "start": (17, 0),
    "due": (17, 0),
    "budget": (18, 0.5),
    "indicator": (20, 1.5),
    "baseline": (16, 0.5),
    "target": (16, 0.5),
    "verification": (21, 1),
    "risks": (21, 1.5),
    "review_date": (17, 0),
    "status": (14, 0),
}
CUSTOM_COLUMN = (17.0, 1.0)
#: Columns the monitoring framework (section 8) shows, by ref, rather than the action table.
MONITORING_COLUMNS = ("indicator", "baseline", "target", "verification", "review_date")
#: An action-table cell left empty where the plan needs a value.
CELL_GAPS = {"lead": N_("No lead"), "indicator": N_("No indicator"), "due": N_("No date")}


def _choices(plan: Mapping[str, Any], lang: str = i18n.DEFAULT) -> dict[str, dict[str, str]]:
    """Names of the kit's choices (in ``lang``), per action column that stores an id."""
    return {
        column: {
            as_text(o.get("id")): i18n.kit_text(lang, as_text(o.get("name")))
            for o in plan.get(key) or []
        }
        for column, key in (("action_field", "action_fields"), ("cycle_phase", "cycle_phases"))
    }


def _cell(
    action: Mapping[str, Any],
    column: str,
    choices: Mapping[str, Mapping[str, str]],
    lang: str = i18n.DEFAULT,
) -> dict[str, Any]:
    """One action-table cell: its lines of text and a class marking gaps.

    Standard columns are the action's own keys; any other column is the kit's own and
    lives in ``action["custom"]``. The kit's names (sectors, levels) and the app's words
    are in ``lang``; what people typed is as typed."""
    if column == "budget":
        budget = action.get("budget") or {}
        amount = format_amount(budget.get("amount"))
        money = " ".join(t for t in (as_text(budget.get("currency")), amount) if t)
        source = as_text(budget.get("source"))
        return {"lines": [t for t in (money if amount else "", source) if t], "cls": "budget"}
    raw = action[column] if column in action else (action.get("custom") or {}).get(column)
    if isinstance(raw, list | tuple):
        value = "; ".join(as_text(item) for item in raw if as_text(item))
    elif column in choices:
        value = choices[column].get(as_text(raw), as_text(raw))
    elif column == "status":
        status = as_text(raw)
        value = (
            i18n.gettext(lang, STATUSES[status])
            if status in STATUSES
            else status.replace("_", " ").capitalize()
        )
    elif column in ("sector", "level"):
        value = i18n.kit_text(lang, as_text(raw))
    else:
        value = as_text(raw)
    if not value and column in CELL_GAPS:
        return {"lines": [i18n.gettext(lang, CELL_GAPS[column])], "cls": "gap"}
    return {"lines": [value] if value else [], "cls": column if column == "ref" else ""}


def action_plan(plan: Mapping[str, Any], *, lang: str = i18n.DEFAULT) -> dict[str, Any]:
    """Actions grouped by objective, then action field, with the plan's columns (their
    labels, the kit's, in ``lang``)."""
    choices = _choices(plan, lang)
    fields = choices["action_field"]
    columns = [
        {
            "id": as_text(c.get("id")),
            "label": i18n.kit_text(lang, as_text(c.get("label"))) or as_text(c.get("id")),
        }
        for c in plan.get("columns") or []
        if as_text(c.get("id")) not in GROUPED_COLUMNS
    ]
    if not any(c["id"] == "ref" for c in columns):
        columns.insert(0, {"id": "ref", "label": i18n.gettext(lang, N_("Ref"))})
    columns, moved = _fit_columns(columns)
    no_objective = i18n.gettext(lang, N_("No objective given"))
    no_field = i18n.gettext(lang, N_("No action field"))
    groups: list[dict[str, Any]] = []
    for action in plan.get("actions") or []:
        objective = as_text(action.get("objective")) or no_objective
        field_id = as_text(action.get("action_field"))
        field = fields.get(field_id, field_id) or no_field
        if not groups or groups[-1]["objective"] != objective:
            groups.append({"objective": objective, "fields": [], "count": 0})
        group = groups[-1]
        if not group["fields"] or group["fields"][-1]["name"] != field:
            group["fields"].append({"name": field, "actions": []})
        group["count"] += 1
        group["fields"][-1]["actions"].append(
            [_cell(action, c["id"], choices, lang) for c in columns]
        )
    return {
        "columns": columns,
        "groups": groups,
        "count": len(plan.get("actions") or []),
        "budgets": _budget_totals(plan.get("actions") or [], lang),
        "show_budget": any(c["id"] == "budget" for c in columns),
        "moved": moved,
    }


def _fit_columns(columns: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Widths (per cent of the table) for the action columns, and the labels of the
    monitoring columns, which the monitoring framework (section 8) shows instead.

    Each fact is printed once: the action table says who does what, when and with
    what; section 8 says how progress is measured, by ref. Two columns fewer leave
    the activity its width (and the document a tenth quicker to render).
    """
    moved = [c["label"] for c in columns if c["id"] in MONITORING_COLUMNS]
    columns = [c for c in columns if c["id"] not in MONITORING_COLUMNS]

    def spec(column: dict[str, Any]) -> tuple[float, float]:
        return ACTION_COLUMNS.get(column["id"], CUSTOM_COLUMN)

    least = sum(spec(c)[0] for c in columns)
    spare = max(ACTION_TABLE_MM - least, 0.0)
    flex = sum(spec(c)[1] for c in columns) or 1.0
    for column in columns:
        minimum, share = spec(column)
        width = minimum + spare * share / flex
        column["width"] = round(100 * width / max(least + spare, ACTION_TABLE_MM), 2)
        column["cls"] = column["id"] if column["id"] in ACTION_COLUMNS else "custom"
    return columns, moved


def _budget_totals(
    actions: Iterable[Mapping[str, Any]], lang: str = i18n.DEFAULT
) -> dict[str, Any]:
    totals: dict[str, Decimal] = {}
    uncosted = 0
    for action in actions:
        budget = action.get("budget") or {}
        try:
            amount = Decimal(as_text(budget.get("amount")).replace(",", ""))
        except InvalidOperation:
            uncosted += 1
            continue
        if not amount.is_finite():
            uncosted += 1
            continue
        currency = as_text(budget.get("currency")) or i18n.gettext(lang, N_("(no currency)"))
        totals[currency] = totals.get(currency, Decimal(0)) + amount
    return {
        "totals": [f"{c} {format_amount(v)}" for c, v in sorted(totals.items())],
        "uncosted": uncosted,
    }


def accountability_view(
    actions: Sequence[Mapping[str, Any]],
    organisations: Sequence[Mapping[str, Any]],
    *,
    lang: str = i18n.DEFAULT,
) -> dict[str, Any]:
    """The organisation x action matrix (in blocks of refs), and the ownership table."""
    names = [as_text(o.get("name")) for o in organisations]
    in_room = {name_key(n) for n in names}
    sector_of = {
        name_key(o.get("name")): i18n.kit_text(lang, as_text(o.get("sector")))
        for o in organisations
    }
    owners = accountability.ownership(actions, names)
    refs = [as_text(a.get("ref")) for a in actions]
    leaderless = {as_text(a.get("ref")) for a in actions if not as_text(a.get("lead"))}
    rows = [(owner["organisation"], set(owner["lead"]), set(owner["support"])) for owner in owners]
    no_lead = i18n.gettext(lang, N_("No lead"))
    chunks = [
        rows[start : start + MATRIX_ROWS_PER_BLOCK]
        for start in range(0, len(rows), MATRIX_ROWS_PER_BLOCK)
    ] or [[]]
    rtl = i18n.direction(lang) == "rtl"
    blocks = [
        matrix_block(
            refs[start : start + MATRIX_REFS_PER_BLOCK],
            chunk,
            leaderless,
            no_lead if chunk is chunks[-1] else None,
            rtl=rtl,
        )
        for start in range(0, len(refs), MATRIX_REFS_PER_BLOCK)
        for chunk in chunks
    ]
    ownership_rows = [
        {
            "organisation": owner["organisation"],
            "sector": sector_of.get(name_key(owner["organisation"]), ""),
            "in_room": name_key(owner["organisation"]) in in_room,
            "lead": len(owner["lead"]),
            "support": len(owner["support"]),
            "share": owner["lead_share"],
        }
        for owner in owners
    ]
    top = max((r["share"] for r in ownership_rows), default=0.0)
    for row in ownership_rows:
        row["bar"] = round(100 * row["share"] / top, 1) if top else 0
    return {"blocks": blocks, "ownership": ownership_rows, "actions": len(actions)}


def monitoring_row(action: Mapping[str, Any]) -> dict[str, Any]:
    """The monitoring-framework fields of one action, as text."""
    return {key: as_text(action.get(key)) for key in ("ref", *MONITORING_COLUMNS, "due")}
