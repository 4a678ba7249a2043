"""Fuzzing: hypothesis sends random and malformed payloads to every registered socket event,
as every role, over real sockets to the real eventlet server on SQLite.

The room is two workshops taken through every write action (so ids of real rows, of both
workshops, are there to hit); sockets: this workshop's console, projector and a phone, and
the console of the other workshop. Payloads are the action's own fields with values of the
right type, of the wrong type, ids of anything, huge or hostile strings, NaN and integers
past 64 bits, nested junk, unknown fields; or no object at all, or several arguments. Each
example first puts the workshop at a random stage (mostly one where the action is allowed).

Every call must be answered; a refusal must carry a code of the protocol and a message,
and never ``internal`` (an exception the server did not expect). After each event: the
server is alive and logged no traceback, and the database invariants hold.
``FUZZ_EXAMPLES`` sets the examples per event (default 20).
"""

from __future__ import annotations

import importlib
import json
import math
import os
import pkgutil
import types
import typing
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import facilitator
from facilitator.actions.spec import REGISTRY, ActionSpec
from facilitator.core.errors import ERROR_CODES

from .faults import Room, Screen, Store, join_many
from .server_process import ServerProcess
from .support import LiveClient, action_id, cookie_header, error_code

# The actions register themselves when their modules are imported (create_app does it).
for module in pkgutil.iter_modules(facilitator.__path__):
    if module.name.endswith("_actions"):
        importlib.import_module(f"facilitator.{module.name}")
EVENTS = sorted(REGISTRY)
ROLES = ("facilitator", "projector", "participant", "other_facilitator")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))

HOSTILE = [
    "",
    " ",
    "\x00",
    "<script>alert(1)</script>",
    "'; DROP TABLE notes; --",
    "\u202eevil\u202c",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 ﷽",
    "\ud800",  # a lone surrogate
    "2027-02-30",
    "0000-00-00",
    "09:60",
    "NaN",
    "-1",
    "1e400",
]
HUGE = ["x" * 20_000, "é" * 5_000, "😀" * 2_000, "a\n" * 5_000]
#: Keys that mean something somewhere: plan fields, poll rules, stage settings.
KNOWN_KEYS = [
    "activity", "objective", "lead", "partners", "sector", "level", "start", "due",
    "review_date", "budget_amount", "budget_currency", "status", "indicator", "action_field",
    "cycle_phase", "min_support_share", "veto_blocks", "min_fingers", "min_agree_share",
    "min_yes_share", "strict_majority", "count", "min_median", "areas", "authors", "private",
    "participants_group", "dots_per_participant", "allow_stacking", "default_minutes",
    "polls", "method", "rule", "options", "title",
]  # fmt: skip


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each drawn about ``weight`` times in the total (one_of
    alone would not say how often)."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(pool) - 1).flatmap(lambda i: pool[i])


texts = weighted(
    (6, st.text(max_size=40)), (3, st.sampled_from(HOSTILE)), (1, st.sampled_from(HUGE))
)
ints = weighted(
    (8, st.integers(-3, 80)),  # ids of real rows, of both workshops
    (1, st.integers(-(10**6), 10**6)),
    (1, st.sampled_from([2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30])),
)
floats = weighted(
    (8, st.floats(-10, 1300)),
    (1, st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324])),
)
leaves = st.one_of(st.none(), st.booleans(), ints, floats, texts)
junk = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=8)), inner, max_size=4
        ),
    ),
    max_leaves=12,
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), ints.map(str), st.text(max_size=12))


