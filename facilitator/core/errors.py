"""The one exception type the domain raises, with stable error codes."""

from __future__ import annotations

import re
from typing import Any

#: Stable error codes, part of the protocol (docs/protocol.md).
BAD_REQUEST = "bad_request"
INVALID = "invalid"
UNKNOWN_EVENT = "unknown_event"
UNAUTHENTICATED = "unauthenticated"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
STAGE = "wrong_stage"
CLOSED = "closed"
LOCKED = "locked"
RATE_LIMITED = "rate_limited"
#: The database cannot take writes now (held by another program, or a full disk).
UNAVAILABLE = "unavailable"
INTERNAL = "internal"

ERROR_CODES = (
    BAD_REQUEST,
    INVALID,
    UNKNOWN_EVENT,
    UNAUTHENTICATED,
    FORBIDDEN,
    NOT_FOUND,
    CONFLICT,
    STAGE,
    CLOSED,
    LOCKED,
    RATE_LIMITED,
    UNAVAILABLE,
    INTERNAL,
)


VALUE = re.compile(r"\{(\w+)\}")


class DomainError(Exception):
    """A refused command: a stable ``code``, a message for people, optional details.

    ``message`` is a fixed English text, extracted for translation (``DomainError:2``),
    with ``{name}`` for each of ``values``: the ack carries the filled English
    ``message`` and, when there are values, the ``template`` and its ``values``, so each
    screen shows it in its own language (``showError`` in static/js/dom.js).
    """

    def __init__(
        self, code: str, message: str, *, values: dict[str, Any] | None = None, **details: Any
    ) -> None:
        self.code = code
        self.template = message
        self.values = {
            k: v if isinstance(v, int | float) else str(v) for k, v in (values or {}).items()
        }
        self.message = VALUE.sub(
            lambda m: str(self.values[m[1]]) if m[1] in self.values else m[0], message
        )
        super().__init__(self.message)
        self.details = details

    def as_ack(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.values:
            error["template"] = self.template
            error["values"] = self.values
        if self.details:
            error["details"] = self.details
        return {"ok": False, "error": error}
