"""The action plan: one row per action, one accountable lead organisation each.

Rows are edited live by several people at once, so every field carries its own
version: an edit names the version it was based on, two people editing different
fields both win, and two editing the same field get a conflict naming the value
now stored, never a silent loss. Participants propose actions and offer their
organisation as lead or partner; the facilitator accepts. Accepted rows are the
plan; :func:`plan_actions` gives them in the shape of ``docs/plan.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from facilitator.core import protocol, quotas
from facilitator.core.db import Base, utcnow
from facilitator.core.errors import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, DomainError
from facilitator.core.events import Event, Outcome
from facilitator.core.i18n import N_
from facilitator.core.text import name_key
from facilitator.domain import organisations
from facilitator.domain.agenda import AgendaItem
from facilitator.domain.plan_schema import (
    MAX_ACTIONS,
    OFFER_ONLY,
    OFFER_ROLES,
    check_dates,
    clean_field,
    complete_fields,
    settings,
)
from facilitator.domain.polls import Poll, PollRound
from facilitator.domain.workshops import Participant, Workshop


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
        "fields": complete_fields(row.fields),
        "versions": {name: row.versions.get(name, 0) for name in row.fields},
        "offers": list(row.offers),
    }


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
    added = _as_organisations(session, workshop, clean)
    if not clean.get("activity") and not clean.get("objective"):
        raise DomainError(INVALID, "Say what the action is: give its activity.", field="activity")
    check_dates(clean)
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
    outcome = _changed(row, protocol.PLAN_CREATED)
    outcome.events[:0] = added
    return outcome


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
    current = complete_fields(row.fields)
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
    added = _as_organisations(session, workshop, clean)
    merged = {**row.fields, **clean}
    if "partners" in merged and merged.get("lead"):
        lead = name_key(merged["lead"])
        merged["partners"] = [p for p in merged["partners"] if name_key(p) != lead]
    check_dates(merged)
    row.fields = merged
    row.versions = {
        **row.versions,
        **{name: row.versions.get(name, 0) + 1 for name in clean},
    }
    session.flush()
    outcome = _changed(row, protocol.PLAN_UPDATED)
    outcome.events[:0] = added
    return outcome


def _as_organisations(session: Session, workshop: Workshop, clean: dict[str, Any]) -> list[Event]:
    """The lead and partners in ``clean`` as the workshop's organisations name them, a
    name none has added as one; the events of those added."""
    events: list[Event] = []

    def as_named(text: str) -> str:
        if not text:
            return text
        found = organisations.named(session, workshop, text)
        events.extend(found.events)
        return found.result["organisation"].name

    if "lead" in clean:
        clean["lead"] = as_named(clean["lead"])
    if "partners" in clean:
        partners: list[str] = []
        for partner in clean["partners"]:
            name = as_named(partner)
            if name_key(name) not in {name_key(p) for p in partners}:
                partners.append(name)
        clean["partners"] = partners
    return events


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
    key = name_key(organisation)
    fields = complete_fields(row.fields)
    if role == "lead" and name_key(fields["lead"]) == key:
        raise DomainError(
            CONFLICT,
            "{organisation} already leads {ref}.",
            values={"organisation": organisation, "ref": row.ref},
        )
    if role == "partner" and key in {name_key(p) for p in fields["partners"]}:
        raise DomainError(
            CONFLICT,
            "{organisation} already supports {ref}.",
            values={"organisation": organisation, "ref": row.ref},
        )
    offers = [o for o in row.offers if name_key(o["organisation"]) != key]
    offers.append({"organisation": organisation, "role": role, "participant_id": participant.id})
    row.offers = offers
    session.flush()
    return _changed(row, protocol.PLAN_UPDATED)


def settle_offer(
    session: Session, workshop: Workshop, action_id: int, organisation: str, accept: bool
) -> Outcome:
    """The facilitator accepts an offer (the organisation becomes lead or partner) or not."""
    row = _row(session, workshop, action_id)
    key = name_key(organisation)
    found = next((o for o in row.offers if name_key(o["organisation"]) == key), None)
    if found is None:
        raise DomainError(
            NOT_FOUND,
            "{organisation} has no open offer on {ref}.",
            values={"organisation": organisation, "ref": row.ref},
        )
    row.offers = [o for o in row.offers if o is not found]
    if accept:
        fields = complete_fields(row.fields)
        changed: dict[str, Any] = {}
        if found["role"] == "lead":
            changed["lead"] = found["organisation"]
            changed["partners"] = [p for p in fields["partners"] if name_key(p) != key]
        else:
            changed["partners"] = [*fields["partners"], found["organisation"]]
        row.fields = {**row.fields, **changed}
        row.versions = {**row.versions, **{n: row.versions.get(n, 0) + 1 for n in changed}}
    session.flush()
    return _changed(row, protocol.PLAN_UPDATED)
