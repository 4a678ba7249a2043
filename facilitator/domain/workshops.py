"""Workshops, their stages and participants: models and domain operations.

Operations take a ``Session``, check the command, change rows and flush; they
return the events to publish and never commit.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session, relationship

from facilitator.core import i18n, protocol
from facilitator.core.db import Base, utcnow
from facilitator.core.errors import CLOSED, CONFLICT, INVALID, NOT_FOUND, DomainError
from facilitator.core.events import Event, Outcome, redacted_for
from facilitator.core.i18n import N_
from facilitator.core.text import clean_text, name_key

#: Join codes avoid characters that look alike on a projector or a phone
#: (0/O/D/Q, 1/I/L, 2/Z, 5/S, 8/B, U/V).
CODE_ALPHABET = "ACEFGHJKMNPRTWXY34679"
CODE_LENGTH = 6
NAME_MAX = 60
ORGANISATION_MAX = 80
SECTOR_MAX = 60
TITLE_MAX = 120
PLACE_MAX = 120
EMAIL_MAX = 200
EMAIL_RE = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")

DRAFT = "draft"  #: being designed; nobody can join yet
LIVE = "live"
CLOSED_STATUS = "closed"


class Workshop(Base):
    __tablename__ = "workshops"
    __table_args__ = (
        # A join code is unique among workshops people can still join.
        Index(
            "uq_workshops_open_code",
            "code",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    #: Where the workshop is held, for the plan's cover page.
    place: Mapped[str] = mapped_column(String(PLACE_MAX), default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Name of the kit it was created from; the kit's data is copied below.
    kit: Mapped[str] = mapped_column(String(64))
    #: Sectors, categories, action fields... copied from the kit at creation, so
    #: later edits to the kit file never change a workshop under way.
    kit_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH))
    status: Mapped[str] = mapped_column(String(12), default=LIVE)
    #: Secret part of the projector URL, so a second screen needs no login.
    projector_key: Mapped[str] = mapped_column(String(32))
    #: Last sequence number handed out to an event of this workshop.
    seq: Mapped[int] = mapped_column(default=0)
    current_stage_id: Mapped[int | None]
    #: What the facilitator puts on the projector besides the stage (share of voice).
    display: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    #: Put away by the facilitator (closed workshops only): off the console's list.
    archived_at: Mapped[datetime | None]
    #: Language of the projector and the plan PDF, and of phones whose owner chose none.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")

    stages: Mapped[list[Stage]] = relationship(
        order_by="Stage.position", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_open(self) -> bool:
        return self.status in (DRAFT, LIVE)

    @property
    def sectors(self) -> list[str]:
        return list(self.kit_data.get("sectors", []))

    @property
    def current_stage(self) -> Stage | None:
        if "stages" in self.__dict__:  # already loaded: no query
            return next((s for s in self.stages if s.id == self.current_stage_id), None)
        session = object_session(self)
        if session is None or self.current_stage_id is None:
            return None
        return session.get(Stage, self.current_stage_id)


class Stage(Base):
    __tablename__ = "stages"
    __table_args__ = (Index("uq_stages_workshop_key", "workshop_id", "key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    position: Mapped[int]
    #: The stage id from the kit, unique within the workshop.
    key: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(80))
    prompt: Mapped[str] = mapped_column(String(2000), default="")
    minutes: Mapped[int] = mapped_column(default=10)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: What the facilitator changes while the stage runs (a board's lock, private mode...).
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "type": self.type,
            "title": self.title,
            "prompt": self.prompt,
            "minutes": self.minutes,
            "position": self.position,
            "config": self.config,
        }


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (Index("ix_participants_workshop_sector", "workshop_id", "sector"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    #: The name of its organisation (:mod:`facilitator.domain.organisations` writes it).
    organisation: Mapped[str] = mapped_column(String(ORGANISATION_MAX))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    sector: Mapped[str] = mapped_column(String(SECTOR_MAX))
    #: Optional: where to send the signed plan. Seen only by the facilitator.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), default="")
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when the facilitator removes them; a removed participant can do nothing.
    removed_at: Mapped[datetime | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "organisation": self.organisation,
            "organisation_id": self.organisation_id,
            "sector": self.sector,
        }


# -- creating workshops ------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """Upper-case, drop spaces and dashes: what people type from a projector."""
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def unused_code(session: Session) -> str:
    for _ in range(50):
        code = new_code()
        taken = session.scalar(
            select(Workshop.id).where(Workshop.code == code, Workshop.status != CLOSED_STATUS)
        )
        if taken is None:
            return code
    raise DomainError(CONFLICT, "Could not find a free join code; try again.")


def find_open_by_code(session: Session, raw_code: str) -> Workshop | None:
    code = normalise_code(raw_code)
    if len(code) != CODE_LENGTH:
        return None
    return session.scalar(
        select(Workshop).where(Workshop.code == code, Workshop.status != CLOSED_STATUS)
    )


# -- participants -------------------------------------------------------------


def _clean(value: str, label: str, limit: int) -> str:
    return clean_text(value, label, limit, missing=N_("Please give your {field}."))


def _sector(workshop: Workshop, raw: str) -> str:
    """A sector from the kit's list (matched without regard to case) or a new one."""
    sector = _clean(raw, N_("sector"), SECTOR_MAX)
    for known in workshop.sectors:
        if known.lower() == sector.lower():
            return known
    return sector


