"""The one pipeline every client action goes through, from Socket.IO or HTTP.

parse -> validate -> authorise (deny by default) -> lock the workshop ->
idempotency receipt -> domain operation -> append events -> commit -> publish.

Actions are declared with :func:`action`: their wire name, the roles allowed to
send them, the pydantic model of their parameters, and for participants the
stage types in which they are allowed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from . import live
from .db import db
from .errors import (
    BAD_REQUEST,
    CLOSED,
    CONFLICT,
    FORBIDDEN,
    INTERNAL,
    INVALID,
    NOT_FOUND,
    STAGE,
    UNKNOWN_EVENT,
    DomainError,
)
from .workshops import Outcome, Participant, Workshop

log = logging.getLogger("facilitator.actions")

ACTION_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


@dataclass(frozen=True)
class Caller:
    """Who is acting, as established by the server from a signed cookie or key."""

    role: str  #: facilitator, projector, participant or visitor
    workshop_id: int
    user_id: int | None = None
    participant_id: int | None = None
    #: A random id for a visitor (someone joining), so join retries are idempotent.
    visitor_id: str | None = None

    @property
    def actor(self) -> str:
        if self.role == "participant":
            return f"p:{self.participant_id}"
        if self.role == "facilitator":
            return f"f:{self.user_id}"
        if self.role == "visitor":
            return f"v:{self.visitor_id}"
        return f"x:{self.role}"


@dataclass
class Context:
    """What an action handler works with, inside the action's transaction."""

    session: Session
    caller: Caller
    workshop: Workshop
    participant: Participant | None


class Params(BaseModel):
    """Base of every action's parameters: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


Handler = Callable[[Context, Any], Outcome]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    roles: frozenset[str]
    params: type[Params]
    handler: Handler
    #: Stage types in which a participant may send it; None means any stage.
    stage_types: frozenset[str] | None
    #: Read-only actions take no lock, need no action id and store no receipt.
    writes: bool
    #: For passing updates: False means "too soon for this caller", dropped unread.
    throttle: Callable[[Caller], bool] | None = None


REGISTRY: dict[str, ActionSpec] = {}


class RateLimiter:
    """A token bucket per key: ``rate`` per second on average, bursts up to ``burst``.

    Counting tokens rather than the gap to the last update keeps updates sent
    50 ms apart from being dropped when the network delivers them bunched.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            allowed = tokens >= 1
            self._buckets[key] = (tokens - 1 if allowed else tokens, now)
            return allowed


