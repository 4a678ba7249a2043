"""Importing a workshop's organisations from a CSV file, before or during the workshop.

Each row is an ``organisation:add`` through the action pipeline, as if the console had
sent it: checked, written and broadcast the same way. Its action id is made from the
file's digest and the row's line, so uploading the same file again adds nothing twice.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import Blueprint, render_template, request

from facilitator.actions.pipeline import perform
from facilitator.actions.spec import Caller
from facilitator.core import i18n, protocol
from facilitator.core.errors import DomainError
from facilitator.core.i18n import _
from facilitator.domain.organisations import CSV_COLUMNS, rows_from_csv
from facilitator.edges.web.auth import current_user, login_required
from facilitator.edges.web.workshops import owned

bp = Blueprint("organisations", __name__)


@bp.route("/w/<int:workshop_id>/organisations/import", methods=["POST"])
@login_required
def import_csv(workshop_id: int) -> Any:
    workshop = owned(workshop_id)
    user = current_user()
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    try:
        if not data:
            raise DomainError("invalid", _("Choose a CSV file to import."))
        rows = rows_from_csv(data)
    except DomainError as exc:
        return _report(workshop, [], [(0, i18n.error_text(exc.as_ack()["error"]))], 400)
    digest = hashlib.sha256(data).hexdigest()[:16]
    caller = Caller("facilitator", workshop.id, user_id=user.id if user else None)
    added, refused = [], []
    for line, fields in rows:
        time.sleep(0)  # between rows, other clients' work runs (a yield under eventlet)
        payload = {"organisation": fields, "action_id": f"import-{digest}-{line}"}
        ack = perform(caller, protocol.ORGANISATION_ADD, payload)
        if ack["ok"]:
            added.append(ack["organisation"]["name"])
        else:
            refused.append((line, i18n.error_text(ack["error"])))
    return _report(workshop, added, refused, 200 if added or not refused else 400)


def _report(workshop: Any, added: list[str], refused: list[tuple[int, str]], status: int) -> Any:
    page = render_template(
        "organisations_import.html",
        workshop=workshop,
        added=added,
        refused=refused,
        columns=CSV_COLUMNS,
    )
    return page, status