def presence(session: Session, workshop_id: int) -> dict[str, Any]:
    """Who is in the room: total, by sector, and the organisations (their number and names,
    which every screen may show: they are who signs the plan)."""
    active = (Participant.workshop_id == workshop_id, Participant.removed_at.is_(None))
    rows = session.execute(
        select(Participant.sector, func.count()).where(*active).group_by(Participant.sector)
    ).all()
    # One spelling per organisation, whatever the case people typed it in.
    names: dict[str, str] = {}
    for name in session.scalars(
        select(Participant.organisation).where(*active).order_by(Participant.id)
    ):
        names.setdefault(name_key(name), name)
    by_sector = sorted(
        ({"sector": s, "count": n} for s, n in rows), key=lambda r: (-r["count"], r["sector"])
    )
    return {
        "total": sum(r["count"] for r in by_sector),
        "by_sector": by_sector,
        "organisations": len(names),
        "organisation_names": sorted(names.values(), key=str.casefold),
    }


def _email(raw: str) -> str:
    email = raw.strip()
    if email and (len(email) > EMAIL_MAX or not EMAIL_RE.match(email)):
        raise DomainError(
            INVALID,
            "That e-mail address does not look right; leave it empty if you prefer.",
            field="email",
        )
    return email


def check_joinable(workshop: Workshop) -> None:
    if not workshop.is_open:
        raise DomainError(CLOSED, "This workshop is closed.")
    if workshop.status == DRAFT:
        raise DomainError(
            CLOSED, "This workshop has not started yet: the facilitator opens it from the console."
        )


def join(
    session: Session,
    workshop: Workshop,
    name: str,
    organisation: str,
    sector: str,
    email: str = "",
    organisation_id: int | None = None,
) -> Outcome:
    """A new participant of ``organisation`` (the name of the row ``organisation_id``,
    found or added by :func:`facilitator.domain.organisations.for_participant`)."""
    check_joinable(workshop)
    participant = Participant(
        workshop_id=workshop.id,
        name=_clean(name, N_("name"), NAME_MAX),
        organisation=_clean(organisation, N_("organisation"), ORGANISATION_MAX),
        organisation_id=organisation_id,
        sector=_sector(workshop, sector),
        email=_email(email),
    )
    session.add(participant)
    session.flush()
    data = {"participant": participant.as_dict(), "presence": presence(session, workshop.id)}
    return Outcome(
        result={"participant": participant.as_dict()},
        events=[Event(protocol.PARTICIPANT_JOINED, data)],
    )


@redacted_for(protocol.PARTICIPANT_JOINED)
@redacted_for(protocol.PARTICIPANT_UPDATED)
def _participant_for_screens(data: dict[str, Any], role: str) -> dict[str, Any]:
    """Only the facilitator sees who joined; projector and phones see sectors and counts."""
    if role == "facilitator":
        return data
    person = data["participant"]
    return {**data, "participant": {"id": person["id"], "sector": person["sector"]}}


def get_participant(session: Session, workshop: Workshop, participant_id: int) -> Participant:
    participant = session.get(Participant, participant_id)
    if participant is None or participant.workshop_id != workshop.id or participant.removed_at:
        raise DomainError(NOT_FOUND, "No such participant in this workshop.")
    return participant


def update_participant(
    session: Session, workshop: Workshop, participant: Participant, changes: dict[str, str]
) -> Outcome:
    if "name" in changes:
        participant.name = _clean(changes["name"], N_("name"), NAME_MAX)
    if "organisation" in changes:
        participant.organisation = _clean(
            changes["organisation"], N_("organisation"), ORGANISATION_MAX
        )
        participant.organisation_id = changes.get("organisation_id")
    if "sector" in changes:
        participant.sector = _sector(workshop, changes["sector"])
    session.flush()
    data = {"participant": participant.as_dict(), "presence": presence(session, workshop.id)}
    return Outcome(
        result={"participant": participant.as_dict()},
        events=[Event(protocol.PARTICIPANT_UPDATED, data)],
    )


def remove_participant(session: Session, workshop: Workshop, participant_id: int) -> Outcome:
    participant = get_participant(session, workshop, participant_id)
    participant.removed_at = utcnow()
    session.flush()
    data = {"participant_id": participant.id, "presence": presence(session, workshop.id)}
    return Outcome(
        result={"participant_id": participant.id},
        events=[Event(protocol.PARTICIPANT_REMOVED, data)],
    )


