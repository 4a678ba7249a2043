"""The plan leaving the room: downloads of a version, the organisers' list, and the
public verification page.

A version's downloads live under its share key (``/plan/<key>``): the link the
projector shows as a QR code and phones offer once the plan is signed. The
organisers' page lists every version of their workshops with those links and
hashes. Anyone may verify a PDF or a hash.
"""

from __future__ import annotations

import re
import smtplib
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import defer

from facilitator.core.db import db
from facilitator.core.runtime import run_blocking
from facilitator.core.transport import socketio
from facilitator.documents import exports, mail, plan_csv, verification
from facilitator.domain.signoff import DECISIONS, PlanVersion, signatures
from facilitator.domain.workshops import Workshop
from facilitator.edges import identity
from facilitator.edges.web.auth import current_user, login_required
from facilitator.edges.web.urls import room_base_url
from facilitator.edges.web.workshops import qr_file

bp = Blueprint("plans", __name__)

#: The largest PDF the verification page accepts.
MAX_UPLOAD = 50 * 1024 * 1024


def _version(key: str) -> tuple[PlanVersion, Workshop]:
    with db.reader() as s:
        version = s.scalar(select(PlanVersion).where(PlanVersion.share_key == key))
        if version is None:
            abort(404, "There is no plan at this address.")
        workshop = s.get(Workshop, version.workshop_id)
        assert workshop is not None
        return version, workshop


