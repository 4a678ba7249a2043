"""What a row of the action plan holds: its fields and their limits, the plan's columns and
choices for a workshop, and the check of one field's value (docs/plan.md)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from facilitator.core.errors import INVALID, DomainError
from facilitator.core.i18n import N_
from facilitator.core.text import clean_text, name_key
from facilitator.domain.kits import PLAN_COLUMNS, plan_fields
from facilitator.domain.workshops import ORGANISATION_MAX, Workshop

STATUSES = {
    "planned": N_("Planned"),
    "in_progress": N_("In progress"),
    "done": N_("Done"),
    "delayed": N_("Delayed"),
    "cancelled": N_("Cancelled"),
}


#: Free-text fields and their length limits.
TEXT_FIELDS = {
    "objective": 300,
    "activity": 500,
    "geography": 200,
    "indicator": 300,
    "baseline": 200,
    "target": 200,
    "verification": 300,
    "risks": 500,
    "budget_source": 200,
}


DATE_FIELDS = ("start", "due", "review_date")
#: The years a plan date may fall in.
YEARS = range(2000, 2101)


CHOICE_FIELDS = ("action_field", "cycle_phase", "sector", "level", "status")


#: An organisation's name (the workshop's organisations hold at most as much).
ORG_MAX = ORGANISATION_MAX


CUSTOM_MAX = 300


MAX_PARTNERS = 20


MAX_ACTIONS = 1000


#: Every field a row holds; budget is kept as three fields, shown as one column.
FIELDS = plan_fields()


#: Fields a participant changes only through an offer the facilitator accepts.
OFFER_ONLY = ("lead", "partners")


OFFER_ROLES = ("lead", "partner")


def complete_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {name: "" for name in FIELDS}
    out["partners"] = []
    out.update(fields)
    return out


def settings(workshop: Workshop) -> dict[str, Any]:
    """The plan's columns (standard and the kit's own), choices and default currency."""
    spec = workshop.kit_data.get("plan") or {}
    columns = spec.get("columns") or list(PLAN_COLUMNS)
    custom = spec.get("custom_columns") or []
    return {
        "columns": [{"id": c, "label": PLAN_COLUMNS[c]} for c in columns]
        + [{"id": c["id"], "label": c["name"]} for c in custom],
        "custom": [c["id"] for c in custom],
        "currency": spec.get("currency", "USD"),
        "action_fields": [
            {"id": o["id"], "name": o["name"]} for o in workshop.kit_data.get("action_fields", [])
        ],
        "cycle_phases": [
            {"id": o["id"], "name": o["name"]} for o in workshop.kit_data.get("cycle_phases", [])
        ],
        "sectors": workshop.sectors,
        "levels": list(workshop.kit_data.get("levels", [])),
        "statuses": [{"id": k, "name": v} for k, v in STATUSES.items()],
    }


def _org(value: Any, label: str) -> str:
    if not isinstance(value, str):
        raise DomainError(
            INVALID,
            "The {field} must be an organisation's name.",
            values={"field": label},
            field=label,
        )
    return clean_text(value, label, ORG_MAX)


def clean_field(config: dict[str, Any], name: str, value: Any) -> Any:
    """``value`` checked and normalised for field ``name`` under the plan's ``config``
    (:func:`settings`), or a DomainError naming it."""
    if name in TEXT_FIELDS or name in config["custom"]:
        limit = TEXT_FIELDS.get(name, CUSTOM_MAX)
        if not isinstance(value, str):
            raise DomainError(INVALID, "{field} must be text.", values={"field": name}, field=name)
        too_long = N_("{field} must have at most {max} characters.")
        return clean_text(value, name, limit, one_line=False, too_long=too_long)
    if name in DATE_FIELDS:
        if value in ("", None):
            return ""
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise DomainError(
                INVALID, "{field} must be a date as YYYY-MM-DD.", values={"field": name}, field=name
            )
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise DomainError(
                INVALID,
                "{field}: {value} is not a date.",
                values={"field": name, "value": value},
                field=name,
            ) from None
        if day.year not in YEARS:
            raise DomainError(
                INVALID,
                "{field}: {value} is not between {first} and {last}.",
                values={"field": name, "value": value, "first": YEARS[0], "last": YEARS[-1]},
                field=name,
            )
        return value
    if name == "lead":
        return _org(value, "lead")
    if name == "partners":
        if not isinstance(value, list) or len(value) > MAX_PARTNERS:
            raise DomainError(
                INVALID,
                "partners must be a list of at most {max} names.",
                values={"max": MAX_PARTNERS},
                field=name,
            )
        partners: list[str] = []
        for item in value:
            partner = _org(item, "partners")
            if partner and name_key(partner) not in {name_key(p) for p in partners}:
                partners.append(partner)
        return partners
    if name == "budget_amount":
        if value in ("", None):
            return ""
        try:
            amount = Decimal(str(value).replace(",", "").strip())
        except InvalidOperation:
            raise DomainError(INVALID, "The budget must be a number.", field=name) from None
        if not amount.is_finite() or amount < 0 or amount >= Decimal("1e13"):
            raise DomainError(INVALID, "The budget must be a number from 0 to 10^13.", field=name)
        return format(amount.quantize(Decimal("0.01")).normalize(), "f")
    if name == "budget_currency":
        if value in ("", None):
            return ""
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value.strip()):
            raise DomainError(
                INVALID, "The currency must be a three-letter code such as USD.", field=name
            )
        return value.strip().upper()
    if name in CHOICE_FIELDS:
        if value in ("", None):
            return ""
        allowed = {
            "action_field": [o["id"] for o in config["action_fields"]],
            "cycle_phase": [o["id"] for o in config["cycle_phases"]],
            "sector": config["sectors"],
            "level": config["levels"],
            "status": list(STATUSES),
        }[name]
        for known in allowed:
            if isinstance(value, str) and name_key(known) == name_key(value):
                return known
        if not allowed:
            raise DomainError(
                INVALID,
                "{field} must be one of: nothing in this kit.",
                values={"field": name},
                field=name,
            )
        raise DomainError(
            INVALID,
            "{field} must be one of: {choices}.",
            values={"field": name, "choices": ", ".join(allowed)},
            field=name,
        )
    raise DomainError(
        INVALID, "The plan has no field {field}.", values={"field": repr(name)}, field=name
    )


def check_dates(fields: dict[str, Any]) -> None:
    """A row's dates in order: due on or after the start, the review on or before the
    due date (dates not valid on their own are left to :func:`clean_field`)."""
    start, due, review = (plan_date(fields.get(n)) for n in ("start", "due", "review_date"))
    if start and due and due < start:
        raise DomainError(
            INVALID,
            "The due date {due} is before the start {start}.",
            values={"due": fields["due"], "start": fields["start"]},
            field="due",
        )
    if review and due and review > due:
        raise DomainError(
            INVALID,
            "The review date {review} is after the due date {due}.",
            values={"review": fields["review_date"], "due": fields["due"]},
            field="review_date",
        )


def plan_date(value: Any) -> date | None:
    """A plan date as a date, None when it is missing or not a date the plan accepts
    (rows saved before the checks may hold a year 25: it counts as no date)."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if day.year in YEARS else None
