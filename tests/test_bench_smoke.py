"""The benchmark harness runs end to end and prints sane figures (not a performance test)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import require_services

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 50
REDIS = "redis://127.0.0.1:6379/0"


def run_bench(args: str, timeout: float = TIMEOUT) -> dict:
    """Run ``python -m bench <args>`` and return the JSON it prints."""
    cmd = [sys.executable, "-m", "bench", *args.split()]
    with subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # SIGTERM lets the bench stop its servers and clients; then make sure.
            proc.terminate()
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
            pytest.fail(f"bench did not finish in {timeout:.0f}s:\n{err[-3000:]}")
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out)


@pytest.mark.server
def test_bench_stage_prints_figures() -> None:
    result = run_bench("stage --json --clients 5 --rounds 3 --repeat 1")
    assert result["scenario"] == "stage"
    assert result["async_mode"] == "eventlet"
    assert result["rounds"] == 3
    [row] = result["results"]
    assert row["clients"] == 5
    for prefix in ("", "baseline_"):
        p50, p99, last = row[f"{prefix}p50_ms"], row[f"{prefix}p99_ms"], row[f"{prefix}last_ms"]
        assert 0 < p50 <= p99 < 10_000, row
        assert 0 < last <= row[f"{prefix}max_ms"], row
        assert row[f"{prefix}missing"] == 0, row
        assert row[f"{prefix}seq_gaps"] == 0, row
        assert row[f"{prefix}samples"] == 5 * 3, row
    assert row["ratio_p99"] > 0
    assert row["ratio_p99"] == pytest.approx(row["p99_ms"] / row["baseline_p99_ms"], rel=0.02)
    assert row["seq_ok"] is True


@pytest.mark.server
def test_bench_board_prints_figures() -> None:
    result = run_bench(
        "board --json --clients 5 --draggers 2 --drag-seconds 1 --resync-notes 30 --reconnects 3"
        " --repeat 1"
    )
    assert result["scenario"] == "board"
    assert (result["clients"], result["draggers"], result["repeat"]) == (5, 2, 1)
    # Two draggers, at most 20 updates/s each for 1 s; each acked as passed on or dropped.
    sent = result["updates_sent"]
    assert 2 <= sent <= 44, result
    assert result["updates_accepted"] + result["updates_dropped_by_server"] == sent, result
    assert result["updates_failed"] == result["updates_unacked"] == 0, result
    for prefix in ("projector", "phone", "lone_phone", "drop_projector", "drop_phone"):
        p50, p99 = result[f"{prefix}_p50_ms"], result[f"{prefix}_p99_ms"]
        assert 0 < p50 <= p99 < 10_000, (prefix, result)
    assert result["phone_p50_ms"] <= result["phone_last_ms"] <= result["phone_max_ms"], result
    # Every update the server passed on reached every screen, and no dropped one did.
    assert result["projector_lost"] == result["phone_lost"] == 0, result
    assert result["unexpected_arrivals"] == 0, result
    assert result["drops"] == 2 and result["drop_lost"] == 0, result
    assert result["connect_failed"] == result["disconnects"] == 0, result
    assert result["server_cpu_pct"] > 0 and result["server_rss_mb"] > 0, result
    assert result["resync_notes"] == 30 and 0 < result["resync_ms"] < 10_000, result
    assert result["resync_500_notes_ms"] is None  # only at 500 notes
    # The console sees who wrote what; the projector (authors hidden by the kit) less.
    assert result["snapshot_bytes_console"] > result["snapshot_bytes_projector"] > 1000, result
    assert result["snapshot_bytes"] > 1000, result
    assert set(result["goals_met"]) == {"projector_p99_ms", "phone_p99_ms", "resync_500_notes_ms"}


@pytest.mark.server
def test_bench_vote_storm_counts_exactly() -> None:
    # Six phones: one resends its action id, two reconnect (one of them loses its
    # first ack and resends), one changes its ballot, one blocks with a reason.
    result = run_bench("vote_storm --json --clients 6 --repeat 1 --reconnects 0.34")
    assert result["scenario"] == "vote_storm"
    assert (result["clients"], result["repeat"]) == (6, 1)
    for key in ("voters", "ack_p50_ms", "ack_p99_ms", "final_tally_ms", "messages_sent"):
        assert key in result, key
    assert result["voters"] == 6 and result["screens"] == 8, result
    assert result["tally_exact"] is True, result["problems"]
    assert result["acks_exact"] is True and result["reasons_exact"] is True, result["problems"]
    assert sum(result["expected_counts"].values()) == 6, result
    assert result["closed_counts"] == result["expected_counts"], result
    assert (result["duplicates"], result["reconnects"], result["changers"]) == (1, 2, 1), result
    assert result["duplicate_sends"] == 1 and result["blocks"] == 1, result
    assert result["votes_failed"] == result["votes_unacked"] == 0, result
    assert 0 < result["ack_p50_ms"] <= result["ack_p99_ms"] < 10_000, result
    assert 0 <= result["final_tally_ms"] < 10_000 and result["close_last_ms"] > 0, result
    # At least one poll:count per screen, plus the acks.
    assert result["count_messages"] >= 8 and result["messages_sent"] > result["count_messages"]
    assert result["server_cpu_pct"] > 0 and result["server_rss_mb"] > 0, result
    assert result["connect_failed"] == result["disconnects"] == 0, result
    assert set(result["goals_met"]) == {"ack_p99_ms", "final_tally_ms"}


@pytest.mark.server
def test_bench_pdf_prints_figures() -> None:
    # A tiny plan, rendered once by the worker and once by a live server under pings.
    result = run_bench(
        "pdf --json --sizes 3 --stakeholders 2 --decisions 1 --stall-actions 3"
        " --stall-stakeholders 2 --stall-decisions 1 --idle-seconds 0.3 --repeat 1"
    )
    assert result["scenario"] == "pdf" and result["repeat"] == 1
    [row] = result["results"]
    assert row["actions"] == 3, row
    assert 0 < row["cpu_seconds"] and 0 < row["seconds"] < 60, row
    assert 20 < row["peak_rss_mb"] < 2000, row
    assert row["pages"] >= 1 and row["bytes"] > 1000, row
    # The same plan in one process, right after: the speed-up of laying out in parts.
    assert 0 < row["one_process_seconds"] < 60 and row["speedup"] > 0, row
    for suffix in ("idle", "during_render", "after", "control"):
        p50, p99 = result[f"ping_p50_ms_{suffix}"], result[f"ping_p99_ms_{suffix}"]
        assert 0 < p50 <= p99 <= result[f"ping_max_ms_{suffix}"] < 10_000, (suffix, result)
        assert result[f"pings_{suffix}"] > 5, (suffix, result)
    assert result["pings_unanswered"] == 0 and result["pinger_disconnects"] == 0, result
    assert result["stall_actions"] == 3 and result["server_errors"] == 0, result
    assert 0 < result["server_render_seconds"] < 60, result
    assert result["server_pdf_bytes"] > 1000 and result["server_pdf_requests"] >= 1, result
    assert set(result["goals_met"]) == {
        "seconds_100",
        "peak_rss_mb_100",
        "ping_p99_ms_during_render",
    }
    assert result["goals_met"]["seconds_100"] is None  # no 100-action plan here
    # The machine's speed at the start and the end, for comparing runs of other days.
    assert 0 < result["cpu_reference_ms_start"] < 60_000, result
    assert 0 < result["cpu_reference_ms_end"] < 60_000, result


@pytest.mark.server
def test_bench_scale_prints_figures() -> None:
    # The scenario starts a redis-server of its own, or uses the one given; PostgreSQL
    # if it answers, else SQLite.
    redis = ""
    if shutil.which("redis-server") is None:
        import redis as client

        try:
            client.Redis.from_url(REDIS, socket_timeout=3).ping()
            redis = f" --redis {REDIS}"
        except Exception as exc:  # any failure to answer means: not here
            reason = f"the scale scenario needs redis-server or Redis at {REDIS}: {exc}"
            if require_services():
                pytest.fail(f"{reason} (FACILITATOR_REQUIRE_SERVICES=1)", pytrace=False)
            pytest.skip(reason)
    # One and two processes, four phones each, three timed stage changes.
    result = run_bench(
        "scale --json --processes 1,2 --clients 4 --room 4 --rounds 3 --warmup 1 --repeat 1"
        " --workers 1" + redis,
        timeout=150,
    )
    assert result["scenario"] == "scale" and result["database"] in ("postgresql", "sqlite")
    rows = {(r["processes"], r["clients"]): r for r in result["results"]}
    assert set(rows) == {(1, 4), (2, 4)}, result["results"]
    for (processes, _clients), row in rows.items():
        assert 0 < row["p50_ms"] <= row["p99_ms"] < 10_000, row
        assert row["missing"] == row["seq_gaps"] == row["connect_failed"] == 0, row
        assert row["samples"] == 4 * 3 and row["server_errors"] == 0, row
        assert len(row["servers_cpu_pct"]) == processes, row
        assert row["redis_cpu_pct"] is not None and row["clients_cpu_pct"] is not None, row
    assert set(result["largest_room_p99_200ms"]) == {"1", "2"}
    assert result["speedup_1_to_2"] == pytest.approx(
        rows[1, 4]["p99_ms"] / rows[2, 4]["p99_ms"], rel=0.02
    )
    assert result["cpus"] == os.cpu_count() and all(r["loadavg"] >= 0 for r in rows.values())
