"""Facilitator login and logout."""

from __future__ import annotations

from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for

from facilitator.core.db import db
from facilitator.core.i18n import _
from facilitator.core.limits import client_address, http_limits, minutes
from facilitator.domain.accounts import User, authenticate
from facilitator.edges import identity

bp = Blueprint("auth", __name__)


def login_required(view: Any) -> Any:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if identity.user_id(session) is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped


def current_user() -> User | None:
    uid = identity.user_id(session)
    if uid is None:
        return None
    with db.reader() as s:
        return s.get(User, uid)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a login to another host."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("workshops.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        username = request.form.get("username", "")[:80]
        password = request.form.get("password", "")[:200]
        # Passwords cannot be guessed: a few failures per address and per account,
        # then every attempt waits (the right password too).
        limits = http_limits()
        address, account = client_address(), username.strip().lower()
        wait = max(
            limits.login_address.retry_after(address),
            limits.login_account.retry_after(account),
        )
        if wait:
            error = _("Too many failed log-ins. Wait {wait} and try again.", wait=minutes(wait))
            page = render_template("login.html", error=error)
            return page, 429, {"Retry-After": str(wait)}
        with db.reader() as s:
            user = authenticate(s, username, password)
            user_id = user.id if user else None
        if user_id is None:
            limits.login_address.fail(address)
            limits.login_account.fail(account)
        else:
            keep = {k: session[k] for k in ("participants", "visitor") if k in session}
            session.clear()
            session.update(keep)
            session["user_id"] = user_id
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        error = _("Unknown username or wrong password.")
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    session.pop("user_id", None)
    return redirect(url_for("auth.login"))
