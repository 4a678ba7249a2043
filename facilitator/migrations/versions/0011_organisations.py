"""organisations as rows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 02:30:00

Each workshop's organisations become rows, made from what was typed before: one per
name its participants gave (compared with case, spacing and compatibility forms
folded), each participant linked to it. A plan's leads and partners that name none
of them are added too, flagged for the facilitator. A partner list that a screen cut
at commas ("Department of Health", "Punjab") is joined again where the joined name is
an organisation and its parts are not; otherwise the names are kept as they are.
"""

import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME_MAX = 80


def _key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name or "").casefold().split())


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=NAME_MAX), nullable=False),
        sa.Column("key", sa.String(length=NAME_MAX), nullable=False),
        sa.Column("short_name", sa.String(length=40), nullable=False),
        sa.Column("sector", sa.String(length=60), nullable=False),
        sa.Column("other_names", sa.JSON(), nullable=False),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("signatories", sa.JSON(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["workshop_id"], ["workshops.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workshop_id", "key"),
    )
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_participants_organisation_id",
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _rows_from_what_was_typed()


def _rows_from_what_was_typed() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    organisations = sa.Table("organisations", meta, autoload_with=bind)
    participants = sa.Table("participants", meta, autoload_with=bind)
    actions = sa.Table("plan_actions", meta, autoload_with=bind)
    now = datetime.now(UTC).replace(tzinfo=None)
    known: dict[tuple[int, str], int] = {}

    def add(workshop_id: int, name: str, sector: str, flagged: bool) -> int:
        key = (workshop_id, _key(name))
        if key not in known:
            known[key] = bind.execute(
                organisations.insert().values(
                    workshop_id=workshop_id,
                    name=name,
                    key=key[1],
                    short_name="",
                    sector=sector or "",
                    other_names=[],
                    emails=[],
                    signatories=[],
                    flagged=flagged,
                    created_at=now,
                )  # fmt: skip
            ).inserted_primary_key[0]
        return known[key]

    people = bind.execute(
        sa.select(
            participants.c.id,
            participants.c.workshop_id,
            participants.c.organisation,
            participants.c.sector,
        ).order_by(participants.c.id)  # fmt: skip
    ).all()
    for person in people:
        if _key(person.organisation):
            org_id = add(person.workshop_id, person.organisation.strip(), person.sector, False)
            bind.execute(
                participants.update()
                .where(participants.c.id == person.id)
                .values(organisation_id=org_id)
            )
    rows = bind.execute(sa.select(actions.c.id, actions.c.workshop_id, actions.c.fields)).all()
    for row in rows:
        fields = dict(row.fields or {})
        partners = _rejoined(row.workshop_id, list(fields.get("partners") or []), known)
        if partners != list(fields.get("partners") or []):
            bind.execute(
                actions.update()
                .where(actions.c.id == row.id)
                .values(fields={**fields, "partners": partners})
            )
        for name in [fields.get("lead") or "", *partners]:
            if _key(name) and len(name) <= NAME_MAX:
                add(row.workshop_id, name, fields.get("sector") or "", True)


def _rejoined(
    workshop_id: int, partners: list[str], known: dict[tuple[int, str], int]
) -> list[str]:
    """``partners`` with runs cut at commas joined again where the joined name is an
    organisation and the parts are not (longest run first)."""
    out: list[str] = []
    i = 0
    while i < len(partners):
        for end in range(len(partners), i + 1, -1):
            joined = ", ".join(p.strip() for p in partners[i:end])
            parts_known = any((workshop_id, _key(p)) in known for p in partners[i:end])
            if (workshop_id, _key(joined)) in known and not parts_known:
                out.append(joined)
                i = end
                break
        else:
            out.append(partners[i])
            i += 1
    return out


def downgrade() -> None:
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_constraint("fk_participants_organisation_id", type_="foreignkey")
        batch_op.drop_column("organisation_id")
    op.drop_table("organisations")
