"""Tools of the fault tests (tests/test_fault_*.py).

* :class:`Screen`: a synchronous client that keeps its state as ``static/js/live.js``
  does (snapshot, events in ``seq`` order, buffering, resync after a gap, a fresh
  snapshot at every reconnect), applies its own acks as the screens do, retries an
  action with the same id until it is answered, and can have its socket cut;
* :func:`apply_event`: the screens' reducers (``static/js/*_state.js``) in Python, and
  :func:`comparable`, the state a screen shows without the passing counts;
* :class:`Crowd`: hundreds of phones on one asyncio loop in a thread, cheap enough to
  run 300 in a test on a small machine;
* :class:`Store`: the server's database read directly: rows, a fingerprint of
  everything, and the invariants every fault test checks afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import random
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
import socketio
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from facilitator.core.db import engine_url

from .support import LiveClient, action_id, cookie_header, join

SECTORS = ("Health", "Education", "Finance", "Civil society", "Development partners")


def join_many(base: str, code: str, count: int, prefix: str = "P") -> list[requests.Session]:
    """``count`` participants joined through the form, a few at a time."""

    def one(i: int) -> requests.Session:
        return join(base, code, f"{prefix}{i}", f"Organisation {i % 23}", SECTORS[i % 5])

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


# -- the screens' reducers ------------------------------------------------------------------

#: What a reducer returns when its event cannot bring the state up to date alone.
STALE = "stale"
STAGE_PARTS = {"board": "boards", "agenda": "agendas"}


def _upsert(items: list[dict[str, Any]], item: dict[str, Any], key: str = "id") -> None:
    for i, existing in enumerate(items):
        if existing[key] == item[key]:
            items[i] = item
            return
    items.append(item)


def _org_key(name: Any) -> str:
    return " ".join(str(name or "").split()).lower()


def _board(state: dict[str, Any], stage_id: int) -> dict[str, Any]:
    return state.setdefault("boards", {}).setdefault(
        str(stage_id), {"settings": {}, "notes": [], "groups": []}
    )


def _merge_note(existing: dict[str, Any] | None, incoming: dict[str, Any]) -> dict[str, Any]:
    if existing is None:
        return incoming
    if (
        incoming.get("private")
        and "text" not in incoming
        and "text" in existing
        and existing.get("mine")
    ):
        return existing
    merged = dict(incoming)
    if "mine" not in merged and "mine" in existing:
        merged["mine"] = existing["mine"]
    return merged


def _upsert_note(state: dict[str, Any], note: dict[str, Any]) -> None:
    notes = _board(state, note["stage_id"])["notes"]
    for i, existing in enumerate(notes):
        if existing["id"] == note["id"]:
            notes[i] = _merge_note(existing, note)
            return
    notes.append(note)


def _agenda(state: dict[str, Any], stage_id: int) -> dict[str, Any]:
    return state.setdefault("agendas", {}).setdefault(
        str(stage_id), {"settings": {}, "items": [], "voters": 0}
    )


def _poll_entry(state: dict[str, Any], poll: dict[str, Any]) -> dict[str, Any]:
    polls = state.setdefault("polls", [])
    for entry in polls:
        if entry["poll"]["id"] == poll["id"]:
            entry["poll"] = poll
            return entry
    entry = {"poll": poll, "rounds": []}
    polls.append(entry)
    return entry


def _stages_changed(state: dict[str, Any], data: dict[str, Any]) -> str | None:
    before = {s["id"]: s for s in state["stages"]}
    stale = False
    for stage in data["stages"]:
        part = state.get(STAGE_PARTS.get(stage["type"], ""))
        old = before.get(stage["id"])
        if (part is not None and str(stage["id"]) not in part) or (
            old is not None and old["config"] != stage["config"]
        ):
            stale = True
    state["stages"] = data["stages"]
    state["current_stage_id"] = data["current_stage_id"]
    state["workshop"]["display"] = {**state["workshop"]["display"], "starts_at": data["starts_at"]}
    return STALE if stale else None


def _participant(state: dict[str, Any], data: dict[str, Any]) -> None:
    state["presence"] = data["presence"]
    if "participants" in state:
        _upsert(state["participants"], data["participant"])
    me = state.get("me")
    if me and me["id"] == data["participant"]["id"]:
        me.update(data["participant"])


def _organisation(state: dict[str, Any], data: dict[str, Any]) -> None:
    """As organisations_state.js: upsert the row; the facilitator's events carry every
    row's ``near``."""
    rows = state.setdefault("organisations", [])
    if "merged_id" in data:
        rows[:] = [o for o in rows if o["id"] != data["merged_id"]]
    old = next((o for o in rows if o["id"] == data["organisation"]["id"]), None)
    row = {**(old or {}), **data["organisation"]}
    if old is None:
        rows.append(row)
    else:
        rows[rows.index(old)] = row
    if "near" in data:
        for item in rows:
            item["near"] = data["near"][str(item["id"])]


def _participant_removed(state: dict[str, Any], data: dict[str, Any]) -> None:
    state["presence"] = data["presence"]
    if "participants" in state:
        state["participants"] = [
            p for p in state["participants"] if p["id"] != data["participant_id"]
        ]
    if state.get("me") and state["me"]["id"] == data["participant_id"]:
        state["removed"] = True


def _note_moved(state: dict[str, Any], data: dict[str, Any]) -> None:
    if data.get("private") and "x" not in data:
        return
    for note in _board(state, data["stage_id"])["notes"]:
        if note["id"] == data["note_id"]:
            note.update(x=data["x"], y=data["y"], group_id=data["group_id"])


