"""Freezing the plan into versions, and partner organisations signing them.

A version is the canonical plan (``canonical.py``) stored as the exact bytes that
were hashed, so it can be exported and verified for ever. Each organisation in
the room names one representative, who signs the newest version on their phone:
endorse, endorse with reservations, or decline, with full name and title.
Signatures belong to the version they were made on; a change of the plan's rows
after a freeze makes the version stale until the facilitator freezes again
(which makes a new version when the content changed).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from facilitator.core import protocol
from facilitator.core.db import Base, utcnow
from facilitator.core.errors import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, DomainError
from facilitator.core.events import Event, EventRecord, Outcome
from facilitator.core.i18n import N_
from facilitator.core.text import clean_text, name_key
from facilitator.domain import canonical
from facilitator.domain.workshops import Participant, Workshop, active_participants, get_participant

DECISIONS = {
    "endorse": N_("Endorsed"),
    "endorse_with_reservations": N_("Endorsed with reservations"),
    "decline": N_("Declined"),
}
NAME_MAX = 120
TITLE_MAX = 120
TEXT_MAX = 2000
REASON_MAX = 1000
#: Events that change the plan's rows: after a freeze they make the version stale.
ROW_EVENTS = (protocol.PLAN_CREATED, protocol.PLAN_UPDATED, protocol.PLAN_REMOVED)


class PlanVersion(Base):
    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("workshop_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    number: Mapped[int]
    #: SHA-256 (hex) of ``canonical``.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: The canonical JSON exactly as hashed.
    canonical: Mapped[str] = mapped_column(Text)
    frozen_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The workshop's event number when frozen (or last confirmed unchanged).
    seq: Mapped[int] = mapped_column(default=0)
    #: Secret part of the public download link shown as a QR code in the room.
    share_key: Mapped[str] = mapped_column(
        String(32), unique=True, default=lambda: secrets.token_urlsafe(16)
    )

    def plan(self) -> dict[str, Any]:
        """The frozen plan as data (shared and cached: do not change it)."""
        cached = _parsed.get(self.sha256)
        if cached is None:
            cached = json.loads(self.canonical)
            if len(_parsed) >= 64:
                _parsed.clear()
            _parsed[self.sha256] = cached
        return cached


#: Parsed canonical plans by hash: versions never change, snapshots read them often.
_parsed: dict[str, dict[str, Any]] = {}


class Representative(Base):
    """The one person who signs for an organisation."""

    __tablename__ = "plan_representatives"
    __table_args__ = (UniqueConstraint("workshop_id", "organisation_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    organisation: Mapped[str] = mapped_column(String(NAME_MAX))
    organisation_key: Mapped[str] = mapped_column(String(NAME_MAX))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))


class Signature(Base):
    __tablename__ = "plan_signatures"
    __table_args__ = (
        UniqueConstraint("version_id", "organisation_key"),
        Index("ix_plan_signatures_version", "version_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id", ondelete="CASCADE"))
    organisation: Mapped[str] = mapped_column(String(NAME_MAX))
    organisation_key: Mapped[str] = mapped_column(String(NAME_MAX))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL")
    )
    representative: Mapped[str] = mapped_column(String(NAME_MAX))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    decision: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(TEXT_MAX), default="")
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)


def _key(organisation: str) -> str:
    return name_key(organisation)


def signature_dict(s: Signature) -> dict[str, Any]:
    """A signature as docs/plan.md defines it (what the PDF and verification show)."""
    return {
        "organisation": s.organisation,
        "representative": s.representative,
        "title": s.title,
        "decision": s.decision,
        "text": s.text,
        "signed_at": canonical.iso(s.signed_at),
    }


def signatures(session: Session, version_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Signature).where(Signature.version_id == version_id).order_by(Signature.signed_at)
    )
    return [signature_dict(s) for s in rows]


def version_dict(session: Session, version: PlanVersion) -> dict[str, Any]:
    data = version.plan()
    return {
        "id": version.id,
        "number": version.number,
        "sha256": version.sha256,
        "frozen_at": canonical.iso(version.frozen_at),
        "override": data.get("override"),
        "actions": len(data.get("actions", [])),
        "organisations": [o["name"] for o in data.get("organisations", [])],
        "signatures": signatures(session, version.id),
        #: The public page of this version (PDF, CSV, JSON), for the room's QR code.
        "share_path": f"/plan/{version.share_key}",
    }


def latest(session: Session, workshop_id: int) -> PlanVersion | None:
    return session.scalar(
        select(PlanVersion)
        .where(PlanVersion.workshop_id == workshop_id)
        .order_by(PlanVersion.number.desc())
        .limit(1)
    )


def is_stale(session: Session, version: PlanVersion) -> bool:
    """True when the plan's rows changed after ``version`` was frozen."""
    return (
        session.scalar(
            select(EventRecord.id)
            .where(
                EventRecord.workshop_id == version.workshop_id,
                EventRecord.seq > version.seq,
                EventRecord.type.in_(ROW_EVENTS),
            )
            .limit(1)
        )
        is not None
    )


