"""``python3 dev.py audit``: fails on a known vulnerability, says clearly (without
failing, unless --strict) which packages the vulnerability service could not answer
for. The real pip-audit runs in CI (.ci/run); here a stand-in ``pip_audit`` module on
PYTHONPATH gives each kind of answer, and dev.py is run as CI runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from facilitator.core.config import PROJECT_ROOT

DEV = PROJECT_ROOT / "dev.py"

OK = {"name": "flask", "version": "3.1.3", "vulns": []}
SKIPPED = {
    "name": "weasyprint",
    "skip_reason": "Dependency not found on PyPI and could not be audited: weasyprint (68.1)",
}
VULNERABLE = {
    "name": "jinja2",
    "version": "3.1.2",
    "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": []}],
}
SELF = {"name": "facilitator", "skip_reason": "Dependency not found on PyPI"}


def run_audit(tmp_path: Path, stdout: str, code: int, *args: str) -> subprocess.CompletedProcess:
    fake = tmp_path / "pip_audit"
    fake.mkdir(exist_ok=True)
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text(
        "import sys\n"
        f"sys.stdout.write({stdout!r})\n"
        "sys.stderr.write('ConnectionError: the service did not answer\\n')\n"
        f"sys.exit({code})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run(
        [sys.executable, str(DEV), "audit", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def report(*deps: dict) -> str:
    return json.dumps({"dependencies": list(deps), "fixes": []})


def test_a_known_vulnerability_fails_the_audit_and_names_the_fix(tmp_path) -> None:
    done = run_audit(tmp_path, report(OK, VULNERABLE, SKIPPED), 1)
    assert done.returncode == 1, done.stdout
    assert "VULNERABLE: jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in done.stdout


def test_packages_the_service_cannot_answer_for_are_listed_without_failing(tmp_path) -> None:
    done = run_audit(tmp_path, report(OK, SKIPPED, SELF), 0)
    assert done.returncode == 0, done.stdout
    assert "NOT AUDITED: 1 of 2 packages" in done.stdout and "(weasyprint)" in done.stdout
    assert "1 of 2 packages audited: no known vulnerabilities" in done.stdout
    assert run_audit(tmp_path, report(OK, SKIPPED), 0, "--strict").returncode == 1


def test_a_service_that_does_not_answer_at_all_is_reported_without_failing(tmp_path) -> None:
    done = run_audit(tmp_path, "", 1)
    assert done.returncode == 0
    assert "NOT AUDITED: pip-audit could not query a vulnerability service" in done.stdout
    assert "the service did not answer" in done.stdout
    assert run_audit(tmp_path, "", 1, "--strict").returncode == 1


@pytest.mark.parametrize("deps", [(OK,), ()])
def test_a_clean_audit_passes(tmp_path, deps) -> None:
    assert run_audit(tmp_path, report(*deps), 0).returncode == 0
