"""docs/protocol.md is the contract: every name on the wire must be documented."""

from __future__ import annotations

from facilitator.actions import spec
from facilitator.core import protocol
from facilitator.core.config import PROJECT_ROOT
from facilitator.core.errors import ERROR_CODES


def test_every_action_event_and_error_code_is_documented(app):
    doc = (PROJECT_ROOT / "docs" / "protocol.md").read_text()
    names = (
        *protocol.ACTIONS,
        *protocol.EVENT_TYPES,
        protocol.EVENT,
        protocol.SNAPSHOT,
        protocol.TRANSIENT,
        *ERROR_CODES,
    )
    missing = [name for name in names if f"`{name}`" not in doc]
    assert missing == []


def test_every_registered_action_is_a_protocol_name(app):
    assert set(spec.REGISTRY) == set(protocol.ACTIONS)
