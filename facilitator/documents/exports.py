"""The PDFs of a plan version: rendered once per version and set of signatures, off the
event loop, and kept with their SHA-256.

A PDF is rendered by a warm service process (:mod:`facilitator.documents.render_client`,
one forked child per PDF) so WeasyPrint never holds the server's interpreter. Every PDF
this server hands out is kept, so verification (:mod:`facilitator.documents.verification`)
can tell a file it issued from one that was altered.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from facilitator.core.db import Base, db, utcnow
from facilitator.documents.render_client import render
from facilitator.domain import canonical
from facilitator.domain.signoff import PlanVersion, signatures

log = logging.getLogger("facilitator.exports")


class PlanDocument(Base):
    """A PDF issued for a version with a given set of signatures."""

    __tablename__ = "plan_documents"
    __table_args__ = (UniqueConstraint("version_id", "signatures_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id", ondelete="CASCADE"))
    #: SHA-256 of the signatures it shows (canonical JSON).
    signatures_key: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the PDF file itself.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    signature_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def signatures_key(items: list[dict[str, Any]]) -> str:
    return hashlib.sha256(canonical.canonical_bytes({"signatures": items})).hexdigest()


# -- the render jobs ----------------------------------------------------------------------------


@dataclass
class Job:
    """A PDF being rendered, as the organiser's page reports it."""

    state: str = "rendering"  #: rendering, done, failed
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        end = self.finished or time.monotonic()
        return {"state": self.state, "seconds": round(end - self.started, 1), "error": self.error}


_jobs: dict[tuple[int, str], Job] = {}
_jobs_lock = threading.Lock()


def cached(session: Session, version: PlanVersion) -> PlanDocument | None:
    """The PDF of ``version`` with its current signatures, if rendered already."""
    key = signatures_key(signatures(session, version.id))
    return session.scalar(
        select(PlanDocument).where(
            PlanDocument.version_id == version.id, PlanDocument.signatures_key == key
        )
    )


def start_render(version_id: int, run_blocking: Any, spawn: Any) -> Job:
    """Start rendering the PDF of a version (with its current signatures) unless it
    is under way; ``spawn`` starts a background task, ``run_blocking`` runs a blocking
    call off the event loop."""
    with db.reader() as session:
        version = session.get(PlanVersion, version_id)
        if version is None:
            raise LookupError(version_id)
        items = signatures(session, version.id)
        key = signatures_key(items)
        plan_text, digest = version.canonical, version.sha256
    job_key = (version_id, key)
    with _jobs_lock:
        job = _jobs.get(job_key)
        if job is not None and job.state != "failed":
            return job
        job = _jobs[job_key] = Job()

    def work() -> None:
        try:
            pdf = run_blocking(render, plan_text, digest, items)
            store(version_id, key, pdf, len(items))
            job.state = "done"
        except Exception as exc:  # the organiser sees it; the server goes on
            log.exception("rendering version %s failed", version_id)
            job.state, job.error = "failed", str(exc)[:300]
        finally:
            job.finished = time.monotonic()

    spawn(work)
    return job


def job_for(version_id: int, key: str) -> Job | None:
    with _jobs_lock:
        return _jobs.get((version_id, key))


def store(version_id: int, key: str, pdf: bytes, count: int) -> None:
    try:
        with db.transaction() as session:
            session.add(
                PlanDocument(
                    version_id=version_id,
                    signatures_key=key,
                    sha256=hashlib.sha256(pdf).hexdigest(),
                    pdf=pdf,
                    signature_count=count,
                )
            )
    except IntegrityError:
        pass  # rendered concurrently (another process): the stored one stands


def render_now(version_id: int) -> PlanDocument:
    """Render (or fetch) the PDF synchronously: for the CLI and tests."""
    with db.reader() as session:
        version = session.get(PlanVersion, version_id)
        if version is None:
            raise LookupError(version_id)
        doc = cached(session, version)
        if doc is not None:
            return doc
        items = signatures(session, version.id)
        pdf = render(version.canonical, version.sha256, items)
    store(version_id, signatures_key(items), pdf, len(items))
    with db.reader() as session:
        doc = session.scalar(
            select(PlanDocument).where(
                PlanDocument.version_id == version_id,
                PlanDocument.signatures_key == signatures_key(items),
            )
        )
        assert doc is not None
        return doc