def _note_deleted(state: dict[str, Any], data: dict[str, Any]) -> None:
    board = _board(state, data["stage_id"])
    board["notes"] = [n for n in board["notes"] if n["id"] != data["note_id"]]


def _group_moved(state: dict[str, Any], data: dict[str, Any]) -> None:
    group = data["group"]
    board = _board(state, group["stage_id"])
    _upsert(board["groups"], group)
    for moved in data["notes"]:
        for note in board["notes"]:
            if note["id"] == moved["id"]:
                note.update(x=moved["x"], y=moved["y"])


def _group_deleted(state: dict[str, Any], data: dict[str, Any]) -> None:
    board = _board(state, data["stage_id"])
    board["groups"] = [g for g in board["groups"] if g["id"] != data["group_id"]]
    for note in board["notes"]:
        if note.get("group_id") == data["group_id"]:
            note["group_id"] = None


def _board_changed(state: dict[str, Any], data: dict[str, Any]) -> None:
    board = _board(state, data["stage_id"])
    board["settings"] = data["settings"]
    if data.get("notes") is not None:
        before = {n["id"]: n for n in board["notes"]}
        board["notes"] = [_merge_note(before.get(n["id"]), n) for n in data["notes"]]


def _stakeholder_removed(state: dict[str, Any], data: dict[str, Any]) -> None:
    part = state["stakeholders"]
    part["items"] = [i for i in part["items"] if i["id"] != data["stakeholder_id"]]
    part["summaries"].pop(str(data["stakeholder_id"]), None)


def _placement_summary(state: dict[str, Any], data: dict[str, Any]) -> None:
    if data.get("summary"):
        state["stakeholders"]["summaries"][str(data["stakeholder_id"])] = data["summary"]


def _poll_opened(state: dict[str, Any], data: dict[str, Any]) -> None:
    entry = _poll_entry(state, data["poll"])
    _upsert(entry["rounds"], data["round"], key="number")
    entry["count"] = {"poll_id": data["poll"]["id"], "round": data["round"]["number"], "turnout": 0}
    entry["my_ballot"] = None


def _poll_closed(state: dict[str, Any], data: dict[str, Any]) -> None:
    entry = _poll_entry(state, data["poll"])
    _upsert(entry["rounds"], data["round"], key="number")
    entry.pop("count", None)


def _agenda_item_removed(state: dict[str, Any], data: dict[str, Any]) -> None:
    for agenda in state.get("agendas", {}).values():
        if any(i["id"] == data["item_id"] for i in agenda["items"]):
            agenda["items"] = [i for i in agenda["items"] if i["id"] != data["item_id"]]
            if data.get("totals"):
                agenda["totals"] = data["totals"]
            if "mine" in agenda:
                agenda["mine"].pop(str(data["item_id"]), None)
            return


def _agenda_ordered(state: dict[str, Any], data: dict[str, Any]) -> None:
    agenda = _agenda(state, data["stage_id"])
    for index, item_id in enumerate(data["order"]):
        for item in agenda["items"]:
            if item["id"] == item_id:
                item["position"] = index + 1


def _agenda_dots(state: dict[str, Any], data: dict[str, Any]) -> None:
    agenda = _agenda(state, data["stage_id"])
    agenda["voters"] = data["voters"]
    if data.get("totals"):
        agenda["totals"] = data["totals"]
    agenda["settings"]["revealed"] = data["revealed"]


def _agenda_changed(state: dict[str, Any], data: dict[str, Any]) -> None:
    agenda = _agenda(state, data["stage_id"])
    agenda["settings"] = data["settings"]
    if data.get("server_time"):
        agenda["server_time"] = data["server_time"]


def _rows_changed(state: dict[str, Any]) -> None:
    if state["signoff"].get("version"):
        state["signoff"]["stale"] = True


def _plan_row(state: dict[str, Any], data: dict[str, Any]) -> None:
    _upsert(state["plan"]["actions"], data["action"])
    _rows_changed(state)


def _plan_removed(state: dict[str, Any], data: dict[str, Any]) -> None:
    state["plan"]["actions"] = [r for r in state["plan"]["actions"] if r["id"] != data["action_id"]]
    _rows_changed(state)


def _plan_frozen(state: dict[str, Any], data: dict[str, Any]) -> None:
    state["signoff"]["version"] = data["version"]
    state["signoff"]["stale"] = False


def _upsert_org(items: list[dict[str, Any]], item: dict[str, Any]) -> None:
    for i, existing in enumerate(items):
        if _org_key(existing["organisation"]) == _org_key(item["organisation"]):
            items[i] = item
            return
    items.append(item)


def _signed(state: dict[str, Any], data: dict[str, Any]) -> None:
    version = state["signoff"].get("version")
    if version and version["id"] == data["version_id"]:
        _upsert_org(version["signatures"], data["signature"])


