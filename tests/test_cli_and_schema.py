"""The command line and the migrations, run as a user would, on their own instance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from facilitator.core.migrate import current, upgrade
from facilitator.models import metadata

FACILITATOR = Path(sys.executable).parent / "facilitator"


def run(instance: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env["FACILITATOR_INSTANCE_PATH"] = str(instance)
    return subprocess.run(
        [str(FACILITATOR), *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["demo"],
        ["db", "upgrade"],
        ["users", "create"],
        ["kits", "validate"],
        ["export"],
    ],
)
def test_every_command_has_help(tmp_path, command):
    result = run(tmp_path, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: facilitator" in result.stdout


def test_db_upgrade_creates_the_schema_and_a_secret_in_the_instance_folder(tmp_path):
    result = run(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "Database is up to date" in result.stdout
    assert (tmp_path / "facilitator.sqlite3").exists()
    secret = tmp_path / "secret_key"
    assert len(secret.read_text().strip()) == 64
    assert secret.stat().st_mode & 0o077 == 0
    again = run(tmp_path, "db", "upgrade")
    assert again.returncode == 0
    assert secret.read_text() == (tmp_path / "secret_key").read_text()


def test_users_create_hashes_the_password_and_refuses_duplicates(tmp_path):
    made = run(tmp_path, "users", "create", "Amina", "--password", "-", stdin="a long password\n")
    assert made.returncode == 0, made.stderr
    assert "Created facilitator 'amina'" in made.stdout
    engine = create_engine(f"sqlite:///{tmp_path / 'facilitator.sqlite3'}")
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM users").scalar_one()
    assert stored.startswith("scrypt:") and "a long password" not in stored
    again = run(tmp_path, "users", "create", "amina", "--password", "-", stdin="another password\n")
    assert again.returncode == 1
    assert "already exists" in again.stderr and "Traceback" not in again.stderr


def test_users_create_refuses_a_short_password_or_bad_name(tmp_path):
    short = run(tmp_path, "users", "create", "bob", "--password", "-", stdin="short\n")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    bad = run(tmp_path, "users", "create", "bob smith", "--password", "-", stdin="long enough pw\n")
    assert bad.returncode == 1 and "username" in bad.stderr


def test_a_bad_port_is_a_clear_error(tmp_path):
    env_run = subprocess.run(
        [str(FACILITATOR), "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FACILITATOR_INSTANCE_PATH": str(tmp_path), "FACILITATOR_PORT": "http"},
    )
    assert env_run.returncode != 0
    assert "FACILITATOR_PORT must be a number" in env_run.stderr


def test_a_bad_log_level_is_a_clear_error(tmp_path):
    env = {**os.environ, "FACILITATOR_INSTANCE_PATH": str(tmp_path)}
    bad = subprocess.run(
        [str(FACILITATOR), "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "FACILITATOR_LOG_LEVEL": "loud"},
    )
    assert bad.returncode != 0 and "FACILITATOR_LOG_LEVEL must be DEBUG" in bad.stderr
    assert "'loud'" in bad.stderr


def test_a_bad_async_mode_is_a_clear_error(tmp_path):
    env_run = subprocess.run(
        [str(FACILITATOR), "serve", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "FACILITATOR_INSTANCE_PATH": str(tmp_path),
            "FACILITATOR_ASYNC_MODE": "gevent",
        },
    )
    assert env_run.returncode != 0
    assert "FACILITATOR_ASYNC_MODE must be one of eventlet, threading" in env_run.stderr


def test_migrations_build_exactly_the_models_schema(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    upgrade(engine)
    assert current(engine) is not None
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
