"""E-mailing the signed plan to participants who gave an address.

Optional: only when an SMTP server is configured by environment variables
(``FACILITATOR_SMTP_HOST`` and friends, see README). Without one nothing is sent
and the organisers' page says so. Each participant gets their own message (no
list of everyone's addresses) with the PDF attached, its hash and its link.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facilitator.domain.workshops import Participant

SECURITY = ("none", "starttls", "ssl")
TIMEOUT = 20


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = field(default="", repr=False)
    security: str = "none"  #: none, starttls or ssl


def settings(config: Mapping[str, Any]) -> SmtpSettings | None:
    """The SMTP server from the app's config, or None when e-mail is not configured."""
    host = config.get("SMTP_HOST")
    if not host:
        return None
    return SmtpSettings(
        host=host,
        port=int(config.get("SMTP_PORT") or 25),
        sender=config.get("MAIL_FROM") or "facilitator@localhost",
        username=config.get("SMTP_USERNAME") or "",
        password=config.get("SMTP_PASSWORD") or "",
        security=config.get("SMTP_SECURITY") or "none",
    )


def recipients(session: Session, workshop_id: int) -> list[tuple[str, str]]:
    """(name, address) of every participant still in the workshop who gave one."""
    rows = session.execute(
        select(Participant.name, Participant.email)
        .where(
            Participant.workshop_id == workshop_id,
            Participant.removed_at.is_(None),
            Participant.email != "",
        )
        .order_by(Participant.name)
    ).all()
    seen: dict[str, tuple[str, str]] = {}
    for name, email in rows:
        seen.setdefault(email.casefold(), (name, email))
    return list(seen.values())


@dataclass
class Report:
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def send_plan(
    smtp: SmtpSettings,
    people: list[tuple[str, str]],
    *,
    workshop: str,
    version: int,
    sha256: str,
    link: str,
    pdf: bytes,
    filename: str,
) -> Report:
    """Send the PDF to each person; a refused address does not stop the others."""
    report = Report()
    if not people:
        return report
    if smtp.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=TIMEOUT, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if smtp.username:
            client.login(smtp.username, smtp.password)
        for name, address in people:
            message = EmailMessage()
            message["From"] = smtp.sender
            message["To"] = formataddr((name, address))
            message["Subject"] = f"Signed action plan: {workshop} (version {version})"
            message["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
            message.set_content(
                f"Dear {name},\n\n"
                f"Attached is version {version} of the multisectoral action plan of "
                f"{workshop}, as signed by the partner organisations.\n\n"
                f"Its hash (SHA-256), printed on every page: {sha256}\n"
                f"The plan online (PDF, CSV, JSON, signatures): {link}\n\n"
                "Anyone can check a copy on the server's verification page.\n"
            )
            message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
            try:
                client.send_message(message)
                report.sent.append(address)
            except smtplib.SMTPRecipientsRefused as exc:
                reason = next(iter(exc.recipients.values()), (0, b"refused"))[1]
                report.failed.append((address, reason.decode("utf-8", "replace")))
    return report
