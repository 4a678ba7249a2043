"""The steps of every write, for one call or for a batch of one workshop's calls:

lock the workshop -> idempotency receipt -> load and check each caller -> domain
operation -> append events -> store receipts -> commit, then publish and schedule
the derived views. One sequence, :func:`write_calls`, for both; a single call is a
batch of one whose refusal rolls the transaction back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from facilitator.actions.context import load_many
from facilitator.actions.spec import ActionSpec, Caller, Context, Params
from facilitator.core.db import db
from facilitator.core.errors import CONFLICT, INTERNAL, NOT_FOUND, UNAVAILABLE, DomainError
from facilitator.core.events import Outcome
from facilitator.live import receipts
from facilitator.live.coalescing import schedule_refresh
from facilitator.live.log import Published, append, lock_workshop
from facilitator.live.publish import publish

log = logging.getLogger("facilitator.actions")

#: Runs the domain operation of the calls to perform (context and parameters each):
#: one Outcome per call, or the DomainError refusing that call alone.
Perform = Callable[[list[tuple[Context, Any]]], list[Outcome | DomainError]]


class Call:
    """One call of a writing action: who, with which id and parameters, and its answer.

    Batched calls wait on ``done`` for the call that leads their batch to answer them."""

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


def internal_error(name: str) -> dict[str, Any]:
    log.exception("action %s failed", name)
    return DomainError(INTERNAL, "Something went wrong on the server; please retry.").as_ack()


def write_calls(
    spec: ActionSpec, calls: list[Call], perform: Perform
) -> tuple[list[Published], list[tuple[str, Any]], list[tuple[int, int]]]:
    """Write ``calls`` (one action, one workshop) in one transaction, setting each
    call's ack: the lock; the receipt (a call repeating a stored action id gets that
    answer); the checks of :func:`facilitator.actions.context.load`; ``perform``;
    the events; the receipts stored. A call refused by its checks or by ``perform``
    is answered with its error and changes nothing; an exception from ``perform``
    rolls everything back. Returns the events to publish after commit, the derived
    views to refresh, and calls that repeat an earlier call's key in this batch
    (index, index of the first), left unanswered."""
    workshop_id = calls[0].caller.workshop_id
    for call in calls:
        call.fingerprint = receipts.digest(spec.name, call.params.model_dump(mode="json"))
    repeats: list[tuple[int, int]] = []
    with db.transaction() as session:
        if not lock_workshop(session, workshop_id):
            raise DomainError(NOT_FOUND, "This workshop does not exist.")
        stored = receipts.find_receipts(session, workshop_id, [c.key for c in calls])
        first: dict[tuple[str, str], int] = {}
        todo: list[int] = []
        for index, call in enumerate(calls):
            if call.key in stored:
                try:
                    call.ack = answer_from_receipt(stored[call.key], call.fingerprint)
                except DomainError as exc:
                    call.ack = exc.as_ack()
            elif call.key in first:
                repeats.append((index, first[call.key]))
            else:
                first[call.key] = index
                todo.append(index)
        run: list[tuple[int, Context]] = []
        if todo:
            loaded = load_many(session, spec, [calls[i].caller for i in todo])
            for index, ctx in zip(todo, loaded, strict=True):
                if isinstance(ctx, DomainError):
                    calls[index].ack = ctx.as_ack()
                else:
                    run.append((index, ctx))
        done: list[tuple[int, Outcome]] = []
        if run:
            outcomes = perform([(ctx, calls[i].params) for i, ctx in run])
            if len(outcomes) != len(run):
                raise RuntimeError(f"{spec.name}: the batch handler lost answers")
            for (index, _ctx), outcome in zip(run, outcomes, strict=True):
                if isinstance(outcome, DomainError):
                    calls[index].ack = outcome.as_ack()
                else:
                    done.append((index, outcome))
        published = append(session, workshop_id, [e for _, o in done for e in o.events])
        stored_now = []
        position = 0
        for index, outcome in done:
            ack = {"ok": True, **outcome.result}
            position += len(outcome.events)
            if outcome.events:
                ack["seq"] = published[position - 1].seq
            call = calls[index]
            call.ack = ack
            stored_now.append((call.caller.actor, call.action_id, call.fingerprint, ack))
        receipts.store_receipts(session, workshop_id, spec.name, stored_now)
    refresh: list[tuple[str, Any]] = []
    for _, outcome in done:
        refresh.extend(item for item in outcome.refresh if item not in refresh)
    return published, refresh, repeats


def _perform_one(spec: ActionSpec) -> Perform:
    """The plain handler as a batch of one: a refusal it raises rolls back what it did."""

    def perform(pairs: list[tuple[Context, Any]]) -> list[Outcome | DomainError]:
        return [spec.handler(ctx, params) for ctx, params in pairs]

    return perform


def write(spec: ActionSpec, caller: Caller, action_id: str, params: Params) -> dict[str, Any]:
    """Write one call, publish its events and return its ack; raises DomainError."""
    call = Call(caller, action_id, params)
    for attempt in range(2):
        try:
            published, refresh, _ = write_calls(spec, [call], _perform_one(spec))
        except IntegrityError:
            # The same action id committed concurrently: answer with its receipt.
            if attempt:
                raise
            continue
        except OperationalError as exc:
            refusal = storage_refusal(spec.name, exc)
            if refusal is None:
                raise
            raise refusal from exc
        publish(published)
        schedule_refresh(caller.workshop_id, refresh)
        assert call.ack is not None
        return call.ack
    raise AssertionError("unreachable")


#: SQLite's errors for a database another program holds, and for a full disk.
_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
_FULL = ("SQLITE_FULL",)


def storage_refusal(name: str, exc: OperationalError) -> DomainError | None:
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


def answer_from_receipt(stored: tuple[str, dict[str, Any]], fingerprint: str) -> dict[str, Any]:
    stored_digest, stored_response = stored
    if stored_digest != fingerprint:
        raise DomainError(CONFLICT, "This action_id was already used for a different action.")
    return stored_response