def _set(path: tuple[str, ...], key: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def reduce(state: dict[str, Any], data: dict[str, Any]) -> None:
        target = state
        for part in path:
            target = target[part]
        target[key] = data[key]

    return reduce


def _workshop_reopened(state: dict[str, Any], data: dict[str, Any]) -> None:
    state["workshop"].update(status=data["status"], code=data["code"])


def _stage_changed(state: dict[str, Any], data: dict[str, Any]) -> None:
    state["current_stage_id"] = data["stage_id"]
    _upsert(state["stages"], data["stage"])


REDUCERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], str | None]] = {
    "stage:changed": _stage_changed,
    "participant:joined": _participant,
    "participant:updated": _participant,
    "participant:removed": _participant_removed,
    "organisation:added": _organisation,
    "organisation:updated": _organisation,
    "organisation:merged": _organisation,
    "workshop:closed": _set(("workshop",), "status"),
    "workshop:display": _set(("workshop",), "display"),
    "workshop:language": _set(("workshop",), "language"),
    "workshop:reopened": _workshop_reopened,
    "workshop:started": _set(("workshop",), "status"),
    "stages:changed": _stages_changed,
    "note:created": lambda s, d: _upsert_note(s, d["note"]),
    "note:updated": lambda s, d: _upsert_note(s, d["note"]),
    "note:moved": _note_moved,
    "note:deleted": _note_deleted,
    "group:created": lambda s, d: _upsert(_board(s, d["group"]["stage_id"])["groups"], d["group"]),
    "group:updated": lambda s, d: _upsert(_board(s, d["group"]["stage_id"])["groups"], d["group"]),
    "group:moved": _group_moved,
    "group:deleted": _group_deleted,
    "board:changed": _board_changed,
    "stakeholder:added": lambda s, d: _upsert(s["stakeholders"]["items"], d["stakeholder"]),
    "stakeholder:updated": lambda s, d: _upsert(s["stakeholders"]["items"], d["stakeholder"]),
    "stakeholder:removed": _stakeholder_removed,
    "map:changed": _set(("stakeholders",), "settings"),
    "placement:summary": _placement_summary,
    "poll:created": lambda s, d: _poll_entry(s, d["poll"]) and None,
    "poll:updated": lambda s, d: _poll_entry(s, d["poll"]) and None,
    "poll:opened": _poll_opened,
    "poll:closed": _poll_closed,
    "agenda:item_added": lambda s, d: _agenda(s, d["item"]["stage_id"])["items"].append(d["item"]),
    "agenda:item_updated": lambda s, d: _upsert(
        _agenda(s, d["item"]["stage_id"])["items"], d["item"]
    ),
    "agenda:item_removed": _agenda_item_removed,
    "agenda:ordered": _agenda_ordered,
    "agenda:dots": _agenda_dots,
    "agenda:changed": _agenda_changed,
    "plan:created": _plan_row,
    "plan:updated": _plan_row,
    "plan:removed": _plan_removed,
    "plan:frozen": _plan_frozen,
    "signoff:representative": lambda s, d: _upsert_org(
        s["signoff"]["representatives"], d["representative"]
    ),
    "signoff:signed": _signed,
}


def apply_event(state: dict[str, Any], event: dict[str, Any]) -> str | None:
    """Apply one event to ``state`` as the screens do; :data:`STALE` asks for a snapshot."""
    reduce = REDUCERS.get(event["type"])
    # A copy: the state keeps (and later changes) what it is given.
    outcome = reduce(state, copy.deepcopy(event["data"])) if reduce else None
    state["seq"] = event["seq"]
    return outcome