def _filename(workshop: Workshop, version: PlanVersion, ext: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", workshop.title.lower()).strip("-")[:50] or "plan"
    return f"{slug}-plan-v{version.number}.{ext}"


def _download(body: bytes | str, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/plan/<key>")
def share(key: str) -> Any:
    version, workshop = _version(key)
    with db.reader() as s:
        items = signatures(s, version.id)
    return render_template(
        "plan_share.html",
        workshop=workshop,
        version=version,
        plan=version.plan(),
        signatures=items,
        decisions=DECISIONS,
    )


@bp.route("/plan/<key>.json")
def share_json(key: str) -> Response:
    version, workshop = _version(key)
    # The exact bytes that were hashed: the file's SHA-256 is the version's hash.
    return _download(
        version.canonical.encode("utf-8"), "application/json", _filename(workshop, version, "json")
    )


@bp.route("/plan/<key>.csv")
def share_csv(key: str) -> Response:
    version, workshop = _version(key)
    return _download(
        plan_csv.version_csv(version),
        "text/csv; charset=utf-8",
        _filename(workshop, version, "csv"),
    )


@bp.route("/plan/<key>.pdf")
def share_pdf(key: str) -> Any:
    """The PDF with the version's current signatures; rendered on first request in a
    worker process while a page shows the progress (it refreshes itself, no script).

    While a render is under way this answers from memory after two small queries: a
    room of phones polling the page costs the server little.
    """
    with db.reader() as s:
        version = s.scalar(
            select(PlanVersion)
            .options(defer(PlanVersion.canonical))
            .where(PlanVersion.share_key == key)
        )
        if version is None:
            abort(404, "There is no plan at this address.")
        sign_key = exports.signatures_key(signatures(s, version.id))
        job = exports.job_for(version.id, sign_key)
        if job is None or job.state != "rendering":
            doc = exports.cached(s, version)
            if doc is not None:
                workshop = s.get(Workshop, version.workshop_id)
                assert workshop is not None
                name = _filename(workshop, version, "pdf")
                return _download(doc.pdf, "application/pdf", name)
        title = s.scalar(select(Workshop.title).where(Workshop.id == version.workshop_id))
        number = version.number
        version_id = version.id
    if job is None or job.state != "rendering":
        mode = current_app.config["ASYNC_MODE"]
        job = exports.start_render(
            version_id,
            lambda func, *args: run_blocking(mode, func, *args),
            socketio.start_background_task,
        )
    status = job.as_dict()
    code = 500 if status["state"] == "failed" else 202
    return render_template("plan_rendering.html", title=title, number=number, job=status), code


@bp.route("/plan/<key>/qr.svg")
def share_qr(key: str) -> Response:
    version, _ = _version(key)
    url = room_base_url() + url_for("plans.share", key=version.share_key)
    return Response(qr_file(url), mimetype="image/svg+xml")


@bp.route("/plans")
@login_required
def index() -> Any:
    return _organiser_page(None)


@bp.route("/workshops/<int:workshop_id>/plans")
@login_required
def for_workshop(workshop_id: int) -> Any:
    return _organiser_page(workshop_id)


@bp.route("/plan/<key>/email", methods=["POST"])
@login_required
def email(key: str) -> Any:
    """E-mail the version's PDF to every participant who gave an address."""
    version, workshop = _version(key)
    if not identity.owns(identity.user_id(session), workshop):
        abort(403, "This workshop belongs to another facilitator.")
    smtp = mail.settings(current_app.config)
    if smtp is None:
        return _organiser_page(workshop.id, message=NO_MAIL, status=409)
    with db.reader() as s:
        people = mail.recipients(s, workshop.id)
    if not people:
        return _organiser_page(
            workshop.id, message="No participant gave an e-mail address: nothing was sent."
        )
    mode = current_app.config["ASYNC_MODE"]
    try:
        pdf = run_blocking(mode, exports.render_now, version.id).pdf
        report = run_blocking(
            mode,
            lambda: mail.send_plan(
                smtp,
                people,
                workshop=workshop.title,
                version=version.number,
                sha256=version.sha256,
                link=room_base_url() + url_for("plans.share", key=version.share_key),
                pdf=pdf,
                filename=_filename(workshop, version, "pdf"),
            ),
        )
    except (OSError, RuntimeError, smtplib.SMTPException) as exc:
        return _organiser_page(
            workshop.id, message=f"Nothing was sent: the mail server said {exc}.", status=502
        )
    message = f"Version {version.number} sent to {len(report.sent)} of {len(people)} addresses."
    if report.failed:
        message += " Refused: " + "; ".join(f"{a} ({why})" for a, why in report.failed)
    return _organiser_page(workshop.id, message=message)


NO_MAIL = (
    "E-mail is not configured on this server (FACILITATOR_SMTP_HOST is not set), "
    "so nothing was sent. Participants can download the plan from the room's QR code."
)


def _organiser_page(workshop_id: int | None, message: str = "", status: int = 200) -> Any:
    user = current_user()
    if user is None:
        abort(403)
    with db.reader() as s:
        query = select(Workshop).where(Workshop.owner_id == user.id).order_by(Workshop.id.desc())
        if workshop_id is not None:
            workshop = s.get(Workshop, workshop_id)
            if workshop is None:
                abort(404, "This workshop does not exist.")
            if not identity.owns(identity.user_id(session), workshop):
                abort(403, "This workshop belongs to another facilitator.")
            query = query.where(Workshop.id == workshop_id)
        rows = []
        for workshop in s.scalars(query):
            versions = s.scalars(
                select(PlanVersion)
                .where(PlanVersion.workshop_id == workshop.id)
                .order_by(PlanVersion.number.desc())
            ).all()
            rows.append(
                {
                    "workshop": workshop,
                    "versions": [
                        {"version": v, "signatures": signatures(s, v.id)} for v in versions
                    ],
                }
            )
        for row in rows:
            row["recipients"] = len(mail.recipients(s, row["workshop"].id))
    return render_template(
        "plans.html",
        rows=rows,
        one=workshop_id is not None,
        decisions=DECISIONS,
        message=message,
        mail_configured=mail.settings(current_app.config) is not None,
        no_mail=NO_MAIL,
    ), status


@bp.route("/verify", methods=["GET", "POST"])
def verify() -> Any:
    """Anyone can check a PDF or a hash against the versions on this server."""
    if request.method == "GET":
        return render_template("verify.html", result=None)
    upload = request.files.get("pdf")
    text = request.form.get("hash", "")
    with db.reader() as s:
        if upload is not None and upload.filename:
            data = upload.read(MAX_UPLOAD + 1)
            if len(data) > MAX_UPLOAD:
                result = {"status": "invalid", "message": "The file is larger than 50 MB."}
            else:
                result = verification.verify_pdf(s, data)
        elif text.strip():
            result = verification.verify_hash(s, text)
        else:
            result = {"status": "invalid", "message": "Choose a PDF file or paste a hash."}
    code = 400 if result["status"] == "invalid" else 200
    return render_template("verify.html", result=result, decisions=DECISIONS), code
