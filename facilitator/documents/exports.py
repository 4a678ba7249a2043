"""Exports of a plan version (PDF, CSV, JSON) and verification of PDFs in circulation.

A PDF is rendered by a warm service process (``python -m facilitator.documents.render_worker``,
one forked child per PDF) so WeasyPrint never holds the server's interpreter, and it
is cached: one
document per version and set of signatures. Every PDF this server hands out is
kept with its SHA-256, so verification can tell a file it issued from one that
was altered, even when the altered file still carries the plan's JSON.
"""

from __future__ import annotations

import atexit
import csv
import hashlib
import io
import json
import logging
import subprocess  # noqa: S404 - runs our own worker with a fixed command line
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from facilitator.core.db import Base, db, utcnow
from facilitator.core.runtime import os_lock, os_subprocess
from facilitator.documents.frames import HEADER, read_frame, write_frame
from facilitator.domain import canonical
from facilitator.domain.kits import PLAN_COLUMNS, plan_fields
from facilitator.domain.signoff import DECISIONS, PlanVersion, signatures
from facilitator.domain.workshops import Workshop

log = logging.getLogger("facilitator.exports")
#: Limits of one render: CPU seconds and address space beyond the warm service's.
RENDER_SECONDS = 120
RENDER_MEMORY_MB = 1024
HEX64 = "0123456789abcdef"


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


# -- CSV and JSON ---------------------------------------------------------------------------------

CSV_COLUMNS = ("ref", *plan_fields())


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with these is a formula in spreadsheet programs: keep it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def plan_csv(plan: dict[str, Any], sha256: str = "") -> str:
    """One row per action, the kit's own columns after the standard ones."""
    custom = [c["id"] for c in plan["columns"] if c["id"] not in _standard()]
    fields = {f["id"]: f["name"] for f in plan.get("action_fields", [])}
    phases = {f["id"]: f["name"] for f in plan.get("cycle_phases", [])}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, *custom, "version", "version_sha256"])
    for a in plan["actions"]:
        row = {
            **a,
            "action_field": fields.get(a["action_field"], a["action_field"]),
            "cycle_phase": phases.get(a.get("cycle_phase", ""), a.get("cycle_phase", "")),
            "partners": "; ".join(a["partners"]),
            "budget_amount": a["budget"]["amount"],
            "budget_currency": a["budget"]["currency"],
            "budget_source": a["budget"]["source"],
        }
        writer.writerow(
            [_csv_cell(row[c]) for c in CSV_COLUMNS]
            + [_csv_cell(a.get("custom", {}).get(c, "")) for c in custom]
            + [plan["version"], sha256]
        )
    return out.getvalue()


def _standard() -> set[str]:
    return set(PLAN_COLUMNS)


def version_csv(version: PlanVersion) -> str:
    return plan_csv(version.plan(), version.sha256)


# -- PDF ------------------------------------------------------------------------------------------


class Renderer:
    """The client of the warm render service (:mod:`facilitator.documents.render_worker`).

    One service process per server process, started on first use or by
    :meth:`start` when the server starts, so the first PDF is rendered warm too.
    Renders are taken one at a time: on a laptop running the room, two at once
    would only each take twice as long. A service that died is started again.
    """

    def __init__(
        self, seconds: int = RENDER_SECONDS, memory_mb: int = RENDER_MEMORY_MB, processes: int = 0
    ) -> None:
        self.seconds = seconds
        self.memory_mb = memory_mb
        self.processes = processes
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._lock = os_lock()

    def configure(self, seconds: int, memory_mb: int, processes: int = 0) -> None:
        """Set the limits, and the processes laying out one PDF (0: one per core, up to
        two); a running service set otherwise is restarted on next use."""
        settings = (seconds, memory_mb, processes)
        with self._lock:
            if settings != (self.seconds, self.memory_mb, self.processes) and self._process:
                self._stop(self._process)
            self.seconds, self.memory_mb, self.processes = settings

    def start(self, wait: bool = False) -> None:
        """Start the service if it is not running; it warms up on its own, and with
        ``wait`` this returns once it is warm."""
        with self._lock:
            process = self._ensure()
            if wait:
                self._wait_ready(process)

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        if not self._ready:
            assert process.stdout is not None
            if read_frame(process.stdout) != b"R":
                raise EOFError
            self._ready = True

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is not None:
            self._stop(self._process)  # it died: close its pipes before starting anew
        if self._process is None:
            # Its own session: its own scheduling group, at the lower priority it sets.
            processes = os_subprocess()
            self._process = processes.Popen(  # noqa: S603 - our interpreter, our module
                [
                    sys.executable,
                    "-m",
                    "facilitator.documents.render_worker",
                    str(self.seconds),
                    str(self.memory_mb),
                    str(self.processes),
                ],
                stdin=processes.PIPE,
                stdout=processes.PIPE,
                start_new_session=True,
            )
        return self._process

    def render(
        self,
        plan_text: str,
        digest: str,
        items: list[dict[str, Any]],
        generated_at: str | None = None,
    ) -> tuple[bytes, dict[str, float]]:
        """The PDF and what it cost (``cpu_seconds``, ``peak_rss_mb`` of the render);
        raises RuntimeError with the service's one-line reason. ``generated_at`` (ISO
        8601) dates the document, now by default."""
        body = {"plan": plan_text, "digest": digest, "signatures": items}
        if generated_at is not None:
            body["generated_at"] = generated_at
        request = json.dumps(body)
        with self._lock:
            process = self._ensure()
            assert process.stdin is not None and process.stdout is not None
            try:
                self._wait_ready(process)
                write_frame(process.stdin, request.encode("utf-8"))
                answer = read_frame(process.stdout)
            except (OSError, EOFError, ValueError):
                answer = None
            if answer is None:
                self._stop(process)
                raise RuntimeError("the PDF render service stopped; it restarts on the next try")
        if answer[:1] != b"P":
            raise RuntimeError(answer[1:].decode("utf-8", "replace"))
        (size,) = HEADER.unpack_from(answer, 1)
        start = 1 + HEADER.size
        figures = json.loads(answer[start : start + size])
        return answer[start + size :], figures

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                self._stop(self._process)

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:  # a broken pipe has nothing more to say
                    pass
        self._process, self._ready = None, False


renderer = Renderer()
atexit.register(renderer.close)


def render(plan_text: str, digest: str, items: list[dict[str, Any]]) -> bytes:
    """Render a plan PDF in the render service (blocking: run it off the event loop)."""
    started = time.monotonic()
    pdf, figures = renderer.render(plan_text, digest, items)
    log.info(
        "rendered a PDF of %d bytes in %.1f s (CPU %.1f s, peak memory %.0f MB)",
        len(pdf),
        time.monotonic() - started,
        figures["cpu_seconds"],
        figures["peak_rss_mb"],
    )
    return pdf


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


# -- verification -------------------------------------------------------------------------------


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
