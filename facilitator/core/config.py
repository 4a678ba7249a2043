"""Configuration from environment variables, with safe defaults for a laptop."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from facilitator.core.runtime import async_mode_from_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]
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


def _log_level(value: str | None) -> str:
    level = (value or "INFO").strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SystemExit(
            f"FACILITATOR_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {value!r}"
        )
    return level


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


def _number(name: str, default: float, *, integer: bool = False, minimum: float = 0) -> float:
    """A number from ``FACILITATOR_<name>``, at least ``minimum``."""
    value = os.environ.get(f"FACILITATOR_{name}")
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise SystemExit(f"FACILITATOR_{name} must be {kind}, not {value!r}") from None
    if number < minimum or number != number:  # NaN
        raise SystemExit(f"FACILITATOR_{name} must be at least {minimum}, not {value!r}")
    return number


def _count(name: str, default: int, minimum: int = 1) -> int:
    return int(_number(name, default, integer=True, minimum=minimum))


def check_origins(value: object) -> list[str] | None:
    """The Socket.IO allowed origins, normalised; None means "this server's own".

    Each must be ``scheme://host[:port]``. A wildcard is refused: any web site could
    then open sockets with the session cookie of whoever visits it.
    """
    if value is None or value == "" or value == []:
        return None
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise SystemExit("ALLOWED_ORIGINS must be a list of origins such as https://example.org")
    origins = []
    for item in items:
        text = str(item).strip()
        if "*" in text:
            raise SystemExit(
                f"FACILITATOR_ALLOWED_ORIGINS may not contain a wildcard ({text!r}): any web "
                "site could then use a visitor's session. List the origins the screens are "
                "served from, such as https://plans.example.org, or leave it unset for this "
                "server's own origin."
            )
        parts = urlsplit(text)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username
            or parts.password
        ):
            raise SystemExit(
                f"FACILITATOR_ALLOWED_ORIGINS: {text!r} is not an origin; write "
                "scheme://host or scheme://host:port, such as https://plans.example.org"
            )
        default_port = {"http": 80, "https": 443}[parts.scheme]
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        port = f":{parts.port}" if parts.port and parts.port != default_port else ""
        origins.append(f"{parts.scheme}://{host}{port}")
    return origins


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
        # SQLite: how long a write waits for another program's lock (a backup, a
        # second server on the same file) before it is refused as "database is busy".
        "SQLITE_BUSY_SECONDS": _number("SQLITE_BUSY_SECONDS", 10, minimum=0.1),
        "MESSAGE_QUEUE": os.environ.get("FACILITATOR_MESSAGE_QUEUE") or None,
        # Its channel; unset: one named after the database (one per installation).
        "MESSAGE_CHANNEL": os.environ.get("FACILITATOR_MESSAGE_CHANNEL") or None,
        # DEBUG logs one line per action (workshop, event, duration); INFO by default.
        "LOG_LEVEL": _log_level(os.environ.get("FACILITATOR_LOG_LEVEL")),
        "HOST": os.environ.get("FACILITATOR_HOST", "0.0.0.0"),  # noqa: S104 - phones on the LAN
        "PORT": _port(os.environ.get("FACILITATOR_PORT")),
        "PUBLIC_URL": os.environ.get("FACILITATOR_PUBLIC_URL") or None,
        # Socket.IO origins (comma or space separated); unset: this server's own.
        "ALLOWED_ORIGINS": check_origins(os.environ.get("FACILITATOR_ALLOWED_ORIGINS")),
        # Proxies in front that set X-Forwarded-For and -Proto (nginx: 1). Only then are
        # those headers believed; otherwise anyone could claim any address.
        "TRUSTED_PROXIES": _count("TRUSTED_PROXIES", 0, minimum=0),
        # Socket events a second, and at once, per connection and per participant (all
        # their devices); far above what people do (a note dragged sends 20 a second)
        # and above the benchmark's pinging phone (one sync:request every 15 ms).
        "EVENT_RATE": _number("EVENT_RATE", 100, minimum=0.1),
        "EVENT_BURST": _number("EVENT_BURST", 300, minimum=1),
        "PARTICIPANT_EVENT_RATE": _number("PARTICIPANT_EVENT_RATE", 120, minimum=0.1),
        "PARTICIPANT_EVENT_BURST": _number("PARTICIPANT_EVENT_BURST", 360, minimum=1),
        # A connection refused this many times within about 10 s is disconnected.
        "EVENT_DISCONNECT_AFTER": _number("EVENT_DISCONNECT_AFTER", 100, minimum=1),
        # Wrong join codes per address, and failed log-ins per address and per account,
        # within the window (seconds); then every attempt is refused until it passes.
        "JOIN_FAILURES_PER_ADDRESS": _count("JOIN_FAILURES_PER_ADDRESS", 30),
        "JOIN_WINDOW": _number("JOIN_WINDOW", 600, minimum=1),
        "LOGIN_FAILURES_PER_ADDRESS": _count("LOGIN_FAILURES_PER_ADDRESS", 10),
        "LOGIN_FAILURES_PER_ACCOUNT": _count("LOGIN_FAILURES_PER_ACCOUNT", 20),
        "LOGIN_WINDOW": _number("LOGIN_WINDOW", 900, minimum=1),
        "KITS_PATH": str(PROJECT_ROOT / "workshop_kits"),
        # The PDF render service: started warm with the server (0: on first PDF), and
        # the limits of one render (CPU seconds; memory beyond the warm service's).
        "PDF_PREWARM": _count("PDF_PREWARM", 1, minimum=0) > 0,
        "PDF_RENDER_SECONDS": _count("PDF_RENDER_SECONDS", 120),
        "PDF_RENDER_MEMORY_MB": _count("PDF_RENDER_MEMORY_MB", 1024, minimum=64),
        # Processes laying out one PDF (0: one per core, up to two).
        "PDF_PROCESSES": _count("PDF_PROCESSES", 0, minimum=0),
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
