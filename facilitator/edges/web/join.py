"""Joining from a phone: type a code or open /j/<code>, give name, organisation, sector."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from sqlalchemy import select

from facilitator.actions.pipeline import perform
from facilitator.actions.spec import Caller
from facilitator.core import i18n, protocol
from facilitator.core.db import db
from facilitator.core.i18n import _
from facilitator.core.limits import client_address, http_limits, minutes
from facilitator.core.text import strip_bidi_controls
from facilitator.domain import organisations
from facilitator.domain.workshops import (
    CLOSED_STATUS,
    DRAFT,
    NAME_MAX,
    ORGANISATION_MAX,
    SECTOR_MAX,
    Participant,
    Workshop,
    find_open_by_code,
    normalise_code,
)
from facilitator.edges import identity

bp = Blueprint("join", __name__)
OTHER = "__other__"


@bp.route("/")
def home() -> Any:
    return render_template("home.html", error=None, code="")


def _wait_for_codes() -> int:
    """Seconds this address must wait before trying another code (0: it may now)."""
    return http_limits().join.retry_after(client_address())


def _wrong_code() -> None:
    http_limits().join.fail(client_address())


def _too_many_codes(wait: int) -> Any:
    """Join codes cannot be guessed: after too many wrong ones, no more tries for a while."""
    page = render_template(
        "message.html",
        title=_("Too many wrong codes"),
        message=_(
            "Too many wrong join codes came from this network address. Wait {wait} and try "
            "again, or scan the QR code on the screen.",
            wait=minutes(wait),
        ),
    )
    return page, 429, {"Retry-After": str(wait)}


@bp.route("/join", methods=["GET", "POST"])
def enter_code() -> Any:
    raw = request.values.get("code", "")[:40]
    if not raw:
        return render_template("home.html", error=None, code="")
    wait = _wait_for_codes()
    if wait:
        return _too_many_codes(wait)
    with db.reader() as s:
        workshop = find_open_by_code(s, raw)
    if workshop is None:
        _wrong_code()
        return render_template("home.html", error=_unknown_code_message(raw), code=raw), 404
    return redirect(url_for("join.workshop", code=workshop.code))


def _unknown_code_message(raw: str) -> str:
    code = normalise_code(raw)
    with db.reader() as s:
        ended = s.scalar(
            select(Workshop.id).where(Workshop.code == code, Workshop.status == CLOSED_STATUS)
        )
    if ended is not None:
        return _(
            "The workshop with code {code} has ended; it no longer takes participants.", code=code
        )
    return _(
        "No open workshop has the code {code}. Check the code on the screen: "
        "it has 6 letters and digits.",
        code=code or raw.strip(),
    )


def _form_context(workshop: Workshop, **extra: Any) -> dict[str, Any]:
    with db.reader() as s:
        # Every name that finds an organisation: a phone's keyboard offers them as it types.
        names = sorted(
            {n for o in organisations.of_workshop(s, workshop.id) for n in o.names()},
            key=str.casefold,
        )
    return {
        "workshop": workshop,
        "organisation_names": names,
        "sectors": workshop.sectors,
        "other": OTHER,
        "limits": {"name": NAME_MAX, "organisation": ORGANISATION_MAX, "sector": SECTOR_MAX},
        "action_id": secrets.token_urlsafe(16),
        "form": {},
        "error": None,
        **extra,
    }


@bp.route("/j/<code>", methods=["GET", "POST"])
def workshop(code: str) -> Any:
    wait = _wait_for_codes()
    with db.reader() as s:
        found = find_open_by_code(s, code)
        i18n.page_language(found.language if found else None)
        # While an address waits, only a phone that already joined this workshop
        # (its cookie says so) gets past: that tells a guesser nothing.
        if wait and (found is None or identity.participant_id(session, found.id) is None):
            return _too_many_codes(wait)
        if found is None:
            _wrong_code()
            return render_template(
                "message.html", title=_("Workshop not found"), message=_unknown_code_message(code)
            ), 404
        if found.status == DRAFT:
            return render_template(
                "message.html",
                title=_("Not started yet"),
                message=_(
                    "“{title}” has not started yet. Try again when the facilitator opens it.",
                    title=found.title,
                ),
            ), 409
        pid = identity.participant_id(session, found.id)
        participant = s.get(Participant, pid) if pid is not None else None
    if participant is not None and participant.workshop_id == found.id:
        if participant.removed_at is not None:
            return render_template(
                "message.html",
                title=_("Removed"),
                message=_("The facilitator removed you from this workshop."),
            ), 403
        return render_template("phone.html", workshop=found, participant=participant)
    if request.method == "GET":
        return render_template("join_form.html", **_form_context(found))
    return _join(found)


def _join(workshop: Workshop) -> Any:
    form = {
        k: strip_bidi_controls(request.form.get(k, "")[:400])
        for k in ("name", "organisation", "sector", "email")
    }
    sector = form["sector"]
    if sector == OTHER:
        sector = request.form.get("sector_other", "")[:400]
    caller = Caller("visitor", workshop.id, visitor_id=identity.visitor_id(session))
    ack = perform(
        caller,
        protocol.PARTICIPANT_JOIN,
        {
            "action_id": request.form.get("action_id", "")[:64],
            "name": form["name"],
            "organisation": form["organisation"],
            "sector": sector,
            "email": form["email"],
        },
    )
    if not ack["ok"]:
        context = _form_context(workshop, form=form, error=i18n.error_text(ack["error"]))
        return render_template("join_form.html", **context), 400
    identity.remember_participant(session, workshop.id, ack["participant"]["id"])
    return redirect(url_for("join.workshop", code=workshop.code))