#: The parts of a plan its signatories commit to; who else joined later does not count.
COMMITTED = ("actions", "decisions", "stakeholder_map", "agenda", "columns")


def changed_since(session: Session, workshop: Workshop, version: PlanVersion) -> bool:
    """True when what ``version`` commits to differs from the plan as it stands.

    Cheap when nothing touched the rows since the freeze; otherwise the plan is
    rebuilt and compared, and an unchanged plan re-confirms the version.
    """
    if not is_stale(session, version):
        return False
    now = canonical.build(session, workshop, version=version.number, frozen_at=utcnow())
    frozen = version.plan()
    if all(now[k] == frozen.get(k) for k in COMMITTED):
        version.seq = workshop.seq
        session.flush()
        return False
    return True


def missing(plan_data: dict[str, Any]) -> list[str]:
    """What stops a plan from being signed as it is: actions without an accountable lead."""
    if not plan_data["actions"]:
        return ["The plan has no actions."]
    return [
        f"{a['ref']}: no lead organisation ({(a['activity'] or a['objective'])[:60]})"
        for a in plan_data["actions"]
        if not a["lead"].strip()
    ]


def freeze(session: Session, workshop: Workshop, override_reason: str = "") -> Outcome:
    """Freeze the plan as it stands into a new version (or confirm the newest one
    when nothing changed). Refused with the list of what is missing unless the
    facilitator gives a reason, which is recorded in the version."""
    override_reason = clean_text(
        override_reason,
        "reason",
        REASON_MAX,
        one_line=False,
        too_long=N_("The reason must have at most {max} characters."),
    )
    previous = latest(session, workshop.id)
    now = utcnow()
    draft = canonical.build(
        session, workshop, version=(previous.number + 1 if previous else 1), frozen_at=now
    )
    gaps = missing(draft)
    if gaps and not draft["actions"]:
        raise DomainError(INVALID, "There is nothing to freeze: the plan has no actions.")
    if gaps and not override_reason:
        raise DomainError(
            INVALID,
            "Every action needs one accountable lead organisation before the plan is "
            "frozen. Missing: {missing}",
            values={"missing": "; ".join(gaps[:10]) + ("…" if len(gaps) > 10 else "")},
            missing=gaps,
        )
    override = {"reason": override_reason, "missing": gaps} if gaps else None
    if (
        previous is not None
        and canonical.content(previous.plan()) == canonical.content(draft)
        and (previous.plan().get("override") == override)
    ):
        previous.seq = workshop.seq  # nothing changed: the newest version stands
        session.flush()
        data = {"version": version_dict(session, previous), "new": False, "stale": False}
        return Outcome(result=data, events=[Event(protocol.PLAN_FROZEN, data)])
    draft["override"] = override
    body = canonical.canonical_bytes(draft)
    version = PlanVersion(
        workshop_id=workshop.id,
        number=draft["version"],
        sha256=canonical.digest(draft),
        canonical=body.decode("utf-8"),
        frozen_at=now,
        seq=workshop.seq,
    )
    session.add(version)
    session.flush()
    data = {"version": version_dict(session, version), "new": True, "stale": False}
    named = _name_the_only_ones(session, workshop)
    return Outcome(result=data, events=[Event(protocol.PLAN_FROZEN, data), *named])


def _name_the_only_ones(session: Session, workshop: Workshop) -> list[Event]:
    """An organisation with one person in the room and no representative yet: that
    person signs for it (the facilitator may name another)."""
    people: dict[str, list[Participant]] = {}
    for person in active_participants(session, workshop.id):
        people.setdefault(_key(person.organisation), []).append(person)
    have = set(
        session.scalars(
            select(Representative.organisation_key).where(Representative.workshop_id == workshop.id)
        )
    )
    events = []
    for key, members in people.items():
        if key and key not in have and len(members) == 1:
            events += name_representative(session, workshop, members[0].id).events
    return events


