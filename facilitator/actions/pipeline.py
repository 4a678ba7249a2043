"""The one pipeline every client action goes through, from Socket.IO or HTTP.

parse -> validate -> authorise (deny by default) -> lock the workshop ->
idempotency receipt -> domain operation -> append events -> commit -> publish.

Reads run in a read-only session; writes go through the steps of
:mod:`facilitator.actions.writing`, alone or, for an action that declares a
``batch`` handler, together with concurrent calls (:mod:`facilitator.actions.batching`).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from pydantic import ValidationError

from facilitator.actions.batching import batcher
from facilitator.actions.context import load
from facilitator.actions.spec import ACTION_ID_RE, REGISTRY, ActionSpec, Caller, Params
from facilitator.actions.writing import internal_error, write
from facilitator.core.db import db
from facilitator.core.errors import BAD_REQUEST, FORBIDDEN, INVALID, UNKNOWN_EVENT, DomainError
from facilitator.core.i18n import N_
from facilitator.core.text import has_lone_surrogate
from facilitator.live.coalescing import publish_transient

log = logging.getLogger("facilitator.actions")


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


#: Integers a database column holds (64-bit signed): JSON numbers have no such bound.
_STORABLE_INTS = range(-(2**63), 2**63)


def _unstorable(value: Any, where: str = "") -> tuple[str, str] | None:
    """The path in ``value`` of what no column can store, and its refusal: a number
    beyond 64 bits, NaN or an infinity (Python's JSON reader accepts them all), or a
    text with a lone surrogate (JSON's ``\\ud800``: no UTF-8 can encode it, so a plan
    holding one could never be frozen); None when all can be stored."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if value in _STORABLE_INTS else (where, N_("{where}: a number out of range"))
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, N_("{where}: a number out of range"))
    if isinstance(value, str):
        return (where, NOT_TEXT) if has_lone_surrogate(value) else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        path = f"{where}.{key}" if where else str(key)
        found = (path, NOT_TEXT) if has_lone_surrogate(key) else _unstorable(item, path)
        if found is not None:
            return found
    return None


NOT_TEXT = N_("{where}: a character that is not text (a lone surrogate)")


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
    found = _unstorable(fields)
    if found is not None:
        where, refusal = found
        raise DomainError(INVALID, refusal, values={"where": where}, field=where)
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
                ctx = load(session, spec, caller)
                outcome = spec.handler(ctx, params)
            publish_transient(caller.workshop_id, outcome.transient)
            return {"ok": True, **outcome.result}
        assert action_id is not None
        if spec.batch is not None and batcher.enabled:
            return batcher.submit(spec, caller, action_id, params)
        return write(spec, caller, action_id, params)
    except DomainError as exc:
        return exc.as_ack()
    except Exception:
        return internal_error(str(name))
    finally:
        log.debug(
            "%s workshop=%s %.1fms",
            name,
            caller.workshop_id,
            (time.perf_counter() - started) * 1000,
        )
