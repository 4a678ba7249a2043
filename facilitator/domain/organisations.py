"""Partner organisations as rows of their own, per workshop.

An organisation has one name shown everywhere, and may have a short name and names in
other languages; any of them finds it (compared by :func:`~facilitator.core.text.name_key`:
compatibility forms, case and spacing folded), so "WHO" typed on a phone joins the
World Health Organization the facilitator registered. A participant who types a name
no organisation has adds one, flagged for the facilitator, who may merge it into
another: everything that names either then names the one kept.

Where other tables keep an organisation's name as text (a participant's
``organisation``, a plan row's lead and partners, a ballot grouped by organisation,
a representative and a signature) this module is the one that writes it, so the
text is always the name of a row here.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from facilitator.core import protocol
from facilitator.core.db import Base, utcnow
from facilitator.core.errors import CONFLICT, INVALID, NOT_FOUND, DomainError
from facilitator.core.events import Event, Outcome, redacted_for
from facilitator.core.i18n import N_
from facilitator.core.text import clean_text, name_key
from facilitator.domain.workshops import (
    EMAIL_RE,
    ORGANISATION_MAX,
    SECTOR_MAX,
    Workshop,
)

SHORT_MAX = 40
#: Other names (languages, acronyms), e-mail addresses and signatories of one organisation.
LIST_MAX = 10
#: Organisations one workshop holds.
ORGANISATIONS_MAX = 500


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (UniqueConstraint("workshop_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(ORGANISATION_MAX))
    #: ``name_key(name)``: two organisations of a workshop never share it.
    key: Mapped[str] = mapped_column(String(ORGANISATION_MAX))
    short_name: Mapped[str] = mapped_column(String(SHORT_MAX), default="")
    sector: Mapped[str] = mapped_column(String(SECTOR_MAX), default="")
    other_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Seen by the facilitator only, like participants' e-mail addresses.
    emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    signatories: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Added by a participant joining (or found in old plan data): for the facilitator
    #: to confirm or merge.
    flagged: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def names(self) -> list[str]:
        """Every name that finds it, its own first."""
        return [n for n in (self.name, self.short_name, *self.other_names) if n]

    def keys(self) -> set[str]:
        return {name_key(n) for n in self.names()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "short_name": self.short_name,
            "sector": self.sector,
            "other_names": list(self.other_names),
            "emails": list(self.emails),
            "signatories": list(self.signatories),
            "flagged": self.flagged,
        }


PRIVATE = ("emails", "signatories")


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in PRIVATE}


@redacted_for(protocol.ORGANISATION_ADDED)
@redacted_for(protocol.ORGANISATION_UPDATED)
@redacted_for(protocol.ORGANISATION_MERGED)
def _for_screens(data: dict[str, Any], role: str) -> dict[str, Any]:
    """Contacts and signatories are the facilitator's; every screen sees the names."""
    if role == "facilitator":
        return data
    shown = {k: v for k, v in data.items() if k != "near"}
    return {**shown, "organisation": public(data["organisation"])}


# -- finding ---------------------------------------------------------------------------------


def of_workshop(session: Session, workshop_id: int) -> list[Organisation]:
    query = select(Organisation).where(Organisation.workshop_id == workshop_id)
    return list(session.scalars(query.order_by(Organisation.id)))


def find(session: Session, workshop_id: int, name: str) -> Organisation | None:
    """The organisation any of whose names is ``name`` (compared by ``name_key``)."""
    key = name_key(name)
    if not key:
        return None
    own = session.scalar(
        select(Organisation).where(Organisation.workshop_id == workshop_id, Organisation.key == key)
    )
    if own is not None:
        return own
    return next((o for o in of_workshop(session, workshop_id) if key in o.keys()), None)


def _loose(key: str) -> str:
    return re.sub(r"[\W_]+", "", key)