def apply_ack(
    state: dict[str, Any], name: str, payload: dict[str, Any], ack: dict[str, Any]
) -> None:
    """What a screen keeps from its own successful acks (only its author sees these parts)."""
    ack = copy.deepcopy(ack)
    if name in ("note:create", "note:edit"):
        # As board_ui.js: a receipt's note is as it was then; once the state has reached
        # its event, what the events brought since is newer.
        note = ack["note"]
        notes = _board(state, note["stage_id"])["notes"]
        news = state["seq"] < ack.get("seq", 0)
        mine = next((n for n in notes if n["id"] == note["id"]), None)
        if mine is None:
            if news:
                notes.append(note)
        elif news or "text" not in mine:
            notes[notes.index(mine)] = note
        else:
            mine["mine"] = True
    elif name == "participant:update":
        state["me"] = ack["participant"]
    elif name == "poll:vote":
        for entry in state.get("polls", []):
            if entry["poll"]["id"] == ack["poll_id"]:
                entry["my_ballot"] = {"choice": ack["choice"], "reason": ack["reason"]}
    elif name == "agenda:dot":
        # As agenda.js: on the topics still there (a retry's answer can follow their removal).
        for agenda in state.get("agendas", {}).values():
            here = {str(i["id"]) for i in agenda["items"]}
            if here & set(payload["dots"]):
                agenda["mine"] = {k: v for k, v in payload["dots"].items() if v and k in here}
    elif name == "placement:set":
        state["stakeholders"].setdefault("mine", {})[str(ack["stakeholder_id"])] = {
            "power": ack["power"],
            "interest": ack["interest"],
        }


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    """The state a screen shows, in a canonical order, without what comes as passing
    updates with no seq (``poll:count``, ``agenda:count``, ``plan:accountability``, so
    it may lag behind a snapshot) and clocks."""
    out = copy.deepcopy(state)
    out.pop("removed", None)
    for key in ("boards", "agendas"):
        out.setdefault(key, {})
    for board in out["boards"].values():
        board["notes"].sort(key=lambda n: n["id"])
        board["groups"].sort(key=lambda g: g["id"])
        if out["role"] == "participant":
            for note in board["notes"]:
                note.setdefault("mine", False)
    for agenda in out["agendas"].values():
        agenda.pop("voters", None)
        agenda.pop("server_time", None)
        agenda["items"].sort(key=lambda i: i["id"])
    for entry in out.get("polls", []):
        entry.pop("count", None)
        entry["rounds"].sort(key=lambda r: r["number"])
        if entry["poll"]["status"] != "open" or entry.get("my_ballot") is None:
            # Snapshots have it for phones while open; no ballot is null there, absent here.
            entry.pop("my_ballot", None)
    out.get("polls", []).sort(key=lambda e: e["poll"]["id"])
    out["stakeholders"]["items"].sort(key=lambda i: i["id"])
    out.get("plan", {}).pop("accountability", None)
    out.get("plan", {}).get("actions", []).sort(key=lambda r: r["id"])
    out.get("participants", []).sort(key=lambda p: p["id"])
    return out


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two JSON values differ, as readable paths."""
    if isinstance(left, dict) and isinstance(right, dict):
        out = []
        for key in sorted(set(left) | set(right), key=str):
            if key not in left or key not in right:
                out.append(f"{path}/{key}: only in {'right' if key not in left else 'left'}")
            else:
                out += differences(left[key], right[key], f"{path}/{key}")
        return out
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [
            d
            for i, (a, b) in enumerate(zip(left, right, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if left == right else [f"{path}: {left!r:.200} != {right!r:.200}"]


# -- a screen ---------------------------------------------------------------------------------


class Screen(LiveClient):
    """A client that keeps its state as live.js does and retries its actions.

    python-socketio's synchronous client handles each message in a thread of its
    own, so events can reach the handlers out of order: exactly the reordering the
    protocol's buffering and resync rules are for.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state: dict[str, Any] | None = None
        self.pending: list[dict[str, Any]] = []
        self.syncing = False
        self._lock = threading.RLock()
        #: Bumped at every disconnect: an action waiting for its ack sends again.
        self.connection = 0
        self.drops = 0
        self.resyncs = 0
        self.retries = 0
        self.acked = 0
        self.closed = False
        #: Seconds a person takes before each action (least, most).
        self.think = (0.0, 0.0)
        #: Actions sent and not yet answered.
        self.sending = 0
        #: Reconnection snapshots compared with the state built before, and how they differed.
        self.checks = 0
        self.mismatches: list[list[str]] = []
        self._cut: list[socket.socket] = []
        self.sio.on("disconnect", self._on_disconnect)

    # -- receiving

    def _on_snapshot(self, data: dict[str, Any]) -> None:
        with self._lock:
            self._check_against(data)
            self._set_snapshot(data)
        super()._on_snapshot(data)

    def _check_against(self, snapshot: dict[str, Any]) -> None:
        """A reconnection's snapshot must equal the state the client had built, if no
        event was missed meanwhile and no action of its own was unanswered: what the
        events and acks it applied since its previous snapshot made of it."""
        old = self.state
        if (
            old is None
            or old["seq"] != snapshot["seq"]
            or self.pending
            or self.syncing
            or self.sending
        ):
            return
        self.checks += 1
        found = differences(comparable(old), comparable(snapshot))
        if found:
            self.mismatches.append(found)

    def _set_snapshot(self, snapshot: dict[str, Any]) -> None:
        self.state = copy.deepcopy(snapshot)
        later = sorted(
            (e for e in self.pending if e["seq"] > snapshot["seq"]), key=lambda e: e["seq"]
        )
        self.pending = []
        for event in later:
            self._receive(event)

    def _on_event(self, data: dict[str, Any]) -> None:
        with self._lock:
            self._receive(data)
        super()._on_event(data)

    def _receive(self, event: dict[str, Any]) -> None:
        if self.state is None or self.syncing:
            self.pending.append(event)
            return
        if event["seq"] <= self.state["seq"]:
            return
        if event["seq"] > self.state["seq"] + 1:
            self.pending.append(event)
            self._resync(self.state["seq"])
            return
        if apply_event(self.state, event) == STALE:
            self._resync(None)

    def _on_disconnect(self, *_reason: Any) -> None:
        with self._lock:
            self.connection += 1
            cut, self._cut = self._cut, []
        for sock in cut:
            sock.close()
        self._notify()

    # -- catching up

    def _resync(self, since: int | None) -> None:
        """Fetch what was missed (or a snapshot) off the handler thread, as live.js does."""
        self.syncing = True
        self.resyncs += 1
        threading.Thread(target=self._fetch, args=(since,), daemon=True).start()

    def _fetch(self, since: int | None) -> None:
        while not self.closed:
            try:
                ack = self.sio.call("sync:request", {"since": since}, timeout=5)
            except Exception:  # disconnected or timed out: again in a moment
                time.sleep(0.2)
                continue
            if not ack.get("ok"):
                time.sleep(0.2)
                continue
            with self._lock:
                self.syncing = False
                if "snapshot" in ack:
                    self._set_snapshot(ack["snapshot"])
                else:
                    queued, self.pending = self.pending, []
                    for event in sorted(ack["events"] + queued, key=lambda e: e["seq"]):
                        self._receive(event)
            self._notify()
            return

    # -- acting

    def send(self, name: str, payload: dict[str, Any] | None = None, timeout: float = 60) -> Any:
        """Send an action until it is answered, always with the same id (as live.js)."""
        time.sleep(random.uniform(*self.think))
        with self._lock:
            self.sending += 1
        try:
            return self._send(name, dict(payload or {}), timeout)
        finally:
            with self._lock:
                self.sending -= 1

    def _send(self, name: str, payload: dict[str, Any], timeout: float) -> Any:
        payload.setdefault("action_id", action_id())
        deadline = time.monotonic() + timeout
        while True:
            self.wait_for(
                lambda: self.sio.connected and self.state is not None,
                "a connection",
                timeout=max(0.1, deadline - time.monotonic()),
            )
            answer: list[Any] = []
            with self._lock:
                connection = self.connection
            try:
                self.sio.emit(
                    name, payload, callback=lambda *a, out=answer: (out.append(a), self._notify())
                )
            except socketio.exceptions.SocketIOError:
                self.retries += 1
                continue
            # The ack, a disconnect (the ack is lost with the connection) or a timeout.
            with contextlib.suppress(AssertionError):
                self.wait_for(
                    lambda c=connection, out=answer: out or self.connection != c,
                    f"the ack of {name}",
                    timeout=min(8, max(0.1, deadline - time.monotonic())),
                )
            if answer:
                ack = answer[0][0] if answer[0] else None
                if isinstance(ack, dict) and ack.get("ok"):
                    self.acked += 1
                    with self._lock:
                        if self.state is not None:
                            apply_ack(self.state, name, payload, ack)
                return ack
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} was never answered: {payload}")
            self.retries += 1

    def drop(self) -> bool:
        """Cut the socket under the client, as a dropped Wi-Fi does; it reconnects by itself."""
        ws = getattr(self.sio.eio, "ws", None)
        sock = getattr(ws, "sock", None)
        if not self.sio.connected or sock is None:
            return False
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        self._cut.append(sock)  # closed once the client has let go of it
        self.drops += 1
        return True

    def settled(self, seq: int) -> bool:
        with self._lock:
            return bool(
                self.sio.connected
                and self.state is not None
                and not self.syncing
                and self.state["seq"] == seq
            )

    def view(self) -> dict[str, Any]:
        with self._lock:
            assert self.state is not None
            return comparable(self.state)

    def close(self) -> None:
        self.closed = True
        super().close()


