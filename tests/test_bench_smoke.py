"""The benchmark harness runs end to end and prints sane figures (not a performance test)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 50


@pytest.mark.server
def test_bench_stage_prints_figures() -> None:
    args = "stage --json --clients 5 --rounds 3 --repeat 1".split()
    cmd = [sys.executable, "-m", "bench", *args]
    with subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            # SIGTERM lets the bench stop its servers and clients; then make sure.
            proc.terminate()
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
            pytest.fail(f"bench did not finish in {TIMEOUT}s:\n{err[-3000:]}")
    assert proc.returncode == 0, err[-3000:]

    result = json.loads(out)
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
