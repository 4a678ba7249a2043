#!/usr/bin/env python3
"""Set up and run Facilitator with nothing but Python 3.11+ installed.

    python3 dev.py demo     create .venv, install, prepare the database, run the demo
    python3 dev.py test     create .venv, install with test tools, check the code (ruff, the
                            import layers) and run every test
    python3 dev.py bench S  run benchmark scenario S (see bench/README.md)
    python3 dev.py i18n     extract the texts to translate and merge them into each
                            language's catalogue (facilitator/translations)
    python3 dev.py audit    check the installed dependencies for known vulnerabilities
                            (--strict: also fail when some could not be checked)

Only the standard library is used here. Extra arguments go to the command run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def say(text: str) -> None:
    print(f"[dev] {text}", flush=True)


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project, again only when pyproject.toml changed."""
    if sys.version_info < (3, 11):
        sys.exit("Facilitator needs Python 3.11 or newer.")
    if not PYTHON.exists():
        say(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / ".installed"
    if stamp.exists() and stamp.read_text() == digest:
        return
    say("installing Facilitator and its dependencies (again only when pyproject.toml changes)")
    target = f".[{extras}]" if extras else "."
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", target],
        cwd=ROOT,
        check=True,
    )
    stamp.write_text(digest)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def ensure_chromium() -> None:
    """Install Debian's chromium for the browser tests when missing and possible."""
    ensure_package("chromium", chromium_path, "the browser tests")


def nginx_path() -> str | None:
    sbin = "/usr/sbin/nginx"  # Debian's nginx lives outside a normal user's PATH
    return shutil.which("nginx") or (sbin if os.path.exists(sbin) else None)


def ensure_nginx() -> None:
    """Install Debian's nginx for the proxy test when missing and possible."""
    ensure_package("nginx-light", nginx_path, "the proxy test")


def ensure_poppler() -> None:
    """Install Debian's poppler-utils (pdftoppm) to compare PDF pages as pictures."""
    ensure_package("poppler-utils", lambda: shutil.which("pdftoppm"), "the PDF picture tests")


def ensure_package(package: str, found, purpose: str) -> None:
    if found():
        return
    apt = shutil.which("apt-get")
    if not apt:
        say(f"{package} not found and apt-get unavailable: {purpose} will be skipped")
        return
    prefix = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if prefix is None:
        say(f"{package} not found and no root: {purpose} will be skipped")
        return
    say(f"installing {package} for {purpose}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    update = subprocess.run([*prefix, apt, "update", "-qq"], env=env, check=False)
    install = subprocess.run(
        [*prefix, apt, "install", "-y", "-qq", "--no-install-recommends", package],
        env=env, check=False,
    )
    if update.returncode or install.returncode or not found():
        say(f"could not install {package}: {purpose} will be skipped")


def audit(rest: list[str]) -> int:
    """pip-audit of the installed environment: fails on a known vulnerability.

    The vulnerability service may not know every package (a private mirror, no
    network): those are listed as not audited, which fails only with --strict.
    """
    strict = "--strict" in rest
    extra = [arg for arg in rest if arg != "--strict"]
    command = [str(PYTHON), "-m", "pip_audit", "--local", "--skip-editable", "--format", "json",
               "--progress-spinner", "off", "--desc", "off", *extra]
    say("auditing the installed dependencies with pip-audit")
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        say("NOT AUDITED: pip-audit did not finish within 15 minutes")
        return 1 if strict else 0
    try:
        report = json.loads(done.stdout)
        dependencies = report["dependencies"]
    except (ValueError, KeyError, TypeError):
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        say(f"NOT AUDITED: pip-audit could not query a vulnerability service:\n{tail}")
        return 1 if strict else 0
    # The project itself is installed too, and is on no index.
    dependencies = [d for d in dependencies if d.get("name") != "facilitator"]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            say(f"VULNERABLE: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    if skipped:
        names = ", ".join(f"{d['name']}" for d in skipped)
        say(f"NOT AUDITED: {len(skipped)} of {len(dependencies)} packages, which the "
            f"vulnerability service could not answer for ({names}). Nothing is known about "
            "them; run the audit where the service is reachable (or pass -s osv).")
    if vulnerable:
        say(f"{len(vulnerable)} of {audited} audited packages have known vulnerabilities")
        return 1
    if audited:
        say(f"{audited} of {len(dependencies)} packages audited: no known vulnerabilities")
    else:
        say("no package could be audited here, so none is known to be vulnerable or safe")
    return 1 if strict and skipped else 0


def i18n() -> int:
    """Extract every marked text into messages.pot, then merge it into each catalogue."""
    folder = ROOT / "facilitator" / "translations"
    template = folder / "messages.pot"
    babel = [str(PYTHON), "-m", "babel.messages.frontend"]
    extract = [str(PYTHON), "-c", "import sys; from pathlib import Path; "
               "from facilitator.core.i18n import extract; extract(Path(sys.argv[1]))",
               str(template)]
    if subprocess.call(extract, cwd=ROOT):
        return 1
    for lang in ("fr", "ur"):
        po = folder / lang / "LC_MESSAGES" / "messages.po"
        step = "update" if po.exists() else "init"
        # Lines of up to 100 characters, as the extraction writes messages.pot.
        merge = [*babel, step, "-i", str(template), "-d", str(folder), "-l", lang, "-w", "100"]
        if step == "update":
            merge += ["--no-fuzzy-matching", "--ignore-obsolete"]
        if subprocess.call(merge, cwd=ROOT):
            return 1
    return 0


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    rest = sys.argv[2:]
    os.chdir(ROOT)
    if command == "demo":
        ensure_venv("")
        return subprocess.call([str(BIN / "facilitator"), "demo", *rest])
    if command == "serve":
        ensure_venv("")
        return subprocess.call([str(BIN / "facilitator"), "serve", *rest])
    if command == "test":
        ensure_venv("test")
        ensure_chromium()
        ensure_nginx()
        ensure_poppler()
        lint = subprocess.call([str(PYTHON), "-m", "ruff", "check", "."])
        # The layer rule of docs/architecture.md (contracts in pyproject.toml).
        layers = subprocess.call([str(BIN / "lint-imports"), "--no-cache"])
        tests = subprocess.call([str(PYTHON), "-m", "pytest", *rest])
        return tests or lint or layers
    if command == "bench":
        ensure_venv("test")
        return subprocess.call([str(PYTHON), "-m", "bench", *rest])
    if command == "audit":
        ensure_venv("test")
        return audit(rest)
    if command == "i18n":
        ensure_venv("test")
        return i18n()
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main())
