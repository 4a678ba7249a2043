"""Disk full and database locked (SQLite), against the real eventlet server: an action that
cannot be written gets a clear error ack (``unavailable`` and a message saying why), leaves
nothing half-written, and the same action (same id) succeeds once the condition clears.

The full disk is real: the database on a small tmpfs, filled up (mounting needs root;
elsewhere the test is skipped, saying so). The lock is held by another program (here the
test) beyond SQLite's busy timeout (FACILITATOR_SQLITE_BUSY_SECONDS, 2 s here).
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from .faults import Screen, Store, join_many
from .server_process import ServerProcess
from .support import action_id

pytestmark = pytest.mark.server


def unwritten(store: Store, workshop_id: int) -> dict[str, Any]:
    """What a half-written action would leave: events, receipts, the sequence number."""
    return {
        "seq": store.scalar("SELECT seq FROM workshops WHERE id = :w", w=workshop_id),
        "events": store.scalar("SELECT COUNT(*) FROM events WHERE workshop_id = :w", w=workshop_id),
        "receipts": store.scalar(
            "SELECT COUNT(*) FROM action_receipts WHERE workshop_id = :w", w=workshop_id
        ),
    }


def refused_clearly(ack: dict[str, Any], why: str) -> None:
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == "unavailable", ack
    assert why in ack["error"]["message"] and "nothing was saved" in ack["error"]["message"]


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Any:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a full disk needs a small tmpfs, and mounting one failed: {mounted.stderr}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out:
        for chunk in (1 << 20, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * chunk)
    with pytest.raises(OSError) as full:
        (disk / "probe").write_bytes(b"\0" * 4096)
    assert full.value.errno == errno.ENOSPC
    return filler


def test_a_full_disk_refuses_the_action_clearly_and_its_retry_succeeds(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "16m") as disk:
        server = ServerProcess(
            tmp_path / "instance",
            env={"FACILITATOR_DATABASE_URL": f"sqlite:///{disk / 'facilitator.sqlite3'}"},
        )
        server.instance.mkdir()
        server.start()
        store = Store(server.database_url)
        clients: list[Screen] = []
        try:
            http, workshop_id, code = server.create_workshop("full", "full password 1")
            console = Screen(server.base, workshop_id, "console", http).connect()
            phone = Screen(server.base, workshop_id, "phone", join_many(server.base, code, 1)[0])
            clients = [console, phone.connect()]
            board = next(s for s in console.snapshots[0]["stages"] if s["type"] == "board")
            assert console.send("stage:goto", {"stage_id": board["id"]})["ok"]
            note = {"action_id": action_id(), "text": "Vacant posts " * 20, "x": 10, "y": 10}

            filler = fill(disk)
            before = unwritten(store, workshop_id)
            refused_clearly(phone.sio.call("note:create", note, timeout=30), "disk is full")
            assert unwritten(store, workshop_id) == before
            assert store.scalar("SELECT COUNT(*) FROM notes") == 0
            assert store.problems() == []

            filler.unlink()
            ack = phone.sio.call("note:create", note, timeout=30)
            assert ack["ok"] and ack["seq"] == before["seq"] + 1, ack
            assert phone.sio.call("note:create", note, timeout=30) == ack  # once
            assert store.scalar("SELECT COUNT(*) FROM notes") == 1
            assert store.problems() == []
        finally:
            for client in clients:
                client.close()
            store.close()
            server.stop()


def test_a_locked_database_refuses_votes_clearly_and_their_retries_succeed(tmp_path: Path) -> None:
    # Writes wait 2 s for the lock rather than the default 10 s: the same path, sooner.
    server = ServerProcess(tmp_path, {"FACILITATOR_SQLITE_BUSY_SECONDS": "2"}).start()
    store = Store(server.database_url)
    clients: list[Screen] = []
    try:
        http, workshop_id, code = server.create_workshop("lock", "lock password 1")
        console = Screen(server.base, workshop_id, "console", http).connect()
        phones = [
            Screen(server.base, workshop_id, "phone", h) for h in join_many(server.base, code, 4)
        ]
        clients = [console, *(p.connect() for p in phones)]
        vote = next(s for s in console.snapshots[0]["stages"] if s["type"] == "vote")
        assert console.send("stage:goto", {"stage_id": vote["id"]})["ok"]
        poll = console.send("poll:create", {"title": "Locked?", "method": "yes_no"})["poll"]
        assert console.send("poll:open", {"poll_id": poll["id"]})["ok"]
        ballots = [
            {"action_id": action_id(), "poll_id": poll["id"], "choice": "yes"} for _ in phones
        ]

        holder = sqlite3.connect(tmp_path / "facilitator.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        before = unwritten(store, workshop_id)
        acks: list[Any] = [None] * len(phones)

        def vote_(i: int) -> None:
            acks[i] = phones[i].sio.call("poll:vote", ballots[i], timeout=90)

        started = time.monotonic()
        threads = [threading.Thread(target=vote_, args=(i,)) for i in range(len(phones))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(100)
        waited = time.monotonic() - started
        assert waited >= 2, f"refused after {waited:.1f} s, before the busy timeout"
        for ack in acks:  # alone or in a batch, each one refused
            refused_clearly(ack, "database is busy")
        holder.execute("ROLLBACK")
        holder.close()
        assert unwritten(store, workshop_id) == before
        assert store.scalar("SELECT COUNT(*) FROM ballots") == 0

        for phone, ballot in zip(phones, ballots, strict=True):
            ack = phone.sio.call("poll:vote", ballot, timeout=30)
            assert ack["ok"] and ack["choice"] == "yes", ack
        outcome = console.send("poll:close", {"poll_id": poll["id"]})["round"]["outcome"]
        assert outcome["turnout"] == len(phones)
        assert store.problems() == []
        print(f"\nlocked: {len(phones)} votes refused after {waited:.1f}s, then all counted once")
    finally:
        for client in clients:
            client.close()
        store.close()
        server.stop()
