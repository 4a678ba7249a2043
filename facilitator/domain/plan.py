"""The action plan: one row per action, one accountable lead organisation each.

Rows are edited live by several people at once, so every field carries its own
version: an edit names the version it was based on, two people editing different
fields both win, and two editing the same field get a conflict naming the value
now stored, never a silent loss. Participants propose actions and offer their
organisation as lead or partner; the facilitator accepts. Accepted rows are the
plan; :func:`plan_actions` gives them in the shape of ``docs/plan.md``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from facilitator.core import protocol, quotas
from facilitator.core.db import Base, utcnow
from facilitator.core.errors import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, DomainError
from facilitator.core.events import Event, Outcome, refresher
from facilitator.core.i18n import N_
from facilitator.core.text import clean_text
from facilitator.domain import accountability
from facilitator.domain.agenda import AgendaItem
from facilitator.domain.kits import PLAN_COLUMNS, plan_fields
from facilitator.domain.polls import Poll, PollRound
from facilitator.domain.workshops import Participant, Workshop, active_participants

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
CHOICE_FIELDS = ("action_field", "cycle_phase", "sector", "level", "status")
ORG_MAX = 120
CUSTOM_MAX = 300
MAX_PARTNERS = 20
MAX_ACTIONS = 1000
#: Every field a row holds; budget is kept as three fields, shown as one column.
FIELDS = plan_fields()
#: Fields a participant changes only through an offer the facilitator accepts.
OFFER_ONLY = ("lead", "partners")
OFFER_ROLES = ("lead", "partner")


class PlanAction(Base):
    """One row of the action plan (accepted) or a participant's proposal for one."""

    __tablename__ = "plan_actions"
    __table_args__ = (UniqueConstraint("workshop_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    #: Shown as the reference ``A<number>``; never reused within a workshop.
    number: Mapped[int]
    accepted: Mapped[bool] = mapped_column(default=False)
    proposed_by: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL")
    )
    #: Where the row came from: ``poll`` or ``agenda`` (with its id), or typed ("").
    source_kind: Mapped[str] = mapped_column(String(10), default="")
    source_id: Mapped[int | None]
    #: Field name -> value (text, or a list of names for ``partners``).
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Field name -> version, raised by every change of that field.
    versions: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    #: Offers awaiting the facilitator: [{"organisation", "role", "participant_id"}].
    offers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def ref(self) -> str:
        return f"A{self.number}"


def row_dict(row: PlanAction) -> dict[str, Any]:
    return {
        "id": row.id,
        "ref": row.ref,
        "accepted": row.accepted,
        "proposed_by": row.proposed_by,
        "source": {"kind": row.source_kind, "id": row.source_id} if row.source_kind else None,
        "fields": _complete(row.fields),
        "versions": {name: row.versions.get(name, 0) for name in row.fields},
        "offers": list(row.offers),
    }


def _complete(fields: dict[str, Any]) -> dict[str, Any]:
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


# -- validating one field -----------------------------------------------------------------------


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
            date.fromisoformat(value)
        except ValueError:
            raise DomainError(
                INVALID,
                "{field}: {value} is not a date.",
                values={"field": name, "value": value},
                field=name,
            ) from None
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
            if partner and partner.casefold() not in {p.casefold() for p in partners}:
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
            if isinstance(value, str) and known.casefold() == value.strip().casefold():
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


def _check_dates(fields: dict[str, Any]) -> None:
    start, due = fields.get("start"), fields.get("due")
    if start and due and due < start:
        raise DomainError(
            INVALID,
            "The due date {due} is before the start {start}.",
            values={"due": due, "start": start},
            field="due",
        )


# -- operations ---------------------------------------------------------------------------------


def _row(session: Session, workshop: Workshop, action_id: int) -> PlanAction:
    row = session.get(PlanAction, action_id)
    if row is None or row.workshop_id != workshop.id:
        raise DomainError(
            NOT_FOUND, "There is no action {id} in this plan.", values={"id": action_id}
        )
    return row


def _changed(row: PlanAction, kind: str) -> Outcome:
    data = {"action": row_dict(row)}
    return Outcome(
        result=data,
        events=[Event(kind, data)],
        refresh=[(protocol.PLAN_ACCOUNTABILITY, row.workshop_id)],
    )


def create(
    session: Session,
    workshop: Workshop,
    participant: Participant | None,
    fields: dict[str, Any],
    source: tuple[str, int | None] = ("", None),
) -> Outcome:
    """A new row: accepted when the facilitator adds it, a proposal from a participant."""
    count = session.scalar(select(func.count()).where(PlanAction.workshop_id == workshop.id))
    if (count or 0) >= MAX_ACTIONS:
        raise DomainError(
            INVALID, "A plan holds at most {max} actions.", values={"max": MAX_ACTIONS}
        )
    if participant is not None:
        quotas.check(
            session,
            PlanAction,
            [PlanAction.workshop_id == workshop.id, PlanAction.proposed_by == participant.id],
            quotas.ACTIONS_PER_PARTICIPANT,
            N_(
                "You have reached the limit of {limit} actions proposed. "
                "Ask the facilitator if more are needed."
            ),
        )
    if participant is not None and set(fields) & set(OFFER_ONLY):
        raise DomainError(
            FORBIDDEN,
            "Offer your organisation as lead or partner once the action exists; "
            "the facilitator confirms it.",
            field="lead",
        )
    config = settings(workshop)
    clean = {name: clean_field(config, name, value) for name, value in fields.items()}
    if not clean.get("activity") and not clean.get("objective"):
        raise DomainError(INVALID, "Say what the action is: give its activity.", field="activity")
    _check_dates(clean)
    clean.setdefault("status", "planned")
    clean.setdefault("budget_currency", config["currency"])
    number = (
        session.scalar(
            select(func.max(PlanAction.number)).where(PlanAction.workshop_id == workshop.id)
        )
        or 0
    ) + 1
    row = PlanAction(
        workshop_id=workshop.id,
        number=number,
        accepted=participant is None,
        proposed_by=participant.id if participant else None,
        source_kind=source[0],
        source_id=source[1],
        fields=clean,
        versions={name: 1 for name in clean},
        offers=[],
    )
    session.add(row)
    session.flush()
    return _changed(row, protocol.PLAN_CREATED)


def create_from(session: Session, workshop: Workshop, kind: str, source_id: int) -> Outcome:
    """One click from a decision (a closed poll round) or an agenda item to a row."""
    if kind == "poll":
        poll = session.get(Poll, source_id)
        if poll is None or poll.workshop_id != workshop.id:
            raise DomainError(
                NOT_FOUND, "There is no poll {id} in this workshop.", values={"id": source_id}
            )
        decided = session.scalar(
            select(PollRound)
            .where(PollRound.poll_id == poll.id, PollRound.closed_at.is_not(None))
            .order_by(PollRound.number.desc())
        )
        if decided is None:
            raise DomainError(CONFLICT, "Close the poll first: an action follows a decision.")
        fields = {"objective": poll.title[:300], "activity": (decided.proposal or poll.title)[:500]}
    elif kind == "agenda":
        item = session.get(AgendaItem, source_id)
        if item is None or item.workshop_id != workshop.id:
            raise DomainError(NOT_FOUND, "There is no agenda item {id}.", values={"id": source_id})
        fields = {"objective": item.title[:300]}
    else:
        raise DomainError(INVALID, "An action is made from a poll or an agenda item.")
    return create(session, workshop, None, fields, (kind, source_id))


def edit(
    session: Session,
    workshop: Workshop,
    participant: Participant | None,
    action_id: int,
    changes: dict[str, Any],
    versions: dict[str, int],
) -> Outcome:
    """Change some fields of a row; each names the version it was based on.

    All or nothing: if any field changed since its version, nothing is written
    and the conflict names the field, who cannot be told apart here, and the
    value now stored, so the editor can merge by hand.
    """
    row = _row(session, workshop, action_id)
    if not changes:
        raise DomainError(INVALID, "Nothing to change.")
    if participant is not None:
        barred = sorted(set(changes) & set(OFFER_ONLY))
        if barred:
            raise DomainError(
                FORBIDDEN,
                "Offer your organisation as lead or partner; the facilitator confirms it.",
                field=barred[0],
            )
        if not row.accepted and row.proposed_by != participant.id:
            raise DomainError(FORBIDDEN, "Only its author edits a proposed action.")
    current = _complete(row.fields)
    for name in changes:
        if name not in versions:
            raise DomainError(
                INVALID,
                "Say which version of {field} your change is based on.",
                values={"field": name},
                field=name,
            )
        if versions[name] != row.versions.get(name, 0):
            raise _stale(row, name, current[name], row.versions.get(name, 0))
    config = settings(workshop)
    clean = {name: clean_field(config, name, value) for name, value in changes.items()}
    merged = {**row.fields, **clean}
    if "partners" in merged and merged.get("lead"):
        lead = merged["lead"].casefold()
        merged["partners"] = [p for p in merged["partners"] if p.casefold() != lead]
    _check_dates(merged)
    row.fields = merged
    row.versions = {
        **row.versions,
        **{name: row.versions.get(name, 0) + 1 for name in clean},
    }
    session.flush()
    return _changed(row, protocol.PLAN_UPDATED)


def _stale(row: PlanAction, name: str, value: Any, version: int) -> DomainError:
    """The refusal of a change based on an older version of field ``name``, which now
    holds ``value`` (a list of names shown joined, another value in quotes)."""
    values = {"field": name, "ref": row.ref}
    current = {"value": value, "version": version}
    shown = ", ".join(value) if isinstance(value, list) else value
    if not shown:
        return DomainError(
            CONFLICT,
            "Someone changed {field} of {ref} while you were editing; it is now empty. "
            "Your change was not saved.",
            values=values,
            field=name,
            current=current,
        )
    if isinstance(value, list):
        return DomainError(
            CONFLICT,
            "Someone changed {field} of {ref} while you were editing; it is now {value}. "
            "Your change was not saved.",
            values={**values, "value": shown},
            field=name,
            current=current,
        )
    return DomainError(
        CONFLICT,
        "Someone changed {field} of {ref} while you were editing; it is now “{value}”. "
        "Your change was not saved.",
        values={**values, "value": shown},
        field=name,
        current=current,
    )


def accept(session: Session, workshop: Workshop, action_id: int) -> Outcome:
    row = _row(session, workshop, action_id)
    if row.accepted:
        raise DomainError(CONFLICT, "{ref} is already in the plan.", values={"ref": row.ref})
    row.accepted = True
    session.flush()
    return _changed(row, protocol.PLAN_UPDATED)


def remove(
    session: Session, workshop: Workshop, participant: Participant | None, action_id: int
) -> Outcome:
    row = _row(session, workshop, action_id)
    if participant is not None and (row.accepted or row.proposed_by != participant.id):
        raise DomainError(FORBIDDEN, "Only the facilitator removes an action from the plan.")
    data = {"action_id": row.id, "ref": row.ref}
    session.delete(row)
    session.flush()
    return Outcome(
        result=data,
        events=[Event(protocol.PLAN_REMOVED, data)],
        refresh=[(protocol.PLAN_ACCOUNTABILITY, workshop.id)],
    )


def offer(
    session: Session, workshop: Workshop, participant: Participant, action_id: int, role: str
) -> Outcome:
    """A participant offers their organisation to lead or support a row."""
    row = _row(session, workshop, action_id)
    if role not in OFFER_ROLES:
        raise DomainError(INVALID, "Offer to be the lead or a partner.", field="role")
    organisation = participant.organisation
    key = organisation.casefold()
    fields = _complete(row.fields)
    if role == "lead" and fields["lead"].casefold() == key:
        raise DomainError(
            CONFLICT,
            "{organisation} already leads {ref}.",
            values={"organisation": organisation, "ref": row.ref},
        )
    if role == "partner" and key in {p.casefold() for p in fields["partners"]}:
        raise DomainError(
            CONFLICT,
            "{organisation} already supports {ref}.",
            values={"organisation": organisation, "ref": row.ref},
        )
    offers = [o for o in row.offers if o["organisation"].casefold() != key]
    offers.append({"organisation": organisation, "role": role, "participant_id": participant.id})
    row.offers = offers
    session.flush()
    return _changed(row, protocol.PLAN_UPDATED)


def settle_offer(
    session: Session, workshop: Workshop, action_id: int, organisation: str, accept: bool
) -> Outcome:
    """The facilitator accepts an offer (the organisation becomes lead or partner) or not."""
    row = _row(session, workshop, action_id)
    key = " ".join(organisation.split()).casefold()
    found = next((o for o in row.offers if o["organisation"].casefold() == key), None)
    if found is None:
        raise DomainError(
            NOT_FOUND,
            "{organisation} has no open offer on {ref}.",
            values={"organisation": organisation, "ref": row.ref},
        )
    row.offers = [o for o in row.offers if o is not found]
    if accept:
        fields = _complete(row.fields)
        changed: dict[str, Any] = {}
        if found["role"] == "lead":
            changed["lead"] = found["organisation"]
            changed["partners"] = [p for p in fields["partners"] if p.casefold() != key]
        else:
            changed["partners"] = [*fields["partners"], found["organisation"]]
        row.fields = {**row.fields, **changed}
        row.versions = {**row.versions, **{n: row.versions.get(n, 0) + 1 for n in changed}}
    session.flush()
    return _changed(row, protocol.PLAN_UPDATED)


# -- the plan as data ---------------------------------------------------------------------------


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
        f = _complete(row.fields)
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
        seen.setdefault(p.organisation.casefold(), p.organisation)
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
