"""The facilitator's pages: workshop list and creation, console, projector, QR code."""

from __future__ import annotations

import io
from typing import Any

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from facilitator.core import i18n
from facilitator.core.db import db
from facilitator.core.errors import DomainError
from facilitator.core.i18n import _
from facilitator.domain import tally
from facilitator.domain.kits import KitError
from facilitator.domain.seeding import create_workshop, duplicate_workshop
from facilitator.domain.workshops import CLOSED_STATUS, DRAFT, LIVE, Workshop, archive_workshop
from facilitator.edges import identity
from facilitator.edges.web.auth import current_user, login_required
from facilitator.edges.web.urls import join_url, projector_url

bp = Blueprint("workshops", __name__)


def _kits() -> Any:
    return current_app.extensions["facilitator.kits"]


@bp.route("/console")
@login_required
def index() -> Any:
    return _index_page()


def _index_page(error: str | None = None, status: int = 200) -> Any:
    user = current_user()
    if user is None:
        session.pop("user_id", None)
        return redirect(url_for("auth.login"))
    with db.reader() as s:
        mine = s.scalars(
            select(Workshop).where(Workshop.owner_id == user.id).order_by(Workshop.id.desc())
        ).all()
    groups = {
        "Drafts": [w for w in mine if w.status == DRAFT],
        "Live": [w for w in mine if w.status == LIVE],
        "Closed": [w for w in mine if w.status == CLOSED_STATUS and not w.archived_at],
        "Archived": [w for w in mine if w.archived_at],
    }
    kits, kit_errors = _kits().load_all()
    return render_template(
        "workshops.html",
        user=user,
        groups=groups,
        any_workshop=bool(mine),
        kits=kits,
        kit_errors=kit_errors,
        error=error,
    ), status


@bp.route("/workshops", methods=["POST"])
@login_required
def create() -> Any:
    kit_name = request.form.get("kit", "")[:64]
    title = request.form.get("title", "")[:400]
    place = request.form.get("place", "")[:400]
    try:
        kit = _kits().load(kit_name)
        with db.transaction() as s:
            workshop = create_workshop(
                s,
                identity.user_id(session),
                kit_name,
                kit,
                title,
                place,
                status=DRAFT if request.form.get("draft") else LIVE,
                # In the facilitator's language until they choose another for the room.
                language=i18n.current(),
            )
            new_id = workshop.id
    except KitError as exc:
        return _index_page(_("That kit cannot be used: {problem}", problem=exc), 400)
    except DomainError as exc:
        return _index_page(i18n.error_text(exc.as_ack()["error"]), 400)
    return redirect(url_for("workshops.console", workshop_id=new_id))


@bp.route("/w/<int:workshop_id>/duplicate", methods=["POST"])
@login_required
def duplicate(workshop_id: int) -> Any:
    """A new draft with the same design and a new join code."""
    owned(workshop_id)
    with db.transaction() as s:
        source = s.get(Workshop, workshop_id)
        assert source is not None
        copy = duplicate_workshop(s, source, identity.user_id(session))
        new_id = copy.id
    return redirect(url_for("workshops.console", workshop_id=new_id))


@bp.route("/w/<int:workshop_id>/archive", methods=["POST"])
@login_required
def archive(workshop_id: int) -> Any:
    owned(workshop_id)
    try:
        with db.transaction() as s:
            workshop = s.get(Workshop, workshop_id)
            assert workshop is not None
            archive_workshop(s, workshop)
    except DomainError as exc:
        return _index_page(exc.message, 409)
    return redirect(url_for("workshops.index"))


def owned(workshop_id: int) -> Workshop:
    """The workshop, if the facilitator signed in owns it (403 or 404 otherwise)."""
    with db.reader() as s:
        workshop = s.get(Workshop, workshop_id)
        if workshop is None:
            abort(404, "This workshop does not exist.")
        if not identity.owns(identity.user_id(session), workshop):
            abort(403, "This workshop belongs to another facilitator.")
        return workshop


def _viewable(workshop_id: int) -> Workshop:
    """The workshop, for its owner or anyone holding the projector key."""
    with db.reader() as s:
        workshop = s.get(Workshop, workshop_id)
        if workshop is None:
            abort(404, "This workshop does not exist.")
        key = request.args.get("key")
        if not (
            identity.owns(identity.user_id(session), workshop)
            or identity.projector_key_ok(workshop, key)
        ):
            abort(403, "This projector link is not valid; open it from the console.")
        return workshop


@bp.route("/w/<int:workshop_id>/console")
@login_required
def console(workshop_id: int) -> Any:
    workshop = owned(workshop_id)
    return render_template(
        "console.html",
        workshop=workshop,
        join_url=join_url(workshop),
        projector_url=projector_url(workshop),
        # The voting methods the console offers, as tally defines them (English
        # labels, translated on the page like the poll's own method_label).
        poll_methods=[{"id": name, "label": m.label} for name, m in tally.METHODS.items()],
    )


@bp.route("/w/<int:workshop_id>/projector")
def projector(workshop_id: int) -> Any:
    workshop = _viewable(workshop_id)
    # The room reads one screen: the workshop's language, whoever opened it.
    i18n.page_language(workshop.language, fixed=True)
    return render_template(
        "projector.html",
        workshop=workshop,
        join_url=join_url(workshop),
        key=request.args.get("key", ""),
        qr_svg=qr_svg(join_url(workshop)),
        hide_language=True,
    )


def qr_svg(url: str) -> str:
    """An inline SVG QR code, drawn locally."""
    return segno.make(url, error="m").svg_inline(
        scale=1, border=2, dark="#000", light="#fff", omitsize=True
    )


def qr_file(url: str) -> bytes:
    """A standalone SVG file of a QR code (with its namespace, so it works as an <img>)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=8, border=2, xmldecl=False)
    return out.getvalue()


@bp.route("/w/<int:workshop_id>/qr.svg")
def qr(workshop_id: int) -> Response:
    workshop = _viewable(workshop_id)
    return Response(qr_file(join_url(workshop)), mimetype="image/svg+xml")