def active_participants(session: Session, workshop_id: int) -> list[Participant]:
    return list(
        session.scalars(
            select(Participant)
            .where(Participant.workshop_id == workshop_id, Participant.removed_at.is_(None))
            .order_by(Participant.organisation, Participant.name, Participant.id)
        )
    )


# -- stages and status ----------------------------------------------------------


def goto_stage(session: Session, workshop: Workshop, stage_id: int) -> Outcome:
    stage = next((s for s in workshop.stages if s.id == stage_id), None)
    if stage is None:
        raise DomainError(NOT_FOUND, "This workshop has no stage {id}.", values={"id": stage_id})
    previous = workshop.current_stage_id
    if previous == stage.id:
        return Outcome(result={"stage_id": stage.id})
    workshop.current_stage_id = stage.id
    session.flush()
    data = {"stage_id": stage.id, "previous_stage_id": previous, "stage": stage.as_dict()}
    return Outcome(result={"stage_id": stage.id}, events=[Event(protocol.STAGE_CHANGED, data)])


def step_stage(session: Session, workshop: Workshop, delta: int) -> Outcome:
    """Move ``delta`` stages from the current one (next: +1, previous: -1)."""
    stages = workshop.stages
    index = next((i for i, s in enumerate(stages) if s.id == workshop.current_stage_id), None)
    if index is None:
        raise DomainError(CONFLICT, "The current stage is unknown; choose a stage to go to.")
    target = index + delta
    if not 0 <= target < len(stages):
        if delta > 0:
            raise DomainError(CONFLICT, "This is already the last stage.")
        raise DomainError(CONFLICT, "This is already the first stage.")
    return goto_stage(session, workshop, stages[target].id)


def archive_workshop(session: Session, workshop: Workshop) -> None:
    """Put a closed workshop away (its plan and exports stay available)."""
    if workshop.status != CLOSED_STATUS:
        raise DomainError(CONFLICT, "Close the workshop before archiving it.")
    workshop.archived_at = utcnow()
    session.flush()


def start_workshop(session: Session, workshop: Workshop) -> Outcome:
    """Open a draft workshop: from now on people can join."""
    if workshop.status != DRAFT:
        raise DomainError(
            CONFLICT,
            "This workshop is {status}, not a draft.",
            values={"status": workshop.status},
        )
    workshop.status = LIVE
    session.flush()
    data = {"status": workshop.status}
    return Outcome(result=data, events=[Event(protocol.WORKSHOP_STARTED, data)])


def close_workshop(session: Session, workshop: Workshop) -> Outcome:
    if not workshop.is_open:
        return Outcome(result={"status": workshop.status})
    workshop.status = CLOSED_STATUS
    workshop.closed_at = utcnow()
    session.flush()
    return Outcome(
        result={"status": workshop.status},
        events=[Event(protocol.WORKSHOP_CLOSED, {"status": workshop.status})],
    )


def reopen_workshop(session: Session, workshop: Workshop) -> Outcome:
    """Open a closed workshop again; it gets a new code if its old one was reused."""
    if workshop.is_open:
        return Outcome(result={"status": workshop.status, "code": workshop.code})
    reused = session.scalar(
        select(Workshop.id).where(
            Workshop.code == workshop.code,
            Workshop.status != CLOSED_STATUS,
            Workshop.id != workshop.id,
        )
    )
    if reused is not None:
        workshop.code = unused_code(session)
    workshop.status = LIVE
    workshop.closed_at = None
    session.flush()
    data = {"status": workshop.status, "code": workshop.code}
    return Outcome(result=data, events=[Event(protocol.WORKSHOP_REOPENED, data)])


def set_display(session: Session, workshop: Workshop, display: dict[str, Any]) -> Outcome:
    workshop.display = {**(workshop.display or {}), **display}
    session.flush()
    data = {"display": workshop.display}
    return Outcome(result=data, events=[Event(protocol.WORKSHOP_DISPLAY, data)])


def workshop_language(code: str) -> str:
    if not i18n.supported(code):
        raise DomainError(
            INVALID,
            "Unknown language {code}: one of {languages}.",
            values={"code": repr(code), "languages": ", ".join(i18n.LANGUAGES)},
            field="language",
        )
    return code


def set_language(session: Session, workshop: Workshop, language: str) -> Outcome:
    """The workshop's language: the projector's and the PDF's, and the phones' default."""
    workshop.language = workshop_language(language)
    session.flush()
    data = {"language": workshop.language}
    return Outcome(result=data, events=[Event(protocol.WORKSHOP_LANGUAGE, data)])


def public_info(workshop: Workshop) -> dict[str, Any]:
    return {
        "id": workshop.id,
        "title": workshop.title,
        "code": workshop.code,
        "status": workshop.status,
        "kit": workshop.kit,
        "kit_title": workshop.kit_data.get("title", workshop.kit),
        "sectors": workshop.sectors,
        "stakeholder_categories": list(workshop.kit_data.get("stakeholder_categories", [])),
        "levels": list(workshop.kit_data.get("levels", [])),
        "display": dict(workshop.display or {}),
        "language": workshop.language,
    }
