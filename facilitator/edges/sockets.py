"""The Socket.IO edge: who is connecting, which rooms, and one dispatcher.

The caller's role and workshop are established here, at connect, from the
signed session cookie (or the projector key) - never from names the client
sends later. Every event then goes through :func:`facilitator.actions.pipeline.perform`.
"""

from __future__ import annotations

import gc
import hashlib
import logging
from typing import Any

from flask import request, session
from flask_socketio import join_room

from facilitator.actions.pipeline import perform
from facilitator.actions.spec import Caller
from facilitator.core import protocol
from facilitator.core.config import check_origins
from facilitator.core.db import db
from facilitator.core.errors import BAD_REQUEST, UNAUTHENTICATED, DomainError
from facilitator.core.limits import EventLimits
from facilitator.core.transport import socketio
from facilitator.domain.workshops import Participant, Workshop
from facilitator.edges.identity import caller_for_screen
from facilitator.live import snapshot as snapshots
from facilitator.live.publish import participant_room, room

log = logging.getLogger("facilitator.sockets")

#: The caller of each connected socket of this process, by Socket.IO sid.
_callers: dict[str, Caller] = {}
#: Events per connection and per participant (docs/security.md).
_limits: EventLimits | None = None
#: Connections being closed for flooding, so each is closed (and logged) once.
_closing: set[str] = set()


def event_limits() -> EventLimits:
    if _limits is None:
        raise RuntimeError("sockets.init_app() was not called")
    return _limits


def init_app(app: Any) -> None:
    global _limits
    _limits = EventLimits(app.config)
    app.extensions["facilitator.event_limits"] = _limits
    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        message_queue=app.config["MESSAGE_QUEUE"],
        channel=message_channel(app.config),
        cors_allowed_origins=_origin_check(app.config),
        ping_interval=20,
        ping_timeout=20,
        max_http_buffer_size=64 * 1024,
    )
    # One process alone sees every change, so snapshots may share what they read.
    snapshots.configure(share=not app.config["MESSAGE_QUEUE"])
    socketio.on_event("connect", on_connect)
    # Actions and disconnects need no Flask request or session: the caller was
    # settled at connect. Registered on the Socket.IO server itself, they skip
    # Flask-SocketIO's per-event request context (URL matching) and session copy,
    # which a vote storm feels.
    socketio.server.on("disconnect", on_disconnect, namespace="/")
    socketio.server.on("*", on_any, namespace="/")
    # Hundreds of connections make a large heap of long-lived objects. With the
    # default thresholds (700, 10, 10) every burst of messages promotes objects of
    # requests still in flight, and the full collections that follow walk all of
    # them: 150 ms of CPU in the middle of a storm of 500 phones. Collecting the
    # young generation less often lets short-lived objects die by reference count
    # first (a storm then spends ~25 ms in the collector, none in full ones).
    gc.set_threshold(20_000, 20, 20)


def message_channel(config: Any) -> str:
    """The message queue channel: one per installation, so two installations sharing a
    Redis never receive each other's events (rooms are named by workshop id, and every
    fresh database's first workshop is 1). Processes of one installation share its
    database, so the default is named after it."""
    named = config.get("MESSAGE_CHANNEL")
    if named:
        return str(named)
    digest = hashlib.sha256(str(config["DATABASE_URL"]).encode()).hexdigest()[:16]
    return f"facilitator-{digest}"


def _origin_check(config: Any) -> Any:
    """Which browser pages may open a socket: the configured origins, or else this
    server's own (its public URL, and the scheme and Host the request came to).

    A page on another site could otherwise open a socket that carries the visitor's
    session cookie. Clients that send no Origin (not browsers) are not asked.
    """
    configured = check_origins(config.get("ALLOWED_ORIGINS"))
    if configured is not None:
        return configured
    public = check_origins(config.get("PUBLIC_URL") and _origin_of(config["PUBLIC_URL"]))

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        if not origin:
            return True
        scheme, host = environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", "")
        own = [f"{scheme}://{host}"]
        # As a proxy passes it on. Believing these headers here lets no one in: a
        # browser cannot set them on another site's behalf, and other clients can
        # send any Origin anyway.
        forwarded_scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
        forwarded_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        own.append(f"{forwarded_scheme}://{forwarded_host}")
        return origin in own or origin in (public or ())

    return allowed


def _origin_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def on_connect(auth: Any = None) -> bool:
    if not isinstance(auth, dict):
        auth = {}
    try:
        caller, participant_id = caller_for_screen(
            session, auth.get("workshop_id"), auth.get("screen"), auth.get("key")
        )
    except DomainError as exc:
        log.info("refused socket: %s", exc.message)
        from flask_socketio import ConnectionRefusedError

        raise ConnectionRefusedError(exc.message, exc.as_ack()["error"]) from None
    _callers[request.sid] = caller  # type: ignore[attr-defined]
    join_room(room(caller.workshop_id))
    join_room(room(caller.workshop_id, caller.role))
    if participant_id is not None:
        join_room(participant_room(participant_id))
    socketio.start_background_task(_send_snapshot, request.sid, caller)  # type: ignore[attr-defined]
    return True


def _send_snapshot(sid: str, caller: Caller) -> None:
    """Send the snapshot once the connection is accepted.

    Emitting inside the connect handler would put the snapshot on the wire
    before Socket.IO's CONNECT packet, which some clients drop or mishandle.
    Events broadcast meanwhile may arrive first; clients keep those with a
    higher sequence number than the snapshot's.
    """
    server = socketio.server
    for _ in range(200):
        if not server.manager.is_pre_connected(sid, "/"):
            break
        socketio.sleep(0.005)
    if server.manager.is_connected(sid, "/"):
        socketio.emit(protocol.SNAPSHOT, build_snapshot(caller), to=sid)


def build_snapshot(caller: Caller) -> dict[str, Any]:
    with db.reader() as s:
        workshop = s.get(Workshop, caller.workshop_id)
        assert workshop is not None
        participant = s.get(Participant, caller.participant_id) if caller.participant_id else None
        return snapshots.snapshot(s, workshop, caller.role, participant)


def on_disconnect(sid: str, *_reason: Any) -> None:
    _callers.pop(sid, None)
    _closing.discard(sid)
    if _limits is not None:
        _limits.forget(sid)


def on_any(event: Any, sid: str, *args: Any) -> dict[str, Any]:
    caller = _callers.get(sid)
    if caller is None:
        return DomainError(UNAUTHENTICATED, "Connect to a workshop first.").as_ack()
    verdict = event_limits().check(sid, caller.role, caller.actor)
    if verdict.error is not None:
        if verdict.disconnect and sid not in _closing:
            _closing.add(sid)
            log.warning(
                "disconnecting %s %s of workshop %s: too many events",
                caller.role,
                caller.actor,
                caller.workshop_id,
            )
            socketio.start_background_task(_disconnect_flooder, sid)
        return verdict.error.as_ack()
    if len(args) > 1:
        return DomainError(BAD_REQUEST, "Send one payload object per event.").as_ack()
    return perform(caller, event, args[0] if args else None)


def _disconnect_flooder(sid: str) -> None:
    socketio.sleep(0.1)  # the refusal's ack goes out first
    socketio.server.disconnect(sid, namespace="/")
