"""Accountability gaps and ownership, derived from a plan's actions.

Partnerships fail when an action has no one accountable, no indicator or no date, when a
partner in the room owns nothing, or when a sector is left out. These pure functions take
plain action dicts (the shape of ``docs/plan.md``), so the live console, the projector and
the PDF all show the same figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from facilitator.core.text import name_key
from facilitator.domain.plan_schema import plan_date

Action = Mapping[str, Any]


def _blank(value: Any) -> bool:
    return not str(value or "").strip()


def _key(name: str) -> str:
    return name_key(name)


def gaps(
    actions: Iterable[Action], organisations: Iterable[str], sectors: Iterable[str]
) -> dict[str, list[str]]:
    """What is missing: refs of actions lacking a lead, an indicator or a due date;
    organisations present that lead nothing; sectors with no action."""
    actions = list(actions)
    leads = {_key(a.get("lead") or "") for a in actions if not _blank(a.get("lead"))}
    covered = {_key(a.get("sector") or "") for a in actions if not _blank(a.get("sector"))}
    return {
        "no_lead": [a["ref"] for a in actions if _blank(a.get("lead"))],
        "no_indicator": [a["ref"] for a in actions if _blank(a.get("indicator"))],
        "no_due_date": [a["ref"] for a in actions if plan_date(a.get("due")) is None],
        "organisations_leading_nothing": _unique(o for o in organisations if _key(o) not in leads),
        "sectors_without_action": [s for s in sectors if _key(s) not in covered],
    }


def ownership(actions: Iterable[Action], organisations: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Per organisation: actions led and supported (refs), and the share of all actions
    it leads. Organisations present but owning nothing are listed with zeros."""
    actions = list(actions)
    rows: dict[str, dict[str, Any]] = {}

    def row(name: str) -> dict[str, Any]:
        return rows.setdefault(
            _key(name), {"organisation": " ".join(name.split()), "lead": [], "support": []}
        )

    for name in organisations:
        if not _blank(name):
            row(name)
    for action in actions:
        lead = action.get("lead") or ""
        if not _blank(lead):
            row(lead)["lead"].append(action["ref"])
        for partner in action.get("partners") or []:
            if not _blank(partner) and _key(partner) != _key(lead):
                entry = row(partner)
                if action["ref"] not in entry["support"]:
                    entry["support"].append(action["ref"])
    total = len(actions)
    result = []
    for entry in rows.values():
        led = len(entry["lead"])
        result.append({**entry, "lead_share": round(led / total, 4) if total else 0.0})
    result.sort(key=lambda r: (-len(r["lead"]), -len(r["support"]), r["organisation"].casefold()))
    return result


def _unique(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name in names:
        if not _blank(name) and _key(name) not in seen:
            seen.add(_key(name))
            out.append(" ".join(name.split()))
    return out
