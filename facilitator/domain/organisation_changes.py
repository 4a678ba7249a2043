"""Renaming an organisation and merging one into another, and writing the name kept
wherever other tables keep an organisation's name as text.

A participant's organisation, a plan row's lead, partners and offers, a ballot of a
round grouped by organisation, a representative and a signature, and a stakeholder
card that names the organisation: when an organisation is renamed or merged into
another, each of these that held one of its names (compared by ``name_key``) is given
the name kept, in the same transaction, with the event each screen already folds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitator.core import protocol
from facilitator.core.errors import CONFLICT, INVALID, DomainError
from facilitator.core.events import Event, Outcome
from facilitator.core.text import name_key
from facilitator.domain.organisations import (
    LIST_MAX,
    Organisation,
    apply_fields,
    check_free,
    clean_names,
    get,
    near_map,
)
from facilitator.domain.plan import PlanAction, row_dict
from facilitator.domain.polls import Ballot, Poll, PollRound
from facilitator.domain.signoff import PlanVersion, Representative, Signature
from facilitator.domain.stakeholders import Stakeholder, as_dict, map_spec
from facilitator.domain.workshops import Participant, Workshop, presence


def edit(
    session: Session, workshop: Workshop, organisation_id: int, changes: dict[str, Any]
) -> Outcome:
    """Change an organisation's names, sector or contacts; a new name is written
    everywhere the old one was. Confirming a flagged one: ``{"flagged": False}``."""
    item = get(session, workshop, organisation_id)
    before = item.name
    apply_fields(item, changes)
    if "flagged" in changes:
        item.flagged = bool(changes["flagged"])
    check_free(session, workshop, item)
    session.flush()
    events = []
    if item.name != before:
        events = _write_name(session, workshop, {name_key(before)}, item)
    data = {"organisation": item.as_dict(), "near": near_map(session, workshop.id)}
    return Outcome(result=data, events=[Event(protocol.ORGANISATION_UPDATED, data), *events])


def merge(session: Session, workshop: Workshop, organisation_id: int, into_id: int) -> Outcome:
    """Fold one organisation into another: its people, plan rows, ballots, representative
    and signatures follow, its names find the one kept, and it is gone."""
    if organisation_id == into_id:
        raise DomainError(INVALID, "An organisation cannot be merged into itself.")
    gone, kept = get(session, workshop, organisation_id), get(session, workshop, into_id)
    old_keys = gone.keys()
    kept.other_names = clean_names([*kept.other_names, *gone.names()], "other_names")[:LIST_MAX]
    kept.emails = (kept.emails + [e for e in gone.emails if e not in kept.emails])[:LIST_MAX]
    kept.signatories = (
        kept.signatories + [s for s in gone.signatories if s not in kept.signatories]
    )[:LIST_MAX]
    kept.sector = kept.sector or gone.sector
    for person in session.scalars(
        select(Participant).where(Participant.organisation_id == gone.id)
    ):
        person.organisation_id = kept.id
    session.delete(gone)
    session.flush()
    events = _write_name(session, workshop, old_keys, kept)
    data = {
        "organisation": kept.as_dict(),
        "merged_id": organisation_id,
        "near": near_map(session, workshop.id),
    }
    return Outcome(result=data, events=[Event(protocol.ORGANISATION_MERGED, data), *events])


def _write_name(
    session: Session, workshop: Workshop, old_keys: set[str], kept: Organisation
) -> list[Event]:
    """Write ``kept.name`` wherever a name with one of ``old_keys`` stood."""
    return rename(session, workshop, old_keys | kept.keys(), kept.name)


def rename(session: Session, workshop: Workshop, keys: set[str], name: str) -> list[Event]:
    """Give ``name`` to every organisation name with one of ``keys`` in ``workshop``;
    refused (nothing written) when two organisations both signed one version."""
    new_key = name_key(name)
    _check_signatures(session, workshop, keys)
    events: list[Event] = []
    events += _participants(session, workshop, keys, name)
    events += _plan(session, workshop, keys, name)
    _ballots(session, workshop, keys, name)
    events += _signoff(session, workshop, keys, name, new_key)
    events += _stakeholders(session, workshop, keys, name)
    session.flush()
    return events


def _participants(session: Session, workshop: Workshop, keys: set[str], name: str) -> list[Event]:
    moved = [
        p
        for p in session.scalars(select(Participant).where(Participant.workshop_id == workshop.id))
        if name_key(p.organisation) in keys and p.organisation != name
    ]
    for person in moved:
        person.organisation = name
    session.flush()
    count = presence(session, workshop.id)
    return [
        Event(protocol.PARTICIPANT_UPDATED, {"participant": p.as_dict(), "presence": count})
        for p in moved
        if p.removed_at is None
    ]


def _renamed(value: str, keys: set[str], name: str) -> str:
    return name if value and name_key(value) in keys else value


def _plan(session: Session, workshop: Workshop, keys: set[str], name: str) -> list[Event]:
    events = []
    for row in session.scalars(select(PlanAction).where(PlanAction.workshop_id == workshop.id)):
        fields = dict(row.fields)
        changed: dict[str, Any] = {}
        lead = _renamed(fields.get("lead", ""), keys, name)
        if lead != fields.get("lead", ""):
            changed["lead"] = lead
        partners: list[str] = []
        for partner in fields.get("partners", []):
            renamed = _renamed(partner, keys, name)
            if name_key(renamed) not in {name_key(p) for p in partners}:
                partners.append(renamed)
        lead_key = name_key(changed.get("lead", fields.get("lead", "")))
        partners = [p for p in partners if name_key(p) != lead_key]
        if partners != fields.get("partners", []):
            changed["partners"] = partners
        offers = [
            {**o, "organisation": _renamed(o["organisation"], keys, name)} for o in row.offers
        ]
        if not changed and offers == list(row.offers):
            continue
        row.fields = {**fields, **changed}
        # A changed field gets a new version: a screen editing it meanwhile is told.
        row.versions = {
            **row.versions,
            **{f: row.versions.get(f, 0) + 1 for f in changed},
        }
        row.offers = offers
        events.append(Event(protocol.PLAN_UPDATED, {"action": row_dict(row)}))
    return events


def _ballots(session: Session, workshop: Workshop, keys: set[str], name: str) -> None:
    rounds = select(PollRound.id).join(Poll, Poll.id == PollRound.poll_id)
    of_workshop = rounds.where(Poll.workshop_id == workshop.id)
    query = select(Ballot).where(Ballot.round_id.in_(of_workshop), Ballot.organisation != "")
    for ballot in session.scalars(query):
        ballot.organisation = _renamed(ballot.organisation, keys, name)


def _check_signatures(session: Session, workshop: Workshop, keys: set[str]) -> None:
    """Two organisations that each signed one version cannot become one: that version
    would hold two signatures of one organisation."""
    versions = select(PlanVersion.id).where(PlanVersion.workshop_id == workshop.id)
    seen: dict[int, Signature] = {}
    for signature in session.scalars(select(Signature).where(Signature.version_id.in_(versions))):
        if signature.organisation_key not in keys:
            continue
        first = seen.setdefault(signature.version_id, signature)
        if first.organisation_key != signature.organisation_key:
            raise DomainError(
                CONFLICT,
                "{a} and {b} both signed the same version: they stay two organisations.",
                values={"a": first.organisation, "b": signature.organisation},
            )


def _signoff(
    session: Session, workshop: Workshop, keys: set[str], name: str, new_key: str
) -> list[Event]:
    versions = select(PlanVersion.id).where(PlanVersion.workshop_id == workshop.id)
    for signature in session.scalars(select(Signature).where(Signature.version_id.in_(versions))):
        if signature.organisation_key in keys:
            signature.organisation, signature.organisation_key = name, new_key
    reps = [
        r
        for r in session.scalars(
            select(Representative).where(Representative.workshop_id == workshop.id)
        )
        if r.organisation_key in keys
    ]
    # One representative per organisation: the kept organisation's own, else the first.
    reps.sort(key=lambda r: (r.organisation_key != new_key, r.id))
    events = []
    for index, rep in enumerate(reps):
        if index:
            session.delete(rep)
            continue
        rep.organisation, rep.organisation_key = name, new_key
        person = session.get(Participant, rep.participant_id)
        if person is not None:
            data = {
                "representative": {
                    "organisation": name,
                    "participant_id": person.id,
                    "name": person.name,
                }
            }
            events.append(Event(protocol.SIGNOFF_REPRESENTATIVE, data))
    session.flush()
    return events


def _stakeholders(session: Session, workshop: Workshop, keys: set[str], name: str) -> list[Event]:
    scale = map_spec(workshop)["scale_max"]
    events = []
    for card in session.scalars(select(Stakeholder).where(Stakeholder.workshop_id == workshop.id)):
        fits = len(name) <= Stakeholder.__table__.c.name.type.length
        if fits and name_key(card.name) in keys and card.name != name:
            card.name = name
            data = {"stakeholder": as_dict(card, scale)}
            events.append(Event(protocol.STAKEHOLDER_UPDATED, data))
    return events
