"""Facilitator accounts: creation and password checks."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from functools import cache

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from facilitator.core.db import Base, utcnow
from facilitator.core.errors import CONFLICT, INVALID, DomainError

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 200
#: scrypt, werkzeug's modern default, spelled out so it never silently weakens.
HASH_METHOD = "scrypt"


class User(Base):
    """A facilitator who can create and run workshops."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(
            INVALID,
            "The password must have at least {min} characters.",
            values={"min": MIN_PASSWORD},
        )
    if len(password) > MAX_PASSWORD:
        raise DomainError(
            INVALID,
            "The password must have at most {max} characters.",
            values={"max": MAX_PASSWORD},
        )


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise DomainError(
            INVALID,
            "The username must be 2 to 40 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit.",
        )
    return name


def create_user(
    session: Session, username: str, password: str, display_name: str | None = None
) -> User:
    name = normalise_username(username)
    _check_password(password)
    if session.scalar(select(User).where(User.username == name)) is not None:
        raise DomainError(
            CONFLICT,
            "A facilitator named {name} already exists.",
            values={"name": repr(name)},
        )
    shown = (display_name or name).strip()[:80] or name
    user = User(
        username=name,
        display_name=shown,
        password_hash=generate_password_hash(password, method=HASH_METHOD),
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    _check_password(password)
    user.password_hash = generate_password_hash(password, method=HASH_METHOD)
    session.flush()


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(8), method=HASH_METHOD)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user with these credentials, or None. Takes the same time either way."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        # Hash anyway so a missing user is not revealed by a faster answer.
        check_password_hash(_dummy_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None
