"""The one pipeline every client action goes through, from Socket.IO or HTTP.

parse -> validate -> authorise (deny by default) -> lock the workshop ->
idempotency receipt -> domain operation -> append events -> commit -> publish.

Actions are declared with :func:`action`: their wire name, the roles allowed to
send them, the pydantic model of their parameters, and for participants the
stage types in which they are allowed.

An action may also declare a ``batch`` handler: concurrent calls of it for one
workshop (a room of phones voting at once) are then written together, in one
transaction, by :class:`Batcher` - same checks, same receipts, same events, and
each call still gets its own answer, only after the commit.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
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
    UNAVAILABLE,
    UNKNOWN_EVENT,
    DomainError,
)
from .text import strip_bidi_controls
from .workshops import Outcome, Participant, Stage, Workshop

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
    """Base of every action's parameters: unknown fields are an error, and no text
    keeps bidirectional controls (see :mod:`facilitator.text`)."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _without_bidi_controls(cls, data: Any) -> Any:
        return strip_bidi_controls(data)


Handler = Callable[[Context, Any], Outcome]
#: Performs many calls of one action in the caller's transaction: one answer per
#: call, in order, an Outcome or the DomainError refusing that call alone. A
#: refused call must have written nothing; an exception fails the whole batch
#: (its calls are then performed one by one).
BatchHandler = Callable[[list[tuple[Context, Any]]], list[Outcome | DomainError]]


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
    #: Writes concurrent calls for one workshop together (see :class:`Batcher`).
    batch: BatchHandler | None = None


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
    batch: BatchHandler | None = None,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in REGISTRY:
            raise RuntimeError(f"action {name} registered twice")
        if batch is not None and not writes:
            raise RuntimeError(f"action {name}: only writes are batched")
        REGISTRY[name] = ActionSpec(
            name=name,
            roles=frozenset(roles),
            params=params,
            handler=handler,
            stage_types=frozenset(stage_types) if stage_types is not None else None,
            writes=writes,
            throttle=throttle,
            batch=batch,
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


#: Integers a database column holds (64-bit signed): JSON numbers have no such bound.
_STORABLE_INTS = range(-(2**63), 2**63)


def _unstorable_number(value: Any, where: str = "") -> str | None:
    """The path in ``value`` of a number no database column can take (an integer beyond
    64 bits, NaN or an infinity, all of which Python's JSON reader accepts), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if value in _STORABLE_INTS else where
    if isinstance(value, float):
        return None if math.isfinite(value) else where
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _unstorable_number(item, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


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
    where = _unstorable_number(fields)
    if where is not None:
        raise DomainError(INVALID, "{where}: a number out of range", values={"where": where})
    try:
        return action_id, spec.params.model_validate(fields)
    except ValidationError as exc:
        raise DomainError(INVALID, _validation_message(exc)) from None


def _authorise(spec: ActionSpec, caller: Caller) -> None:
    if caller.role not in spec.roles:
        raise DomainError(
            FORBIDDEN,
            "A {role} may not send {event}.",
            values={"role": caller.role, "event": spec.name},
        )


def _load(session: Session, spec: ActionSpec, caller: Caller) -> Context:
    workshop = _load_workshop(session, caller.workshop_id)
    participant = None
    if caller.role == "participant":
        participant = session.get(Participant, caller.participant_id)
    return _context(session, spec, caller, workshop, participant)


def _load_workshop(session: Session, workshop_id: int) -> Workshop:
    # Stages load only if the action needs them: most need just the current one.
    workshop = session.get(Workshop, workshop_id, options=[lazyload(Workshop.stages)])
    if workshop is None:
        raise DomainError(NOT_FOUND, "This workshop does not exist.")
    return workshop


def _context(
    session: Session,
    spec: ActionSpec,
    caller: Caller,
    workshop: Workshop,
    participant: Participant | None,
    stage: Stage | None | Literal[False] = False,
) -> Context:
    """Check that ``caller`` may act in ``workshop`` now (``participant`` is theirs;
    ``stage`` the workshop's current stage, if the caller looked it up already)."""
    if caller.role == "participant":
        if participant is None or participant.workshop_id != workshop.id:
            raise DomainError(FORBIDDEN, "You are not a participant of this workshop.")
        if participant.removed_at is not None:
            raise DomainError(FORBIDDEN, "The facilitator removed you from this workshop.")
    if caller.role in ("participant", "visitor"):
        if spec.writes and not workshop.is_open:
            raise DomainError(CLOSED, "This workshop is closed.")
        if stage is False:
            stage = workshop.current_stage
        if spec.stage_types is not None and (stage is None or stage.type not in spec.stage_types):
            raise DomainError(
                STAGE,
                "{event} is not possible in the current stage ({stage}).",
                values={"event": spec.name, "stage": stage and stage.title},
            )
    return Context(session=session, caller=caller, workshop=workshop, participant=participant)


def _load_many(
    session: Session, spec: ActionSpec, callers: list[Caller]
) -> list[Context | DomainError]:
    """:func:`_load` for many callers of one workshop: the workshop once, the
    participants with one query, each caller checked as :func:`_load` would."""
    workshop = _load_workshop(session, callers[0].workshop_id)
    ids = {c.participant_id for c in callers if c.role == "participant"}
    participants: dict[int, Participant] = {}
    if ids:
        rows = session.scalars(select(Participant).where(Participant.id.in_(ids)))
        participants = {p.id: p for p in rows}
    stage = workshop.current_stage
    out: list[Context | DomainError] = []
    for caller in callers:
        participant = participants.get(caller.participant_id)  # type: ignore[arg-type]
        try:
            out.append(_context(session, spec, caller, workshop, participant, stage))
        except DomainError as exc:
            out.append(exc)
    return out


def _internal_error(name: str) -> dict[str, Any]:
    log.exception("action %s failed", name)
    return DomainError(INTERNAL, "Something went wrong on the server; please retry.").as_ack()


def perform(caller: Caller, name: str, payload: Any) -> dict[str, Any]:
    """Run one client action and return its ack. Never raises."""
    started = time.perf_counter()
    spec = REGISTRY.get(name) if isinstance(name, str) else None
    try:
        if spec is None:
            raise DomainError(
                UNKNOWN_EVENT, "Unknown event {event}.", values={"event": repr(str(name)[:60])}
            )
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
        if spec.batch is not None and batcher.enabled:
            return batcher.submit(spec, caller, action_id, params)
        return _write_and_publish(spec, caller, action_id, params)
    except DomainError as exc:
        return exc.as_ack()
    except Exception:
        return _internal_error(str(name))
    finally:
        log.debug(
            "%s workshop=%s %.1fms",
            name,
            caller.workshop_id,
            (time.perf_counter() - started) * 1000,
        )


def _write_and_publish(
    spec: ActionSpec, caller: Caller, action_id: str, params: Params
) -> dict[str, Any]:
    ack, published, refresh = _write(spec, caller, action_id, params)
    live.publish(published)
    live.schedule_refresh(caller.workshop_id, refresh)
    return ack


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
                    return _answer_from_receipt(stored, fingerprint), [], []
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
        except OperationalError as exc:
            refusal = _storage_refusal(spec.name, exc)
            if refusal is None:
                raise
            raise refusal from exc
    raise AssertionError("unreachable")


#: SQLite's errors for a database another program holds, and for a full disk.
_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
_FULL = ("SQLITE_FULL",)


def _storage_refusal(name: str, exc: OperationalError) -> DomainError | None:
    """A clear refusal when the database cannot take a write now (held by another
    program beyond the busy timeout, or the disk is full), or None for anything else.
    The transaction was rolled back: nothing was written, and the same action id may
    be sent again once the condition clears."""
    error = getattr(exc.orig, "sqlite_errorname", "")
    if error.startswith(_BUSY):
        refusal = DomainError(
            UNAVAILABLE,
            "The database is busy (another program is writing to it); nothing was saved."
            " Try again in a moment.",
        )
    elif error.startswith(_FULL):
        refusal = DomainError(
            UNAVAILABLE,
            "The server's disk is full; nothing was saved."
            " Try again once the facilitator has made room on it.",
        )
    else:
        return None
    log.warning("%s refused: %s (%s)", name, refusal.message, exc.orig)
    return refusal


def _answer_from_receipt(stored: tuple[str, dict[str, Any]], fingerprint: str) -> dict[str, Any]:
    stored_digest, stored_response = stored
    if stored_digest != fingerprint:
        raise DomainError(CONFLICT, "This action_id was already used for a different action.")
    return stored_response


# -- batched writes ---------------------------------------------------------------------------


class _Call:
    """One call of a batched action, waiting for its answer."""

    __slots__ = ("caller", "action_id", "params", "fingerprint", "ack", "done")

    def __init__(self, caller: Caller, action_id: str, params: Params) -> None:
        self.caller = caller
        self.action_id = action_id
        self.params = params
        self.fingerprint = ""
        #: Set with ``done``; still None when ``done`` is set, this call leads the next batch.
        self.ack: dict[str, Any] | None = None
        self.done = threading.Event()

    @property
    def key(self) -> tuple[str, str]:
        return (self.caller.actor, self.action_id)


class Batcher:
    """Writes concurrent calls of a batched action for one workshop together.

    Calls queue per (action, workshop). The first call to find no queue leads:
    it waits for others to join (under eventlet its green sleep lets the handlers
    of the messages read meanwhile run up to the queue), then writes up to
    ``limit`` queued calls in one transaction, publishes, answers every call of
    the batch, and hands the lead to the first call that queued meanwhile. A
    write takes the workshop lock anyway, so a batch costs one lock, one commit
    and one statement of each kind instead of one of each per call.

    The wait adapts: ``window`` while the action is busy in that workshop (a
    batch ended less than ``busy_for`` ago: a storm, where bigger batches cost
    less per call), ``idle_window`` otherwise (a lone call goes at once). Works
    the same with real threads and with eventlet's green ones (the threading
    primitives are monkey-patched).
    """

    def __init__(
        self,
        window: float = 0.01,
        idle_window: float = 0.0,
        busy_for: float = 0.2,
        limit: int = 200,
    ) -> None:
        self.window = window
        self.idle_window = idle_window
        self.busy_for = busy_for
        self.limit = limit
        self.enabled = True
        self._lock = threading.Lock()
        self._queues: dict[tuple[str, int], list[_Call]] = {}
        #: When the last batch of each (action, workshop) was answered.
        self._ended: dict[tuple[str, int], float] = {}

    def submit(
        self, spec: ActionSpec, caller: Caller, action_id: str, params: Params
    ) -> dict[str, Any]:
        call = _Call(caller, action_id, params)
        key = (spec.name, caller.workshop_id)
        with self._lock:
            queue = self._queues.get(key)
            first = queue is None
            if queue is None:
                queue = self._queues[key] = []
            queue.append(call)
            ended = self._ended.get(key)
        if first:
            busy = ended is not None and time.monotonic() - ended < self.busy_for
            wait = self.window if busy else self.idle_window
            if wait > 0:
                time.sleep(wait)  # eventlet: a green sleep, others run meanwhile
        else:
            call.done.wait()
        if call.ack is None:  # we lead
            self._lead(spec, key)
        assert call.ack is not None
        return call.ack

    def _lead(self, spec: ActionSpec, key: tuple[str, int]) -> None:
        with self._lock:
            queue = self._queues[key]
            batch = queue[: self.limit]
            del queue[: self.limit]
        try:
            if len(batch) == 1:  # alone after all: the plain path is a little cheaper
                batch[0].ack = _perform_write(spec, batch[0])
            else:
                _write_batch(spec, batch)
        finally:
            for call in batch:
                if call.ack is None:  # only if _write_batch itself broke
                    call.ack = _internal_error(spec.name)
            with self._lock:
                following = queue[0] if queue else None
                if following is None:
                    del self._queues[key]
                self._ended[key] = time.monotonic()
                if len(self._ended) > 1024:  # forget the long finished
                    horizon = time.monotonic() - self.busy_for
                    self._ended = {k: t for k, t in self._ended.items() if t > horizon}
            for call in batch:
                call.done.set()
            if following is not None:
                following.done.set()  # no answer yet: it leads the next batch


batcher = Batcher()


def _write_batch(spec: ActionSpec, calls: list[_Call]) -> None:
    """Write ``calls`` (one action, one workshop) in one transaction and answer each.

    Exactly as :func:`_write` per call: the lock, the receipt (a call repeating
    an action id, stored or earlier in this batch, gets that answer), the checks
    of :func:`_load`, the handler, the events, the receipt stored; a refused
    call is answered with its error and changes nothing. Answers are given after
    the commit and the publishing. If the batch fails as a whole, each call is
    performed on its own instead.
    """
    assert spec.batch is not None
    workshop_id = calls[0].caller.workshop_id
    for call in calls:
        call.fingerprint = live.digest(spec.name, call.params.model_dump(mode="json"))
    answers: dict[int, dict[str, Any]] = {}  # by index in calls
    repeats: list[tuple[int, int]] = []  # (index, index of the first call with its key)
    try:
        with db.transaction() as session:
            if not live.lock_workshop(session, workshop_id):
                raise DomainError(NOT_FOUND, "This workshop does not exist.")
            stored = live.find_receipts(session, workshop_id, [c.key for c in calls])
            first: dict[tuple[str, str], int] = {}
            todo: list[int] = []
            for index, call in enumerate(calls):
                if call.key in stored:
                    try:
                        answers[index] = _answer_from_receipt(stored[call.key], call.fingerprint)
                    except DomainError as exc:
                        answers[index] = exc.as_ack()
                elif call.key in first:
                    repeats.append((index, first[call.key]))
                else:
                    first[call.key] = index
                    todo.append(index)
            run: list[tuple[int, Context]] = []
            if todo:
                loaded = _load_many(session, spec, [calls[i].caller for i in todo])
                for index, ctx in zip(todo, loaded, strict=True):
                    if isinstance(ctx, DomainError):
                        answers[index] = ctx.as_ack()
                    else:
                        run.append((index, ctx))
            done: list[tuple[int, Outcome]] = []
            if run:
                outcomes = spec.batch([(ctx, calls[i].params) for i, ctx in run])
                if len(outcomes) != len(run):
                    raise RuntimeError(f"{spec.name}: the batch handler lost answers")
                for (index, _ctx), outcome in zip(run, outcomes, strict=True):
                    if isinstance(outcome, DomainError):
                        answers[index] = outcome.as_ack()
                    else:
                        done.append((index, outcome))
            published = live.append(session, workshop_id, [e for _, o in done for e in o.events])
            receipts = []
            position = 0
            for index, outcome in done:
                ack = {"ok": True, **outcome.result}
                position += len(outcome.events)
                if outcome.events:
                    ack["seq"] = published[position - 1].seq
                answers[index] = ack
                call = calls[index]
                receipts.append((call.caller.actor, call.action_id, call.fingerprint, ack))
            live.store_receipts(session, workshop_id, spec.name, receipts)
    except Exception as exc:
        refusal = _storage_refusal(spec.name, exc) if isinstance(exc, OperationalError) else None
        if refusal is not None:  # one by one, each would wait for the same lock or disk
            for call in calls:
                call.ack = refusal.as_ack()
            return
        if not isinstance(exc, DomainError | IntegrityError):
            log.exception(
                "batch of %d %s failed; performing them one by one", len(calls), spec.name
            )
        for call in calls:
            call.ack = _perform_write(spec, call)
        return
    live.publish(published)
    refresh: list[tuple[str, Any]] = []
    for _, outcome in done:
        refresh.extend(item for item in outcome.refresh if item not in refresh)
    live.schedule_refresh(workshop_id, refresh)
    for index, answer in answers.items():
        calls[index].ack = answer
    for index, earlier in repeats:
        call, original = calls[index], calls[earlier]
        if not answers[earlier].get("ok"):
            call.ack = _perform_write(spec, call)  # nothing was stored for it: on its own
        elif call.fingerprint != original.fingerprint:
            call.ack = DomainError(
                CONFLICT, "This action_id was already used for a different action."
            ).as_ack()
        else:
            call.ack = answers[earlier]


def _perform_write(spec: ActionSpec, call: _Call) -> dict[str, Any]:
    """One call written on its own, answered as :func:`perform` would."""
    try:
        return _write_and_publish(spec, call.caller, call.action_id, call.params)
    except DomainError as exc:
        return exc.as_ack()
    except Exception:
        return _internal_error(spec.name)
