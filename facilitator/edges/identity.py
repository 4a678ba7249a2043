"""Who the caller is, from the signed session cookie (or a projector key).

The cookie holds the facilitator's user id after login and, for each
workshop a phone has joined, the participant id. Flask signs it with the
secret key, so it cannot be forged; rejoining from the same phone finds the
same participant.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any

from facilitator.actions.spec import Caller
from facilitator.core.db import db
from facilitator.core.errors import FORBIDDEN, INVALID, NOT_FOUND, UNAUTHENTICATED, DomainError
from facilitator.domain.workshops import Participant, Workshop

SCREENS = ("console", "projector", "phone")


def user_id(session: MutableMapping[str, Any]) -> int | None:
    value = session.get("user_id")
    return value if isinstance(value, int) else None


def participant_id(session: MutableMapping[str, Any], workshop_id: int) -> int | None:
    joined = session.get("participants")
    if not isinstance(joined, dict):
        return None
    value = joined.get(str(workshop_id))
    return value if isinstance(value, int) else None


def remember_participant(
    session: MutableMapping[str, Any], workshop_id: int, participant: int
) -> None:
    joined = dict(session.get("participants") or {})
    joined[str(workshop_id)] = participant
    session["participants"] = joined
    session.permanent = True  # type: ignore[attr-defined]


def visitor_id(session: MutableMapping[str, Any]) -> str:
    """A random id for this browser, so a repeated join form is not a second join."""
    value = session.get("visitor")
    if not isinstance(value, str):
        value = secrets.token_urlsafe(12)
        session["visitor"] = value
    return value


def owns(user: int | None, workshop: Workshop) -> bool:
    return user is not None and workshop.owner_id == user


def projector_key_ok(workshop: Workshop, key: object) -> bool:
    return isinstance(key, str) and hmac.compare_digest(key, workshop.projector_key)


def caller_for_screen(
    session: MutableMapping[str, Any], workshop_id: object, screen: object, key: object = None
) -> tuple[Caller, int | None]:
    """The caller a socket connects as, checked against the database."""
    if not isinstance(workshop_id, int) or isinstance(workshop_id, bool):
        raise DomainError(INVALID, "workshop_id must be a number.")
    if screen not in SCREENS:
        raise DomainError(
            INVALID, "screen must be one of {screens}.", values={"screens": ", ".join(SCREENS)}
        )
    with db.reader() as s:
        workshop = s.get(Workshop, workshop_id)
        if workshop is None:
            raise DomainError(NOT_FOUND, "This workshop does not exist.")
        me = user_id(session)
        if screen == "console":
            if me is None:
                raise DomainError(UNAUTHENTICATED, "Log in as a facilitator first.")
            if not owns(me, workshop):
                raise DomainError(FORBIDDEN, "This workshop belongs to another facilitator.")
            return Caller("facilitator", workshop.id, user_id=me), None
        if screen == "projector":
            if owns(me, workshop) or projector_key_ok(workshop, key):
                return Caller("projector", workshop.id), None
            raise DomainError(FORBIDDEN, "This projector link is not valid.")
        pid = participant_id(session, workshop.id)
        participant = s.get(Participant, pid) if pid is not None else None
        if participant is None or participant.workshop_id != workshop.id:
            raise DomainError(UNAUTHENTICATED, "Join the workshop first.")
        if participant.removed_at is not None:
            raise DomainError(FORBIDDEN, "The facilitator removed you from this workshop.")
        return Caller("participant", workshop.id, participant_id=participant.id), participant.id