class Flakiness:
    """Cuts each client's socket at random intervals, until stopped."""

    def __init__(self, clients: list[Screen], low: float, high: float, seed: int) -> None:
        self.clients = clients
        self.low, self.high = low, high
        self.random = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Flakiness:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        now = time.monotonic()
        due = {id(c): now + self.random.uniform(self.low, self.high) for c in self.clients}
        while not self._stop.is_set():
            client = min(self.clients, key=lambda c: due[id(c)])
            wait = due[id(client)] - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            client.drop()
            due[id(client)] = time.monotonic() + self.random.uniform(self.low, self.high)


# -- a whole workshop, every write action once ----------------------------------------

Step = tuple[str, str, dict[str, Any]]
Script = Generator[Step, dict[str, Any], None]


def whole_workshop(stages: dict[str, int], me: dict[str, dict[str, Any]]) -> Script:
    """Every write action once, in an order that lets each one succeed: ``(client, name,
    params)`` steps, each sent the ack of the one before. ``stages`` are stage ids by
    key; ``me`` each phone's participant record."""
    # A draft, designed before anyone joins.
    programme = yield "console", "stage:add", {"type": "board", "title": "Extra"}
    extra = next(s["id"] for s in programme["stages"] if s["title"] == "Extra")
    yield "console", "stage:edit", {"stage_id": extra, "title": "Extra board"}
    yield "console", "stage:move", {"stage_id": extra, "position": 1}
    programme = yield "console", "stage:duplicate", {"stage_id": extra}
    copy = max(s["id"] for s in programme["stages"])
    yield "console", "stage:remove", {"stage_id": copy}
    yield "console", "workshop:schedule", {"starts_at": "09:00"}
    yield "console", "workshop:start", {}
    yield "join", "", {}  # the phones join here

    yield "amina", "participant:update", {"name": "Amina A."}
    added = {"name": "Provincial Health Department", "short_name": "PHD"}
    phd = (yield "console", "organisation:add", {"organisation": added})["organisation"]
    changes = {"sector": "Health", "other_names": ["Department of Health, Punjab"]}
    yield "console", "organisation:edit", {"organisation_id": phd["id"], "changes": changes}
    twin = yield "console", "organisation:add", {"organisation": {"name": "Health Dept."}}
    merge = {"organisation_id": twin["organisation"]["id"], "into_id": phd["id"]}
    yield "console", "organisation:merge", merge
    yield "console", "display:set", {"share_of_voice": True}
    yield "console", "workshop:set_language", {"language": "fr"}
    yield "console", "stage:next", {"from_stage_id": stages["welcome"]}

    yield "console", "stage:goto", {"stage_id": stages["context"]}
    note = (yield "amina", "note:create", {"text": "Vacant posts", "x": 10, "y": 10})["note"]
    other = (yield "bilal", "note:create", {"text": "Budget", "x": 300, "y": 10})["note"]
    edit = {"note_id": note["id"], "version": note["version"], "text": "Vacant rural posts"}
    yield "amina", "note:edit", edit
    yield "amina", "note:move", {"note_id": note["id"], "x": 20, "y": 40}
    group = (yield "console", "group:create", {"title": "Money", "x": 500, "y": 300})["group"]
    yield "console", "group:rename", {"group_id": group["id"], "title": "Finance"}
    yield "console", "group:move", {"group_id": group["id"], "x": 520, "y": 320}
    move = {"note_id": other["id"], "x": 530, "y": 340, "group_id": group["id"]}
    yield "console", "note:move", move
    yield "console", "board:focus", {"note_id": note["id"]}
    yield "console", "board:settings", {"private": True}
    hidden = yield "bilal", "note:create", {"text": "Private thought", "x": 700, "y": 10}
    yield "console", "board:reveal", {}
    yield "console", "group:delete", {"group_id": group["id"]}
    yield "bilal", "note:delete", {"note_id": hidden["note"]["id"]}

    yield "console", "stage:goto", {"stage_id": stages["stakeholders"]}
    proposal = (yield "amina", "stakeholder:add", {"name": "Teachers union"})["stakeholder"]
    card = (yield "console", "stakeholder:add", {"name": "Ministry of Finance"})["stakeholder"]
    yield "console", "stakeholder:accept", {"stakeholder_id": proposal["id"]}
    update = {"stakeholder_id": card["id"], "version": card["version"], "notes": "Holds budget"}
    yield "console", "stakeholder:update", update
    yield "console", "stakeholder:place", {"stakeholder_id": card["id"], "power": 9, "interest": 3}
    yield "console", "map:mode", {"participatory": True}
    for who, power in (("amina", 7), ("bilal", 5)):
        place = {"stakeholder_id": card["id"], "power": power, "interest": 6}
        yield who, "placement:set", place
    yield "console", "stakeholder:adopt", {"stakeholder_id": card["id"]}
    twin = (yield "console", "stakeholder:add", {"name": "MoF"})["stakeholder"]
    yield "console", "stakeholder:merge", {"stakeholder_id": twin["id"], "into_id": card["id"]}
    gone = (yield "console", "stakeholder:add", {"name": "Nobody"})["stakeholder"]
    yield "console", "stakeholder:remove", {"stakeholder_id": gone["id"]}

    yield "console", "stage:goto", {"stage_id": stages["priorities"]}
    first = (yield "amina", "agenda:propose", {"title": "Rural retention"})["item"]["id"]
    second = (yield "console", "agenda:propose", {"title": "Pay scales"})["item"]["id"]
    third = (yield "bilal", "agenda:propose", {"title": "Salaries"})["item"]["id"]
    promoted = (yield "amina", "agenda:promote", {"note_id": note["id"]})["item"]["id"]
    yield "console", "agenda:configure", {"dots": 3}
    yield "amina", "agenda:dot", {"dots": {str(first): 1, str(second): 1}}
    yield "bilal", "agenda:dot", {"dots": {str(second): 1, str(third): 1}}
    yield "console", "agenda:edit", {"item_id": first, "title": "Rural staff retention"}
    yield "console", "agenda:remove", {"item_id": third, "into_id": second}
    yield "console", "agenda:order", {"item_ids": [promoted, second, first]}
    yield "console", "agenda:order_by_dots", {}
    yield "console", "agenda:reveal", {}
    yield "console", "agenda:current", {"item_id": first}
    yield "console", "agenda:timer", {"command": "start"}

    yield "console", "stage:goto", {"stage_id": stages["confirm"]}
    made = yield "console", "poll:create", {"title": "Proceed?", "method": "consensus"}
    poll = made["poll"]["id"]
    yield "console", "poll:amend", {"poll_id": poll, "title": "Proceed with both?"}
    yield "console", "poll:open", {"poll_id": poll}
    yield "amina", "poll:vote", {"poll_id": poll, "choice": "agree"}
    yield "bilal", "poll:vote", {"poll_id": poll, "choice": "abstain"}
    yield "console", "poll:close", {"poll_id": poll}

    yield "console", "stage:goto", {"stage_id": stages["work-plans"]}
    fields = {"activity": "Review vacancies", "lead": me["bilal"]["organisation"]}
    row = (yield "console", "plan:add", {"fields": fields})["action"]
    yield "console", "plan:add_from", {"kind": "poll", "source_id": poll}
    mine = (yield "amina", "plan:add", {"fields": {"activity": "Map rural posts"}})["action"]
    edit = {
        "action": mine["id"],
        "changes": {"activity": "Map all rural posts"},
        "versions": {"activity": mine["versions"]["activity"]},
    }
    yield "amina", "plan:edit", edit
    yield "console", "plan:accept", {"action": mine["id"]}
    yield "amina", "plan:offer", {"action": row["id"], "role": "partner"}
    settle = {"action": row["id"], "organisation": me["amina"]["organisation"], "accept": True}
    yield "console", "plan:settle_offer", settle
    spare = (yield "bilal", "plan:add", {"fields": {"activity": "Spare"}})["action"]
    yield "bilal", "plan:remove", {"action": spare["id"]}
    version = (yield "console", "plan:freeze", {"override_reason": "Leads agreed later"})["version"]

    yield "console", "stage:goto", {"stage_id": stages["signoff"]}
    yield "console", "signoff:name", {"participant_id": me["bilal"]["id"]}
    sign = {
        "version_id": version["id"],
        "decision": "endorse",
        "full_name": "Bilal Khan",
        "title": "Director",
    }
    yield "bilal", "signoff:sign", sign
    yield "console", "stage:prev", {}
    yield "console", "participant:remove", {"participant_id": me["chen"]["id"]}
    yield "console", "workshop:close", {}
    yield "console", "workshop:reopen", {}
    yield "console", "workshop:close", {}


