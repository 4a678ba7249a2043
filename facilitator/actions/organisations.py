"""The facilitator's register of partner organisations: add, edit, merge."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from facilitator.actions.spec import FACILITATOR, Context, Params, action
from facilitator.core import protocol
from facilitator.core.errors import INVALID, DomainError
from facilitator.core.events import Outcome
from facilitator.domain import organisation_changes, organisations

Name = Annotated[str, Field(max_length=200)]
Names = Annotated[list[Name], Field(max_length=20)]


class Fields(Params):
    name: Name | None = None
    short_name: Name | None = None
    sector: Name | None = None
    other_names: Names | None = None
    emails: Names | None = None
    signatories: Names | None = None


class Add(Params):
    organisation: Fields


@action(protocol.ORGANISATION_ADD, roles=FACILITATOR, params=Add)
def add(ctx: Context, p: Add) -> Outcome:
    fields = p.organisation.model_dump(exclude_none=True)
    return organisations.register(ctx.session, ctx.workshop, fields)


class Changes(Fields):
    #: False confirms an organisation a participant added.
    flagged: bool | None = None


class Edit(Params):
    organisation_id: int
    changes: Changes


@action(protocol.ORGANISATION_EDIT, roles=FACILITATOR, params=Edit)
def edit(ctx: Context, p: Edit) -> Outcome:
    changes: dict[str, Any] = p.changes.model_dump(exclude_none=True)
    if not changes:
        raise DomainError(INVALID, "Nothing to change.")
    return organisation_changes.edit(ctx.session, ctx.workshop, p.organisation_id, changes)


class Merge(Params):
    organisation_id: int
    into_id: int


@action(protocol.ORGANISATION_MERGE, roles=FACILITATOR, params=Merge)
def merge(ctx: Context, p: Merge) -> Outcome:
    return organisation_changes.merge(ctx.session, ctx.workshop, p.organisation_id, p.into_id)
