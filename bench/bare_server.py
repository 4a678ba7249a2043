"""The baseline: a bare python-socketio server, same async mode and server as the app.

``python -m bench.bare_server --port P`` runs ``socketio.Server(async_mode="eventlet")``
under ``eventlet.wsgi`` (as Flask-SocketIO's ``socketio.run`` does for the app),
with the same ping and buffer settings as the app, and nothing else: no Flask,
no database, no session. It mimics the app's protocol just enough for the bench:

* on connect, the client joins the one room and then gets ``snapshot`` ``{"seq": n}``;
* ``stage:goto`` (from the bench's facilitator client) bumps ``seq``, broadcasts
  ``event`` ``{"seq", "type": "stage:changed", "data": payload["data"]}`` to the
  room, then acks ``{"ok": true, "stage_id", "seq"}``; the bench sends the same
  ``data`` the app broadcasts for that stage change, so the messages are the same size.
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

ROOM = "everyone"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import eventlet

    eventlet.monkey_patch()
    import eventlet.wsgi
    import socketio

    sio = socketio.Server(
        async_mode="eventlet",
        ping_interval=20,
        ping_timeout=20,
        max_http_buffer_size=64 * 1024,
    )
    state = {"seq": 0}

    def send_snapshot(sid: str) -> None:
        sio.emit("snapshot", {"seq": state["seq"]}, to=sid)

    @sio.event
    def connect(sid: str, _environ: dict[str, Any], _auth: Any = None) -> bool:
        sio.enter_room(sid, ROOM)
        # Like the app: the snapshot goes out after the connection is accepted.
        sio.start_background_task(send_snapshot, sid)
        return True

    @sio.on("stage:goto")
    def goto(_sid: str, payload: Any = None) -> dict[str, Any]:
        payload = payload if isinstance(payload, dict) else {}
        state["seq"] += 1
        seq = state["seq"]
        message = {"seq": seq, "type": "stage:changed", "data": payload.get("data", {})}
        sio.emit("event", message, to=ROOM)
        return {"ok": True, "stage_id": payload.get("stage_id"), "seq": seq}

    app = socketio.WSGIApp(sio)
    listener = eventlet.listen((args.host, args.port))
    print(f"bare server on {args.host}:{args.port}", flush=True)
    eventlet.wsgi.server(listener, app, log_output=False)


if __name__ == "__main__":
    main()