PEOPLE = (("Amina", "Health"), ("Bilal", "Finance"), ("Chen", "Health"))


class Room:
    """A draft workshop (HRH kit) on a server with its console, taken through
    :func:`whole_workshop`; the phones of :data:`PEOPLE` join when it starts."""

    def __init__(self, server: Any, username: str) -> None:
        self.server = server
        self.http, self.workshop_id, self.code = server.create_workshop(
            username, f"{username} password 1", draft=True
        )
        console = Screen(server.base, self.workshop_id, "console", self.http).connect()
        self.clients: dict[str, Screen] = {"console": console}
        self.stages = {s["key"]: s["id"] for s in console.snapshots[0]["stages"]}
        self.me: dict[str, dict[str, Any]] = {}
        #: (client, action, payload, ack) of every action played.
        self.done: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []

    def play(
        self,
        act: Callable[[Screen, str, dict[str, Any]], Any] | None = None,
        joined: Callable[[], Any] | None = None,
    ) -> None:
        """Send every step with ``act(client, name, payload)`` (by default: until
        answered, which must be a success); ``joined()`` runs once the phones joined."""
        script = whole_workshop(self.stages, self.me)
        ack: Any = None
        while True:
            try:
                who, name, params = script.send(ack)
            except StopIteration:
                return
            if who == "join":
                for person, sector in PEOPLE:
                    session = join(self.server.base, self.code, person, f"{person} Org", sector)
                    phone = Screen(self.server.base, self.workshop_id, "phone", session).connect()
                    self.clients[person.lower()] = phone
                    self.me[person.lower()] = phone.snapshots[0]["me"]
                if joined is not None:
                    joined()
                ack = None
                continue
            payload = {**params, "action_id": action_id()}
            client = self.clients[who]
            ack = act(client, name, payload) if act else client.send(name, payload)
            assert ack["ok"], (name, payload, ack)
            self.done.append((who, name, payload, ack))

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


