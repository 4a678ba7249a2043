"""Configuration from environment variables, with safe defaults for a laptop."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .runtime import async_mode_from_env

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 5000


def default_instance_path() -> Path:
    return Path(os.environ.get("FACILITATOR_INSTANCE_PATH", PROJECT_ROOT / "instance")).resolve()


def load_or_create_secret(instance_path: Path) -> str:
    """The secret key kept in the instance folder, generated on first use."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        key = key_file.read_text().strip()
        if len(key) >= 32:
            return key
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def _port(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_PORT
    try:
        port = int(value)
    except ValueError:
        raise SystemExit(f"FACILITATOR_PORT must be a number, not {value!r}") from None
    if not 0 < port < 65536:
        raise SystemExit(f"FACILITATOR_PORT must be between 1 and 65535, not {port}")
    return port


def _smtp_security(value: str | None) -> str:
    security = (value or "none").strip().lower()
    if security not in ("none", "starttls", "ssl"):
        raise SystemExit(f"FACILITATOR_SMTP_SECURITY must be none, starttls or ssl, not {value!r}")
    return security


def _smtp_port(value: str | None) -> int:
    if not value:
        return 25
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"FACILITATOR_SMTP_PORT must be a number, not {value!r}") from None


def from_env(instance_path: Path | None = None) -> dict[str, object]:
    """Build the Flask config mapping from the environment."""
    instance = instance_path or default_instance_path()
    db_url = os.environ.get("FACILITATOR_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not db_url:
        instance.mkdir(parents=True, exist_ok=True)
        db_url = f"sqlite:///{instance / 'facilitator.sqlite3'}"
    secret = os.environ.get("FACILITATOR_SECRET_KEY") or load_or_create_secret(instance)
    return {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": db_url,
        "SECRET_KEY": secret,
        "ASYNC_MODE": async_mode_from_env(),
        "MESSAGE_QUEUE": os.environ.get("FACILITATOR_MESSAGE_QUEUE") or None,
        "HOST": os.environ.get("FACILITATOR_HOST", "0.0.0.0"),  # noqa: S104 - phones on the LAN
        "PORT": _port(os.environ.get("FACILITATOR_PORT")),
        "PUBLIC_URL": os.environ.get("FACILITATOR_PUBLIC_URL") or None,
        "KITS_PATH": str(PROJECT_ROOT / "workshop_kits"),
        # Optional e-mail of the signed plan; nothing is sent without a host.
        "SMTP_HOST": os.environ.get("FACILITATOR_SMTP_HOST") or None,
        "SMTP_PORT": _smtp_port(os.environ.get("FACILITATOR_SMTP_PORT")),
        "SMTP_USERNAME": os.environ.get("FACILITATOR_SMTP_USERNAME") or "",
        "SMTP_PASSWORD": os.environ.get("FACILITATOR_SMTP_PASSWORD") or "",
        "SMTP_SECURITY": _smtp_security(os.environ.get("FACILITATOR_SMTP_SECURITY")),
        "MAIL_FROM": os.environ.get("FACILITATOR_MAIL_FROM") or "facilitator@localhost",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "facilitator_session",
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 30,
    }
