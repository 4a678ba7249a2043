"""Kill during a storm: 300 phones add board notes, then vote, against the real eventlet
server on SQLite (the embedded default); each phase, the server is killed with SIGKILL at
a random moment and restarted.
Every action acknowledged before the kill is there after the restart, none twice, and once
the phones have retried what was unanswered (same action ids), everything is there once.

The kill comes when a random share (10-90 %) of the phase's actions has been answered;
the seed is printed, ``FAULT_SEED`` replays it. PostgreSQL's part of this is
test_e2e_restart.py (SIGKILL) and test_vote_storm_server.py (a storm): 300 phones on it
take twice as long as on SQLite, too long for every run.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from typing import Any

import pytest

from .faults import Crowd, Screen, Store
from .server_process import ServerProcess
from .support import action_id

pytestmark = pytest.mark.server

CLIENTS = 300
NOTES_EACH = 1
VOTES_EACH = 3
CHOICES = ("agree", "disagree", "abstain")


def kill_during(
    server: ServerProcess,
    crowd: Crowd,
    scripts: list[list[Any]],
    rng: random.Random,
    store: Store,
    workshop_id: int,
) -> dict[str, Any]:
    """Run the phones' scripts; SIGKILL the server at a random moment of the storm;
    restart it and wait for every phone to be back. The phones are paused (nothing is
    sent again) until the caller resumes them.

    The moment: once the phones have read at least ten acks, when they have read a
    random share of them (10-50 %) or the server has written a random share (30-90 %),
    whichever comes first. Both are needed: with 300 screens to tell of every note, the
    phones read their acks well after the server sent them, and waiting for the acks
    alone would kill a server that has finished writing.
    """
    name = scripts[0][0][0]
    total = sum(len(s) for s in scripts)
    read_at = max(10, int(total * rng.uniform(0.1, 0.5)))
    written_at = int(total * rng.uniform(0.3, 0.9))
    running = crowd.run(scripts)
    deadline = time.monotonic() + 120
    written = read = 0
    while read < 10 or (read < read_at and written < written_at):
        assert not running.done(), running.exception()
        assert time.monotonic() < deadline, "the storm stalled before the kill"
        time.sleep(0.005)
        read = sum(len(p.acked) for p in crowd.phones)
        written = store.scalar(
            "SELECT COUNT(*) FROM action_receipts WHERE workshop_id = :w AND event = :e",
            w=workshop_id,
            e=name,
        )
    crowd.pause()
    server.kill()
    snapshots = [len(p.snapshots) for p in crowd.phones]
    started = time.monotonic()
    server.start()
    crowd.wait_reconnected(snapshots)
    return {
        "running": running,
        "total": total,
        "written": written,
        "restart_s": round(time.monotonic() - started, 2),
        # Every ack the dead server sent has been read by now (the phones reconnected).
        "acked": sum(len(p.acked) for p in crowd.phones),
    }


def finish(crowd: Crowd, phase: dict[str, Any]) -> None:
    crowd.resume()
    phase["running"].result(timeout=180)


def note_texts(store: Store, workshop_id: int) -> Counter[str]:
    rows = store.rows("SELECT text FROM notes WHERE workshop_id = :w", w=workshop_id)
    return Counter(r.text for r in rows)


def test_every_acknowledged_action_survives_sigkill_during_a_storm_once(tmp_path: Any) -> None:
    seed = int(os.environ.get("FAULT_SEED") or time.time_ns() % 2**31)
    rng = random.Random(seed)
    server = ServerProcess(tmp_path).start()
    store = Store(server.database_url)
    crowd: Crowd | None = None
    console: Screen | None = None
    started = time.monotonic()
    try:
        http, workshop_id, code = server.create_workshop("storm", "storm password 1")
        console = Screen(server.base, workshop_id, "console", http).connect()
        crowd = Crowd.joined(server.base, workshop_id, code, CLIENTS)
        crowd.start()
        joined = time.monotonic() - started
        stages = console.snapshots[0]["stages"]
        board = next(s for s in stages if s["type"] == "board")
        assert console.send("stage:goto", {"stage_id": board["id"]})["ok"]

        # Phase 1: notes.
        scripts = [
            [
                (
                    "note:create",
                    {
                        "action_id": action_id(),
                        "text": f"note {i}.{k}",
                        "x": (i * 37) % 1100,
                        "y": (i * 13 + k * 50) % 700,
                    },
                )
                for k in range(NOTES_EACH)
            ]
            for i in range(CLIENTS)
        ]
        notes = kill_during(server, crowd, scripts, rng, store, workshop_id)
        acked = {
            payload["text"]: ack["note"]["id"] for p in crowd.phones for _, payload, ack in p.acked
        }
        found = note_texts(store, workshop_id)
        lost = [t for t in acked if found[t] == 0]
        twice = [t for t, n in found.items() if n > 1]
        assert (lost, twice) == ([], []), f"seed {seed}"
        finish(crowd, notes)
        everything = note_texts(store, workshop_id)
        assert everything == Counter(p["text"] for s in scripts for _, p in s), f"seed {seed}"
        # A note written before the kill and answered after it (from its receipt) is the same.
        ids = {r.text: r.id for r in store.rows("SELECT id, text FROM notes")}
        for phone in crowd.phones:
            for _, payload, ack in phone.acked:
                assert ack["note"]["id"] == ids[payload["text"]], f"seed {seed}"

        # Phase 2: votes, each phone changing its mind.
        vote = next(s for s in stages if s["type"] == "vote")
        assert console.send("stage:goto", {"stage_id": vote["id"]})["ok"]
        poll = console.send("poll:create", {"title": "Storm", "method": "consensus"})["poll"]
        assert console.send("poll:open", {"poll_id": poll["id"]})["ok"]
        ballots = [
            [
                (
                    "poll:vote",
                    {
                        "action_id": action_id(),
                        "poll_id": poll["id"],
                        "choice": CHOICES[(i + k) % 3],
                    },
                )
                for k in range(VOTES_EACH)
            ]
            for i in range(CLIENTS)
        ]
        for phone in crowd.phones:
            phone.acked.clear()
        votes = kill_during(server, crowd, ballots, rng, store, workshop_id)
        for phone, script in zip(crowd.phones, ballots, strict=True):
            done = len(phone.acked)
            # The last answered choice, or the one in flight when the server died.
            possible = {script[done - 1][1]["choice"]} if done else {None}
            if done < len(script):
                possible.add(script[done][1]["choice"])
            mine = phone.snapshots[-1]["polls"][-1]["my_ballot"]
            assert (mine and mine["choice"]) in possible, (phone.index, mine, f"seed {seed}")
        finish(crowd, votes)
        final = Counter(s[-1][1]["choice"] for s in ballots)
        outcome = console.send("poll:close", {"poll_id": poll["id"]})["round"]["outcome"]
        assert outcome["turnout"] == CLIENTS
        assert {c: outcome["tally"]["counts"][c] for c in CHOICES} == final

        assert store.problems() == []
        receipts = store.scalar(
            "SELECT COUNT(*) FROM action_receipts WHERE workshop_id = :w AND actor LIKE 'p:%'",
            w=workshop_id,
        )
        assert receipts == CLIENTS * (NOTES_EACH + VOTES_EACH)  # one per action, none twice
        retries = sum(p.retries for p in crowd.phones)
        print(
            f"\nstorm seed={seed} clients={CLIENTS} kills=2"
            f" notes: killed after {notes['written']}/{notes['total']} written,"
            f" {notes['acked']} acked, restart {notes['restart_s']}s;"
            f" votes: killed after {votes['written']}/{votes['total']} written,"
            f" {votes['acked']} acked, restart {votes['restart_s']}s;"
            f" resent after restart {retries}; lost 0, twice 0;"
            f" joined+connected in {joined:.1f}s, total {time.monotonic() - started:.1f}s"
        )
    finally:
        if crowd is not None:
            crowd.close()
        if console is not None:
            console.close()
        store.close()
        server.stop()
