"""How an action is declared: its wire name, the roles allowed to send it, the pydantic
model of its parameters and, for participants, the stage types in which it is allowed.

Actions are registered with :func:`action` into :data:`REGISTRY`; the pipeline
(:mod:`facilitator.actions.pipeline`) looks them up by name, and nothing not
registered can run (deny by default).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy.orm import Session

from facilitator.core.errors import FORBIDDEN, DomainError
from facilitator.core.events import Outcome
from facilitator.core.text import strip_bidi_controls
from facilitator.domain.workshops import Participant, Workshop

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

    @property
    def person(self) -> Participant:
        """The participant sending a participant's action (refused for anyone else)."""
        if self.participant is None:
            raise DomainError(FORBIDDEN, "Only a participant can do this.")
        return self.participant


class Params(BaseModel):
    """Base of every action's parameters: unknown fields are an error, and no text
    keeps bidirectional controls (see :mod:`facilitator.text`)."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _without_bidi_controls(cls, data: Any) -> Any:
        return strip_bidi_controls(data)


class NoParams(Params):
    """The parameters of an action that takes none."""


#: Who may send an action (``Caller.role``).
FACILITATOR = frozenset({"facilitator"})
PARTICIPANT = frozenset({"participant"})
PROJECTOR = frozenset({"projector"})
VISITOR = frozenset({"visitor"})
FACILITATOR_OR_PARTICIPANT = FACILITATOR | PARTICIPANT
EVERY_SCREEN = FACILITATOR | PROJECTOR | PARTICIPANT

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


def action(
    name: str,
    *,
    roles: frozenset[str],
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
