"""Benchmark harness: figures, not pass/fail tests. Run ``python -m bench --help``."""
