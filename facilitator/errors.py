"""The one exception type the domain raises, with stable error codes."""

from __future__ import annotations

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


class DomainError(Exception):
    """A refused command: a stable ``code``, a message for people, optional details."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def as_ack(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"ok": False, "error": error}