def near_all(organisations: list[Organisation]) -> dict[int, list[int]]:
    """For each organisation, the others that may be the same one written another way,
    by any of their names: the same letters without punctuation ("W.H.O." and "WHO"),
    or every word of one name among another's ("Ministry of Health" and "Ministry of
    Health, Punjab"). Indexed by letters and by word, so a workshop's 500 organisations
    take milliseconds, not a comparison of every pair of names."""
    names = [
        (item.id, _loose(key), frozenset(re.findall(r"\w+", key)))
        for item in organisations
        for key in item.keys()
    ]
    by_letters: dict[str, set[int]] = defaultdict(set)
    by_word: dict[str, set[int]] = defaultdict(set)  # word -> indexes into names
    for index, (owner, letters, words) in enumerate(names):
        by_letters[letters].add(owner)
        for word in words:
            by_word[word].add(index)
    found: dict[int, set[int]] = {item.id: set() for item in organisations}
    for owner, letters, words in names:
        found[owner] |= by_letters[letters]
        if not words:
            continue
        postings = sorted((by_word[w] for w in words), key=len)
        for other in set.intersection(*postings):  # names holding all of these words
            found[owner].add(names[other][0])
            found[names[other][0]].add(owner)
    return {owner: sorted(ids - {owner}) for owner, ids in found.items()}


def near_map(session: Session, workshop_id: int) -> dict[str, list[int]]:
    """:func:`near_all` of a workshop's organisations, by id as text (for the facilitator)."""
    return {str(k): v for k, v in near_all(of_workshop(session, workshop_id)).items()}


def get(session: Session, workshop: Workshop, organisation_id: int) -> Organisation:
    item = session.get(Organisation, organisation_id)
    if item is None or item.workshop_id != workshop.id:
        raise DomainError(
            NOT_FOUND, "No organisation {id} in this workshop.", values={"id": organisation_id}
        )
    return item


# -- checking what is typed -------------------------------------------------------------------


def clean_names(values: Any, field: str) -> list[str]:
    if not isinstance(values, list) or len(values) > LIST_MAX:
        raise DomainError(
            INVALID, "{field}: at most {max} names.", values={"field": field, "max": LIST_MAX},
            field=field,
        )  # fmt: skip
    cleaned: list[str] = []
    for value in values:
        text = clean_text(str(value), field, ORGANISATION_MAX)
        if text and name_key(text) not in {name_key(c) for c in cleaned}:
            cleaned.append(text)
    return cleaned


def _emails(values: Any) -> list[str]:
    emails = clean_names(values, "emails")
    for email in emails:
        if not EMAIL_RE.match(email):
            raise DomainError(
                INVALID, "{email} is not an e-mail address.", values={"email": email},
                field="emails",
            )  # fmt: skip
    return emails


def check_free(session: Session, workshop: Workshop, item: Organisation) -> None:
    """No other organisation of the workshop may answer to one of ``item``'s names."""
    for other in of_workshop(session, workshop.id):
        if other.id != item.id and other.keys() & item.keys():
            raise DomainError(
                CONFLICT,
                "{name} is already an organisation of this workshop.",
                values={"name": other.name},
                organisation_id=other.id,
            )


def apply_fields(item: Organisation, fields: dict[str, Any]) -> None:
    if "name" in fields:
        item.name = clean_text(
            fields["name"], "name", ORGANISATION_MAX, missing=N_("Please give your {field}.")
        )
        item.key = name_key(item.name)
    if "short_name" in fields:
        item.short_name = clean_text(fields["short_name"], "short_name", SHORT_MAX)
    if "sector" in fields:
        item.sector = clean_text(fields["sector"], "sector", SECTOR_MAX)
    if "other_names" in fields:
        item.other_names = clean_names(fields["other_names"], "other_names")
    if "emails" in fields:
        item.emails = _emails(fields["emails"])
    if "signatories" in fields:
        item.signatories = clean_names(fields["signatories"], "signatories")


# -- the facilitator's register ---------------------------------------------------------------