# -- a crowd of phones --------------------------------------------------------------------------


class CrowdPhone:
    """One phone of a :class:`Crowd`: an ``AsyncClient`` per connection, reconnecting
    by itself after a drop.

    Not python-socketio's own reconnection: it gives a reconnecting client one second
    to be accepted, and hundreds of phones coming back at once to a server that has
    just restarted (each getting a snapshot) would give up and try again in a loop.
    The browsers' client waits 20 seconds; so does this one.
    """

    def __init__(self, crowd: Crowd, index: int, cookie: str) -> None:
        self.crowd = crowd
        self.index = index
        self.cookie = cookie
        self.sio: Any = None
        self.http: Any = None
        self.snapshots: list[dict[str, Any]] = []
        self.connected: asyncio.Event | None = None
        self.stopping = False
        self._reconnecting: asyncio.Task[None] | None = None
        self._waiting: set[asyncio.Future[Any]] = set()
        #: (action name, payload, ack) of every action answered, in order.
        self.acked: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.retries = 0

    async def start(self, http: Any) -> None:
        self.http = http
        self.connected = asyncio.Event()
        await self._connect()

    async def _connect(self) -> None:
        sio = socketio.AsyncClient(
            reconnection=False,
            handle_sigint=False,
            http_session=self.http,
            # Not connect(headers=...): engineio would move the cookie into the
            # shared session's jar; these headers go to the handshake as they are.
            websocket_extra_options={"headers": {"Cookie": self.cookie}},
        )
        sio.on("snapshot", self._on_snapshot)
        sio.on("disconnect", self._on_disconnect)
        self.sio = sio
        await sio.connect(
            self.crowd.base,
            auth={"workshop_id": self.crowd.workshop_id, "screen": "phone"},
            transports=["websocket"],
            wait_timeout=20,
        )

    async def _reconnect(self) -> None:
        delay = 0.3
        while not self.stopping:
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            try:
                await self._connect()
                break
            except Exception:  # refused, unreachable, timed out: again, later
                delay = min(2 * delay, 2.0)
        self._reconnecting = None

    def _on_snapshot(self, data: dict[str, Any]) -> None:
        self.snapshots.append(data)
        assert self.connected is not None
        self.connected.set()

    def _on_disconnect(self, *_reason: Any) -> None:
        assert self.connected is not None
        self.connected.clear()
        for waiting in self._waiting:  # the acks went with the connection
            if not waiting.done():
                waiting.set_exception(ConnectionError("disconnected"))
        if not self.stopping and self._reconnecting is None:
            self._reconnecting = asyncio.ensure_future(self._reconnect())

    async def send(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Until answered, with the same action id; only while the crowd is not paused."""
        assert self.connected is not None
        while True:
            await self.crowd.go.wait()
            await self.connected.wait()
            answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._waiting.add(answer)
            try:
                await self.sio.emit(
                    name,
                    payload,
                    callback=lambda ack=None, f=answer: f.done() or f.set_result(ack),
                )
                ack = await asyncio.wait_for(answer, 15)
            except (ConnectionError, TimeoutError, socketio.exceptions.SocketIOError):
                self.retries += 1
                continue
            finally:
                self._waiting.discard(answer)
            self.acked.append((name, payload, ack))
            return ack

    async def run(self, actions: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for name, payload in actions:
            ack = await self.send(name, payload)
            if not ack.get("ok"):
                raise AssertionError(f"phone {self.index}: {name} {payload} refused: {ack}")

    async def stop(self) -> None:
        self.stopping = True
        # A reconnection under way would connect a new client after this one is gone,
        # and once the crowd's shared session is closed its engine would open a session
        # of its own that nobody closes.
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(BaseException):
                await self._reconnecting
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 5)


class Crowd:
    """Hundreds of phones on one asyncio loop in a thread of the test process.

    ``go`` pauses them all: an action that is not yet answered (the server died)
    is sent again only once ``go`` is set, so a test can look at what survived
    a crash before anyone retries.
    """

    def __init__(self, base: str, workshop_id: int, cookies: list[str]) -> None:
        self.base = base
        self.workshop_id = workshop_id
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.phones = [CrowdPhone(self, i, c) for i, c in enumerate(cookies)]
        self.go: asyncio.Event = self.call(self._event())
        self._http: Any = None

    @classmethod
    def joined(cls, base: str, workshop_id: int, code: str, count: int) -> Crowd:
        return cls(base, workshop_id, [cookie_header(h) for h in join_many(base, code, count)])

    async def _event(self) -> asyncio.Event:
        event = asyncio.Event()
        event.set()
        return event

    def call(self, coro: Any, timeout: float = 120) -> Any:
        """Run ``coro`` on the crowd's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        async def connect_all() -> None:
            import aiohttp

            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar()
            )
            gate = asyncio.Semaphore(16)

            async def one(phone: CrowdPhone) -> None:
                async with gate:
                    await phone.start(self._http)
                    assert phone.connected is not None
                    await asyncio.wait_for(phone.connected.wait(), 30)

            await asyncio.gather(*(one(p) for p in self.phones))

        self.call(connect_all())

    def run(self, scripts: list[list[tuple[str, dict[str, Any]]]]) -> Any:
        """Start every phone's script (one per phone); returns a future of them all."""

        async def everyone() -> None:
            await asyncio.gather(*(p.run(s) for p, s in zip(self.phones, scripts, strict=True)))

        return asyncio.run_coroutine_threadsafe(everyone(), self.loop)

    def pause(self) -> None:
        self.loop.call_soon_threadsafe(self.go.clear)

    def resume(self) -> None:
        self.loop.call_soon_threadsafe(self.go.set)

    def wait_reconnected(self, since: list[int], timeout: float = 60) -> None:
        """Wait until every phone got a snapshot after the ``since[i]``-th one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(len(p.snapshots) > n for p, n in zip(self.phones, since, strict=True)):
                return
            time.sleep(0.1)
        missing = sum(len(p.snapshots) <= n for p, n in zip(self.phones, since, strict=True))
        raise AssertionError(f"{missing} phones did not reconnect within {timeout}s")

    def close(self) -> None:
        async def stop_all() -> None:
            await asyncio.gather(*(p.stop() for p in self.phones if p.sio is not None))
            if self._http is not None:
                await self._http.close()

        with contextlib.suppress(Exception):
            self.call(stop_all(), timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


# -- the database ---------------------------------------------------------------------------------


class Store:
    """The server's database, read directly by the test (SQLite in WAL mode or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(engine_url(url))

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def fingerprint(self) -> dict[str, str]:
        """A digest of every table's rows: equal fingerprints, nothing changed."""
        out = {}
        with self.engine.connect() as conn:
            for table in sorted(inspect(conn).get_table_names()):
                digest = hashlib.sha256()
                for row in conn.execute(text(f'SELECT * FROM "{table}" ORDER BY 1')):
                    digest.update(repr(tuple(row)).encode())
                out[table] = digest.hexdigest()
        return out

    def problems(self) -> list[str]:
        """Broken invariants: numbering, one ballot per person and round, rows that
        belong to no workshop or point into another workshop, SQLite's own checks."""
        from facilitator.models import metadata

        found: list[str] = []
        with self.engine.connect() as conn:
            for wid, seq in conn.execute(text("SELECT id, seq FROM workshops")):
                seqs = [
                    r[0]
                    for r in conn.execute(
                        text("SELECT seq FROM events WHERE workshop_id = :w ORDER BY seq"),
                        {"w": wid},
                    )
                ]
                if seqs != list(range(1, seq + 1)):
                    found.append(f"workshop {wid}: seq {seq}, events numbered {seqs[-5:]}...")
            for rid, ballots, turnout in conn.execute(
                text(
                    "SELECT r.id, (SELECT COUNT(*) FROM ballots b WHERE b.round_id = r.id),"
                    " (SELECT COUNT(*) FROM poll_turnout t WHERE t.round_id = r.id)"
                    " FROM poll_rounds r"
                )
            ):
                if ballots != turnout:
                    found.append(f"round {rid}: {ballots} ballots for {turnout} voters")
            for table in metadata.sorted_tables:
                found += self._belongs(conn, table)
            if self.engine.dialect.name == "sqlite":
                check = conn.execute(text("PRAGMA integrity_check")).scalar()
                if check != "ok":
                    found.append(f"integrity_check: {check}")
                broken = list(conn.execute(text("PRAGMA foreign_key_check")))
                if broken:
                    found.append(f"foreign_key_check: {broken[:5]}")
        return found

    @staticmethod
    def _belongs(conn: Any, table: Any) -> list[str]:
        """Every way a row names a workshop (its own column, the rows it points to) agrees."""
        sources = []
        if "workshop_id" in table.c:
            sources.append('t."workshop_id"')
            missing = conn.execute(
                text(
                    f'SELECT COUNT(*) FROM "{table.name}" t WHERE t.workshop_id IS NULL'
                    " OR t.workshop_id NOT IN (SELECT id FROM workshops)"
                )
            ).scalar()
            if missing:
                return [f"{table.name}: {missing} rows of no workshop"]
        for fk in table.foreign_keys:
            target = fk.column.table
            if target.name != "workshops" and "workshop_id" in target.c:
                sources.append(
                    f'(SELECT r.workshop_id FROM "{target.name}" r'
                    f' WHERE r."{fk.column.name}" = t."{fk.parent.name}")'
                )
        pairs = [(a, b) for i, a in enumerate(sources) for b in sources[i + 1 :]]
        if not pairs:
            return []
        where = " OR ".join(
            f"({a} IS NOT NULL AND {b} IS NOT NULL AND {a} <> {b})" for a, b in pairs
        )
        count = conn.execute(text(f'SELECT COUNT(*) FROM "{table.name}" t WHERE {where}')).scalar()
        return [f"{table.name}: {count} rows point into another workshop"] if count else []

    def close(self) -> None:
        self.engine.dispose()