def values(tp: Any) -> st.SearchStrategy[Any]:
    """Values shaped like ``tp`` (a parameter's type), edges included; never only valid."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is typing.Annotated:
        return values(args[0])
    if origin in (Union, types.UnionType):
        return st.one_of(*(values(a) for a in args))
    if origin is Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(values(args[0]), max_size=8)
    if origin is dict:
        return st.dictionaries(keys, values(args[1]), max_size=6)
    simple = {type(None): st.none(), bool: st.booleans(), int: ints, float: floats, str: texts}
    return simple.get(tp, junk)


#: Replaced by a new action id when sent (hypothesis would draw the same ids in every test).
NEW_ID = "new-action-id"


def payloads(spec: ActionSpec) -> st.SearchStrategy[Any]:
    """Mostly the action's own fields (each present or not; mostly of its type) with a
    new action id; sometimes unknown fields, a bad or repeated id, or no object at all."""
    fields = {
        name: weighted((6, values(field.annotation)), (1, junk))
        for name, field in spec.params.model_fields.items()
    }
    required = {n: v for n, v in fields.items() if spec.params.model_fields[n].is_required()}
    ids = weighted(
        (16, st.just(NEW_ID)),
        (2, st.sampled_from(["repeat-0001", "repeat-0002"])),
        (1, junk),
        (1, st.none()),
    )
    shaped = st.builds(
        lambda body, action_id, extra: {
            **body,
            **({"action_id": action_id} if action_id is not None else {}),
            **extra,
        },
        st.fixed_dictionaries(
            required, optional={n: v for n, v in fields.items() if n not in required}
        ),
        ids,
        weighted((9, st.just({})), (1, st.dictionaries(keys, junk, min_size=1, max_size=2))),
    )
    several = st.tuples(junk, junk).map(lambda t: ("__several__", t))
    return weighted((17, shaped), (2, junk), (1, several))


#: Where an action mostly makes sense, when the registry does not say (it gates only
#: participants): by the noun of its name.
STAGE_OF = {
    noun: frozenset({kind})
    for kind, nouns in {
        "board": ("note", "group", "board"),
        "stakeholder_map": ("stakeholder", "map", "placement"),
        "agenda": ("agenda",),
        "vote": ("poll",),
        "action_plan": ("plan",),
        "signoff": ("signoff",),
    }.items()
    for noun in nouns
}


class FuzzRoom:
    """Two workshops with everything in them, and the sockets that fuzz one of them."""

    def __init__(self, instance: Any) -> None:
        self.server = ServerProcess(instance).start()
        self.store = Store(self.server.database_url)
        self.other = Room(self.server, "fuzzother")
        self.other.play()
        self.room = Room(self.server, "fuzz")
        self.room.play()
        console = self.room.clients["console"]
        assert console.send("workshop:reopen", {})["ok"]
        self.sockets: dict[str, Screen] = {
            "facilitator": console,
            "projector": Screen(
                self.server.base, self.room.workshop_id, "projector", self.room.http
            ).connect(),
            "participant": self.room.clients["amina"],
            "other_facilitator": self.other.clients["console"],
        }
        self.joined = 0
        self.log_seen = 0
        self.calls = 0
        self.codes: dict[str, int] = {}

    def stage_ids(self, kinds: frozenset[str] | None) -> list[int]:
        state = self.sockets["facilitator"].state
        assert state is not None
        return [s["id"] for s in state["stages"] if kinds is None or s["type"] in kinds]

    def ensure(self) -> None:
        """Undo what a fuzzed call may have done to the room itself: a closed workshop is
        reopened, a removed (disconnected) phone replaced by a new participant."""
        console = self.sockets["facilitator"]
        state = console.state
        assert state is not None
        if state["workshop"]["status"] != "live":
            ack = console.send("workshop:reopen", {})
            assert ack["ok"], ack
        phone = self.sockets["participant"]
        if not phone.sio.connected:
            self.joined += 1
            (session,) = join_many(
                self.server.base, state["workshop"]["code"], 1, f"F{self.joined}-"
            )
            phone.close()
            self.sockets["participant"] = Screen(
                self.server.base, self.room.workshop_id, "phone", session
            ).connect()

    def tracebacks(self) -> list[str]:
        text = self.server.log.read_text(errors="replace")
        new, self.log_seen = text[self.log_seen :], len(text)
        return [block[:1500] for block in new.split("Traceback (most recent call last)")[1:]]

    def close(self) -> None:
        for client in self.sockets.values():
            client.close()
        self.room.close()
        self.other.close()
        self.store.close()
        self.server.stop()


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzRoom]:
    room = FuzzRoom(tmp_path_factory.mktemp("fuzz"))
    yield room
    print(f"\nfuzz: {room.calls} calls, answers by code {dict(sorted(room.codes.items()))}")
    room.close()


def test_the_fuzzed_events_are_the_registry(app: Any) -> None:
    assert EVENTS == sorted(REGISTRY)


@pytest.mark.server
@pytest.mark.parametrize("name", EVENTS)
def test_no_payload_crashes_the_server_or_goes_unanswered(fuzz: FuzzRoom, name: str) -> None:
    spec = REGISTRY[name]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        payload=payloads(spec),
        role=st.sampled_from([*sorted(spec.roles & set(ROLES))] * 3 + [*ROLES]),
        allowed_stage=st.booleans(),
        pick=st.integers(0, 1000),
    )
    def call(payload: Any, role: str, allowed_stage: bool, pick: int) -> None:
        fuzz.ensure()
        kinds = spec.stage_types or STAGE_OF.get(name.split(":")[0])
        stages = fuzz.stage_ids(kinds if allowed_stage else None) or fuzz.stage_ids(None)
        stage_id = stages[pick % len(stages)]
        console = fuzz.sockets["facilitator"]
        state = console.state
        assert state is not None
        if state["current_stage_id"] != stage_id:
            console.send("stage:goto", {"stage_id": stage_id})  # (just removed: never mind)
        client = fuzz.sockets[role]
        several = isinstance(payload, tuple) and payload[0] == "__several__"
        data = payload[1] if several else payload
        if isinstance(data, dict) and data.get("action_id") == NEW_ID:
            data = {**data, "action_id": action_id()}
        # Over the 64 KiB limit the server closes the connection unanswered (as documented).
        assume(len(json.dumps(data, separators=(",", ":"))) < 60_000)
        ack = client.sio.call(name, data, timeout=15)
        fuzz.calls += 1
        assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
        if not ack["ok"]:
            error = ack["error"]
            fuzz.codes[error["code"]] = fuzz.codes.get(error["code"], 0) + 1
            assert error["code"] in ERROR_CODES and error["code"] != "internal", (name, role, ack)
            assert isinstance(error["message"], str) and error["message"], ack
        else:
            fuzz.codes["ok"] = fuzz.codes.get("ok", 0) + 1

    call()
    assert fuzz.server.proc is not None and fuzz.server.proc.poll() is None, "the server died"
    assert fuzz.tracebacks() == []
    assert fuzz.store.problems() == []


def test_numbers_no_database_column_holds_are_refused_not_crashed_on(room: dict[str, Any]) -> None:
    """Found by the fuzzing: an id beyond 64 bits reached SQLite (OverflowError, answered
    ``internal`` with a traceback); NaN and infinities pass JSON and ``float`` fields."""
    console = LiveClient(room["base"], room["workshop"].id, "console", room["facilitator"])
    console.connect()
    try:
        for name, payload, where in (
            ("stage:goto", {"stage_id": 2**63}, "stage_id"),
            ("poll:open", {"poll_id": -(2**63) - 1}, "poll_id"),
            ("agenda:order", {"item_ids": [1, 10**30]}, "item_ids.1"),
            ("plan:add", {"fields": {"budget_amount": math.nan}}, "fields.budget_amount"),
            ("stakeholder:place", {"stakeholder_id": 1, "power": math.inf, "interest": 1}, "power"),
        ):
            ack = console.call(name, payload)
            assert error_code(ack) == "invalid", (name, ack)
            assert ack["error"]["message"] == f"{where}: a number out of range"
        assert console.call("stage:goto", {"stage_id": 2**63 - 1})["error"]["code"] == "not_found"
    finally:
        console.close()


def test_frames_that_are_not_socketio_packets_leave_the_socket_and_the_server_working(
    room: dict[str, Any],
) -> None:
    """Below the events: frames python-socketio cannot read are dropped unanswered (the
    server logs them); the same socket then still answers (docs/protocol.md, section 8)."""
    import websocket

    base, workshop = room["base"], room["workshop"]
    frames = [
        '421["stage:goto",' + "[" * 20_000 + "]" * 20_000 + "]",  # too deep for json
        '421["stage:goto",{"stage_id":',
        "42",
        "4X",
        '421{"a":1}',
        "421[]",
        '42/nowhere,1["stage:goto",{}]',
    ]
    for frame in frames:
        ws = websocket.create_connection(
            base.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
            header=[f"Cookie: {cookie_header(room['facilitator'])}"],
            timeout=10,
        )
        try:
            assert ws.recv().startswith("0")
            ws.send("40" + json.dumps({"workshop_id": workshop.id, "screen": "console"}))
            assert ws.recv().startswith("40")
            ws.send(frame)
            ws.send('427["sync:request",{}]')
            reply = ws.recv()
            while not reply.startswith("43"):  # the snapshot and any event first
                reply = ws.recv()
            assert reply.startswith('437[{"ok":true'), (frame[:40], reply[:80])
        finally:
            ws.close()


def test_the_invariant_checks_find_what_they_look_for(tmp_path: Path) -> None:
    """Store.problems, which every fault test ends with, on a database broken on purpose."""
    from facilitator.models import metadata

    store = Store(f"sqlite:///{tmp_path / 'broken.sqlite3'}")
    metadata.create_all(store.engine)
    serial = iter(range(1, 10_000))

    def row(table: str, **values: Any) -> None:
        """A row with ``values`` and something of the right type in every other required column."""
        columns = metadata.tables[table].columns
        for column in columns:
            if column.name in values or column.nullable or column.primary_key:
                continue
            if column.default is not None or column.server_default is not None:
                continue
            try:
                kind = column.type.python_type
            except NotImplementedError:
                kind = dict
            values[column.name] = {int: next(serial), str: f"x{next(serial)}", float: 0.0,
                                   bool: False, datetime: datetime(2026, 1, 1), dict: {},
                                   list: []}.get(kind, f"x{next(serial)}")  # fmt: skip
        with store.engine.begin() as conn:
            conn.execute(metadata.tables[table].insert().values(**values))

    assert store.problems() == []
    row("users", id=1)
    row("workshops", id=1, owner_id=1, seq=3)
    row("workshops", id=2, owner_id=1, seq=0)
    for seq in (1, 3):  # 2 is missing
        row("events", workshop_id=1, seq=seq)
    row("stages", id=1, workshop_id=2)
    row("notes", workshop_id=1, stage_id=1)  # a note of workshop 1 on a stage of workshop 2
    row("polls", id=1, workshop_id=1)
    row("poll_rounds", id=1, poll_id=1, number=1)
    row("ballots", round_id=1, voter_key="a")
    row("ballots", round_id=1, voter_key="b")  # two ballots, one voter
    row("participants", id=1, workshop_id=1)
    row("poll_turnout", round_id=1, participant_id=1)
    found = store.problems()
    store.close()
    assert [p.split(":")[0] for p in found] == ["workshop 1", "round 1", "notes"], found
