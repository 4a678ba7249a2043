"""The Socket.IO server object, unbound until the app binds it, and the one thing the
layers above need of it besides emitting: closing a room's connections.

It imports nothing of the project, so the live layer can publish through it and the
Socket.IO edge can bind handlers to it without either importing the other.
"""

from __future__ import annotations

from flask_socketio import SocketIO

socketio = SocketIO()


def disconnect_room(room: str) -> None:
    """Disconnect this process's sockets in ``room`` (a removed participant)."""
    server = socketio.server
    if server is None:
        return
    for sid, _eio_sid in list(server.manager.get_participants("/", room)):
        server.disconnect(sid, namespace="/")