def action(
    name: str,
    *,
    roles: set[str],
    params: type[Params],
    stage_types: set[str] | None = None,
    writes: bool = True,
    throttle: Callable[[Caller], bool] | None = None,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in REGISTRY:
            raise RuntimeError(f"action {name} registered twice")
        REGISTRY[name] = ActionSpec(
            name=name,
            roles=frozenset(roles),
            params=params,
            handler=handler,
            stage_types=frozenset(stage_types) if stage_types is not None else None,
            writes=writes,
            throttle=throttle,
        )
        return handler

    return register


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def _parse(spec: ActionSpec, payload: Any) -> tuple[str | None, Params]:
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise DomainError(BAD_REQUEST, "The payload must be an object.")
    fields = dict(payload)
    action_id = fields.pop("action_id", None)
    if spec.writes:
        if not isinstance(action_id, str) or not ACTION_ID_RE.match(action_id):
            raise DomainError(
                BAD_REQUEST,
                "action_id is required: 8 to 64 letters, digits or '_.:-', new for each action.",
            )
    try:
        return action_id, spec.params.model_validate(fields)
    except ValidationError as exc:
        raise DomainError(INVALID, _validation_message(exc)) from None


def _authorise(spec: ActionSpec, caller: Caller) -> None:
    if caller.role not in spec.roles:
        raise DomainError(FORBIDDEN, f"A {caller.role} may not send {spec.name}.")


def _load(session: Session, spec: ActionSpec, caller: Caller) -> Context:
    # Stages load only if the action needs them: most need just the current one.
    workshop = session.get(Workshop, caller.workshop_id, options=[lazyload(Workshop.stages)])
    if workshop is None:
        raise DomainError(NOT_FOUND, "This workshop does not exist.")
    participant = None
    if caller.role == "participant":
        participant = session.get(Participant, caller.participant_id)
        if participant is None or participant.workshop_id != workshop.id:
            raise DomainError(FORBIDDEN, "You are not a participant of this workshop.")
        if participant.removed_at is not None:
            raise DomainError(FORBIDDEN, "The facilitator removed you from this workshop.")
    if caller.role in ("participant", "visitor"):
        if spec.writes and not workshop.is_open:
            raise DomainError(CLOSED, "This workshop is closed.")
        stage = workshop.current_stage
        if spec.stage_types is not None and (stage is None or stage.type not in spec.stage_types):
            raise DomainError(
                STAGE,
                f"{spec.name} is not possible in the current stage ({stage and stage.title}).",
            )
    return Context(session=session, caller=caller, workshop=workshop, participant=participant)


def perform(caller: Caller, name: str, payload: Any) -> dict[str, Any]:
    """Run one client action and return its ack. Never raises."""
    started = time.perf_counter()
    spec = REGISTRY.get(name) if isinstance(name, str) else None
    try:
        if spec is None:
            raise DomainError(UNKNOWN_EVENT, f"Unknown event {str(name)[:60]!r}.")
        _authorise(spec, caller)
        action_id, params = _parse(spec, payload)
        if spec.throttle is not None and not spec.throttle(caller):
            return {"ok": True, "dropped": True}  # before any database work
        if not spec.writes:
            with db.reader() as session:
                ctx = _load(session, spec, caller)
                outcome = spec.handler(ctx, params)
            live.publish_transient(caller.workshop_id, outcome.transient)
            return {"ok": True, **outcome.result}
        assert action_id is not None
        ack, published, refresh = _write(spec, caller, action_id, params)
        live.publish(published)
        live.schedule_refresh(caller.workshop_id, refresh)
        return ack
    except DomainError as exc:
        return exc.as_ack()
    except Exception:
        log.exception("action %s failed", name)
        return DomainError(INTERNAL, "Something went wrong on the server; please retry.").as_ack()
    finally:
        log.debug(
            "%s workshop=%s %.1fms",
            name,
            caller.workshop_id,
            (time.perf_counter() - started) * 1000,
        )


def _write(
    spec: ActionSpec, caller: Caller, action_id: str, params: Params
) -> tuple[dict[str, Any], list[live.Published], list[tuple[str, Any]]]:
    for attempt in range(2):
        try:
            with db.transaction() as session:
                if not live.lock_workshop(session, caller.workshop_id):
                    raise DomainError(NOT_FOUND, "This workshop does not exist.")
                fingerprint = live.digest(spec.name, params.model_dump(mode="json"))
                stored = live.find_receipt(session, caller.workshop_id, caller.actor, action_id)
                if stored is not None:
                    stored_digest, stored_response = stored
                    if stored_digest != fingerprint:
                        raise DomainError(
                            CONFLICT, "This action_id was already used for a different action."
                        )
                    return stored_response, [], []
                ctx = _load(session, spec, caller)
                outcome = spec.handler(ctx, params)
                published = live.append(session, caller.workshop_id, outcome.events)
                ack = {"ok": True, **outcome.result}
                if published:
                    ack["seq"] = published[-1].seq
                live.store_receipt(
                    session,
                    caller.workshop_id,
                    caller.actor,
                    action_id,
                    spec.name,
                    fingerprint,
                    ack,
                )
            return ack, published, outcome.refresh
        except IntegrityError:
            # The same action id committed concurrently: answer with its receipt.
            if attempt:
                raise
    raise AssertionError("unreachable")