def register(
    session: Session, workshop: Workshop, fields: dict[str, Any], *, flagged: bool = False
) -> Outcome:
    """A new organisation; refused when one of its names is another's."""
    count = len(of_workshop(session, workshop.id))
    if count >= ORGANISATIONS_MAX:
        raise DomainError(
            INVALID,
            "A workshop holds at most {max} organisations.",
            values={"max": ORGANISATIONS_MAX},
        )
    item = Organisation(
        workshop_id=workshop.id,
        flagged=flagged,
        short_name="",
        sector="",
        other_names=[],
        emails=[],
        signatories=[],
    )
    apply_fields(item, {"name": "", **fields})
    check_free(session, workshop, item)
    session.add(item)
    session.flush()
    data = {"organisation": item.as_dict(), "near": near_map(session, workshop.id)}
    return Outcome(result=data, events=[Event(protocol.ORGANISATION_ADDED, data)])


def for_participant(session: Session, workshop: Workshop, typed: str, sector: str) -> Outcome:
    """The organisation a joining participant named, added (flagged) when none has
    that name; the Outcome's result is ``{"organisation": row}``."""
    return named(session, workshop, typed, sector=sector, flagged=True)


def named(
    session: Session, workshop: Workshop, typed: str, *, sector: str = "", flagged: bool = False
) -> Outcome:
    """The organisation ``typed`` names (by any of its names), added when none does:
    flagged when a participant typed it, for the facilitator to confirm or merge."""
    text = clean_text(
        typed, N_("organisation"), ORGANISATION_MAX, missing=N_("Please give your {field}.")
    )
    found = find(session, workshop.id, text)
    if found is not None:
        return Outcome(result={"organisation": found})
    added = register(session, workshop, {"name": text, "sector": sector}, flagged=flagged)
    item = get(session, workshop, added.result["organisation"]["id"])
    return Outcome(result={"organisation": item}, events=added.events)


# -- merging ------------------------------------------------------------------------------------


def snapshot_part(session: Session, workshop: Workshop, role: str) -> list[dict[str, Any]]:
    """Every organisation, with the ids of those it may duplicate (for the facilitator)."""
    if role != "facilitator":
        return [public(item.as_dict()) for item in of_workshop(session, workshop.id)]
    near_ids = near_map(session, workshop.id)
    return [
        {**item.as_dict(), "near": near_ids[str(item.id)]}
        for item in of_workshop(session, workshop.id)
    ]


# -- a CSV of organisations ---------------------------------------------------------------------

#: Columns of an organisation CSV (``name`` required); lists are separated by ";".
CSV_COLUMNS = ("name", "short_name", "sector", "other_names", "emails", "signatories")
LIST_COLUMNS = ("other_names", "emails", "signatories")
CSV_MAX_BYTES = 256 * 1024


def rows_from_csv(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """``(line, fields)`` for each row of an organisation CSV (UTF-8, a header row
    naming the columns of :data:`CSV_COLUMNS`), or a DomainError naming what is wrong
    with the file as a whole. Each row is checked when it is added."""
    if len(data) > CSV_MAX_BYTES:
        raise DomainError(
            INVALID, "The file is over {max} KB.", values={"max": CSV_MAX_BYTES // 1024}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError(INVALID, "The file is not UTF-8 text: save it as CSV UTF-8.") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [(h or "").strip().casefold() for h in (reader.fieldnames or [])]
    if "name" not in header:
        raise DomainError(INVALID, "The first row must name the columns, among them name.")
    unknown = [h for h in header if h and h not in CSV_COLUMNS]
    if unknown:
        raise DomainError(
            INVALID,
            "Unknown column {columns}; the columns are {known}.",
            values={"columns": ", ".join(unknown), "known": ", ".join(CSV_COLUMNS)},
        )
    reader.fieldnames = header
    rows = []
    for record in reader:
        fields: dict[str, Any] = {}
        for column in CSV_COLUMNS:
            value = (record.get(column) or "").strip()
            if column in LIST_COLUMNS:
                fields[column] = [v.strip() for v in value.split(";") if v.strip()]
            elif value or column == "name":
                fields[column] = value
        if any(fields.values()):
            rows.append((reader.line_num, fields))
        if len(rows) > ORGANISATIONS_MAX:
            raise DomainError(
                INVALID,
                "A workshop holds at most {max} organisations: the file has more rows.",
                values={"max": ORGANISATIONS_MAX},
            )
    return rows
