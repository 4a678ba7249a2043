"""Publishing committed events to the workshop's Socket.IO rooms, each role seeing
what it may (see :func:`facilitator.core.events.redacted_for`)."""

from __future__ import annotations

from facilitator.core import protocol
from facilitator.core.events import is_redacted, view
from facilitator.core.transport import disconnect_room, socketio
from facilitator.live.log import Published

#: Roles with a room of their own in each workshop.
SCREEN_ROLES = ("facilitator", "projector", "participant")


def room(workshop_id: int, role: str | None = None) -> str:
    """The Socket.IO room of every screen of one workshop, or of one role's screens."""
    return f"workshop:{workshop_id}" if role is None else f"workshop:{workshop_id}:{role}"


def participant_room(participant_id: int) -> str:
    """The room of one participant's sockets (all their tabs and reconnects)."""
    return f"participant:{participant_id}"


def publish(published: list[Published]) -> None:
    """Send committed events to their rooms. Call only after commit."""
    for item in published:
        if is_redacted(item.type):
            for role in SCREEN_ROLES:
                payload = {**item.payload(), "data": view(item.type, item.data, role)}
                socketio.emit(protocol.EVENT, payload, to=room(item.workshop_id, role))
        else:
            socketio.emit(protocol.EVENT, item.payload(), to=room(item.workshop_id))
        if item.type == protocol.PARTICIPANT_REMOVED:
            disconnect_room(participant_room(item.data["participant_id"]))
