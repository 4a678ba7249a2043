"""Verification of a plan in circulation: a PDF or a version hash, checked against the
versions this server froze and the PDFs it issued (an altered file is told apart even
when it still carries the plan's JSON)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitator.documents.exports import PlanDocument
from facilitator.domain import canonical
from facilitator.domain.signoff import DECISIONS, PlanVersion, signatures
from facilitator.domain.workshops import Workshop

HEX64 = "0123456789abcdef"


def _version_report(session: Session, version: PlanVersion) -> dict[str, Any]:
    workshop = session.get(Workshop, version.workshop_id)
    items = signatures(session, version.id)
    return {
        "workshop": workshop.title if workshop else "",
        "place": workshop.place if workshop else "",
        "version": version.number,
        "sha256": version.sha256,
        "frozen_at": canonical.iso(version.frozen_at),
        "signatures": [{**s, "decision_label": DECISIONS[s["decision"]]} for s in items],
    }


def verify_hash(session: Session, text: str) -> dict[str, Any]:
    """What a pasted hash is: a plan version's hash, an issued PDF's hash, or unknown."""
    digest = text.strip().lower()
    if len(digest) != 64 or any(c not in HEX64 for c in digest):
        return {"status": "invalid", "message": "A hash is 64 hexadecimal characters."}
    version = session.scalar(select(PlanVersion).where(PlanVersion.sha256 == digest))
    if version is not None:
        return {"status": "version", **_version_report(session, version)}
    doc = session.scalar(select(PlanDocument).where(PlanDocument.sha256 == digest))
    if doc is not None:
        version = session.get(PlanVersion, doc.version_id)
        assert version is not None
        return {
            "status": "document",
            "issued_at": canonical.iso(doc.created_at),
            **_version_report(session, version),
        }
    return {"status": "unknown", "message": "No plan version or PDF on this server has this hash."}


def verify_pdf(session: Session, data: bytes) -> dict[str, Any]:
    """Whether ``data`` is a PDF this server issued for a signed plan version.

    Genuine only if the file's own hash is one of the documents issued. A file
    that carries a known plan's JSON but whose bytes differ is reported as
    altered; one that carries a JSON whose hash is unknown, as not matching.
    """
    from facilitator.documents.pdf import embedded_plan  # WeasyPrint stays out of the server

    file_hash = hashlib.sha256(data).hexdigest()
    doc = session.scalar(select(PlanDocument).where(PlanDocument.sha256 == file_hash))
    if doc is not None:
        version = session.get(PlanVersion, doc.version_id)
        assert version is not None
        report = _version_report(session, version)
        return {
            "status": "genuine",
            "file_sha256": file_hash,
            "issued_at": canonical.iso(doc.created_at),
            "signatures_in_file": doc.signature_count,
            **report,
        }
    body = embedded_plan(data)
    if body is None:
        return {
            "status": "not_matching",
            "file_sha256": file_hash,
            "message": "This file is not a plan PDF from this server (no plan data inside).",
        }
    inner = hashlib.sha256(body).hexdigest()
    version = session.scalar(select(PlanVersion).where(PlanVersion.sha256 == inner))
    if version is None:
        return {
            "status": "not_matching",
            "file_sha256": file_hash,
            "message": "The plan inside this PDF is not a version frozen on this server.",
        }
    return {
        "status": "altered",
        "file_sha256": file_hash,
        "message": (
            f"This PDF carries plan version {version.number}, but the file is not one this "
            "server issued: it was changed after it was made. Do not rely on it; download "
            "the plan again."
        ),
        **_version_report(session, version),
    }