def name_representative(session: Session, workshop: Workshop, participant_id: int) -> Outcome:
    """Make a participant the one who signs for their organisation."""
    person = get_participant(session, workshop, participant_id)
    key = _key(person.organisation)
    row = session.scalar(
        select(Representative).where(
            Representative.workshop_id == workshop.id, Representative.organisation_key == key
        )
    )
    if row is None:
        row = Representative(
            workshop_id=workshop.id,
            organisation=person.organisation,
            organisation_key=key,
            participant_id=person.id,
        )
        session.add(row)
    else:
        row.participant_id = person.id
        row.organisation = person.organisation
    session.flush()
    data = {"representative": _representative_dict(row, person)}
    return Outcome(result=data, events=[Event(protocol.SIGNOFF_REPRESENTATIVE, data)])


def _representative_dict(row: Representative, person: Participant) -> dict[str, Any]:
    return {
        "organisation": row.organisation,
        "participant_id": row.participant_id,
        "name": person.name,
    }


def representatives(session: Session, workshop_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Representative, Participant)
        .join(Participant, Participant.id == Representative.participant_id)
        .where(Representative.workshop_id == workshop_id)
        .order_by(Representative.organisation)
    ).all()
    return [_representative_dict(r, p) for r, p in rows]


def sign(
    session: Session,
    workshop: Workshop,
    participant: Participant,
    version_id: int,
    decision: str,
    full_name: str,
    title: str,
    text: str,
) -> Outcome:
    """The named representative signs the newest, current version for their organisation."""
    key = _key(participant.organisation)
    rep = session.scalar(
        select(Representative).where(
            Representative.workshop_id == workshop.id, Representative.organisation_key == key
        )
    )
    if rep is None or rep.participant_id != participant.id:
        raise DomainError(
            FORBIDDEN,
            "Only the representative the facilitator named for {organisation} signs for it.",
            values={"organisation": participant.organisation},
        )
    version = session.get(PlanVersion, version_id)
    if version is None or version.workshop_id != workshop.id:
        raise DomainError(
            NOT_FOUND,
            "There is no plan version {id} in this workshop.",
            values={"id": version_id},
        )
    newest = latest(session, workshop.id)
    assert newest is not None
    if version.id != newest.id:
        raise DomainError(
            CONFLICT,
            "Version {version} is no longer current: version {newest} replaced it. "
            "Read the newest version before signing.",
            values={"version": version.number, "newest": newest.number},
        )
    if changed_since(session, workshop, version):
        raise DomainError(
            CONFLICT,
            "The plan changed after version {version} was frozen; the facilitator "
            "must freeze it again before it is signed.",
            values={"version": version.number},
        )
    if decision not in DECISIONS:
        raise DomainError(
            INVALID,
            "decision must be one of: {choices}.",
            values={"choices": ", ".join(DECISIONS)},
            field="decision",
        )
    name_refusal = N_("Give your full name (at most {max} characters).")
    full_name = clean_text(
        full_name, "full_name", NAME_MAX, missing=name_refusal, too_long=name_refusal
    )
    title_refusal = N_("Give your title (at most {max} characters).")
    title = clean_text(title, "title", TITLE_MAX, missing=title_refusal, too_long=title_refusal)
    text = clean_text(
        text, "text", TEXT_MAX, one_line=False, too_long=N_("At most {max} characters.")
    )
    if decision != "endorse" and not text:
        if decision == "endorse_with_reservations":
            raise DomainError(INVALID, "Please state your reservations.", field="text")
        raise DomainError(INVALID, "Please state your reason for declining.", field="text")
    signature = Signature(
        version_id=version.id,
        organisation=rep.organisation,
        organisation_key=key,
        participant_id=participant.id,
        representative=full_name,
        title=title,
        decision=decision,
        text=text if decision != "endorse" else "",
    )
    try:
        with session.begin_nested():
            session.add(signature)
            session.flush()
    except IntegrityError:
        raise DomainError(
            CONFLICT,
            "{organisation} has already signed version {version}.",
            values={"organisation": rep.organisation, "version": version.number},
        ) from None
    data = {"version_id": version.id, "signature": signature_dict(signature)}
    return Outcome(result=data, events=[Event(protocol.SIGNOFF_SIGNED, data)])


def snapshot_part(session: Session, workshop: Workshop) -> dict[str, Any]:
    newest = latest(session, workshop.id)
    return {
        "version": version_dict(session, newest) if newest else None,
        "stale": bool(newest and is_stale(session, newest)),
        "representatives": representatives(session, workshop.id),
        "decisions": [{"id": k, "label": v} for k, v in DECISIONS.items()],
    }
