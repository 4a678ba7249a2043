"""Batched writes: concurrent calls of a batched action for one workshop (a room of
phones voting at once) written together, in one transaction, by the same steps as a
single call (:func:`facilitator.actions.writing.write_calls`) - same checks, same
receipts, same events - and each call still gets its own answer, only after the
commit.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from facilitator.actions.spec import ActionSpec, Caller, Params
from facilitator.actions.writing import (
    Call,
    internal_error,
    storage_refusal,
    write,
    write_calls,
)
from facilitator.core.errors import CONFLICT, DomainError
from facilitator.live.coalescing import schedule_refresh
from facilitator.live.publish import publish

log = logging.getLogger("facilitator.actions")


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
        self._queues: dict[tuple[str, int], list[Call]] = {}
        #: When the last batch of each (action, workshop) was answered.
        self._ended: dict[tuple[str, int], float] = {}

    def submit(
        self, spec: ActionSpec, caller: Caller, action_id: str, params: Params
    ) -> dict[str, Any]:
        call = Call(caller, action_id, params)
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
                batch[0].ack = _perform_alone(spec, batch[0])
            else:
                _write_batch(spec, batch)
        finally:
            for call in batch:
                if call.ack is None:  # only if _write_batch itself broke
                    call.ack = internal_error(spec.name)
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


batcher = Batcher()


def _write_batch(spec: ActionSpec, calls: list[Call]) -> None:
    """Write ``calls`` (one action, one workshop) together and answer each, exactly as
    each would be written alone; a call repeating an action id earlier in the batch
    gets that call's answer. If the batch fails as a whole, each call is performed
    on its own instead."""
    assert spec.batch is not None
    workshop_id = calls[0].caller.workshop_id
    try:
        published, refresh, repeats = write_calls(spec, calls, spec.batch)
    except Exception as exc:
        refusal = storage_refusal(spec.name, exc) if isinstance(exc, OperationalError) else None
        if refusal is not None:  # one by one, each would wait for the same lock or disk
            for call in calls:
                call.ack = refusal.as_ack()
            return
        if not isinstance(exc, DomainError | IntegrityError):
            log.exception(
                "batch of %d %s failed; performing them one by one", len(calls), spec.name
            )
        for call in calls:
            call.ack = _perform_alone(spec, call)
        return
    publish(published)
    schedule_refresh(workshop_id, refresh)
    for index, earlier in repeats:
        call, original = calls[index], calls[earlier]
        assert original.ack is not None
        if not original.ack.get("ok"):
            call.ack = _perform_alone(spec, call)  # nothing was stored for it: on its own
        elif call.fingerprint != original.fingerprint:
            call.ack = DomainError(
                CONFLICT, "This action_id was already used for a different action."
            ).as_ack()
        else:
            call.ack = original.ack


def _perform_alone(spec: ActionSpec, call: Call) -> dict[str, Any]:
    """One call written on its own, answered as :func:`facilitator.actions.pipeline.perform`
    would."""
    try:
        return write(spec, call.caller, call.action_id, call.params)
    except DomainError as exc:
        return exc.as_ack()
    except Exception:
        return internal_error(spec.name)
