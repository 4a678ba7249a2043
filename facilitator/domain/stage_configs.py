"""The stage types a kit may use and the settings each takes in ``config`` (docs/kits.md):
boards, the stakeholder map, the agenda, votes; checked with pydantic, errors named by
the key at fault."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from facilitator.core.errors import DomainError
from facilitator.domain.tally import METHODS as TALLY_METHODS
from facilitator.domain.tally import check_rule

#: Stage types a kit may use. Screens show a generic view for types whose
#: interactive tools are not built yet.
STAGE_TYPES = (
    "welcome",
    "board",
    "stakeholder_map",
    "agenda",
    "vote",
    "action_plan",
    "signoff",
    "close",
)


Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]


#: Voting methods (facilitator/domain/tally.py defines their choices and rules).
METHODS = tuple(TALLY_METHODS)


Label = Annotated[str, Field(min_length=1, max_length=80)]


#: How a poll's results are broken down: by the voter's sector (the default), by
#: their organisation, or not at all (facilitator/domain/polls.py folds small groups).
GROUP_BY = ("sector", "organisation", "none")


def no_duplicates(field: str, values: list[str], what: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise ValueError(f"{field}[{index}]: duplicate {what} {value!r}")
        seen.add(value)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Option(Strict):
    """A named choice with a stable id (an action field, a cycle phase...)."""

    id: Slug
    name: Label
    description: str = Field(default="", max_length=500)


class BoardConfig(Strict):
    """A brainstorm board: how authors show, and areas (groups) set up in advance."""

    authors: Literal["show", "hide_projector", "anonymous"] = "show"
    private: bool = False
    participants_group: bool = False
    #: Groups the board starts with (e.g. a SWOT per action field).
    areas: list[Label] = Field(default_factory=list, max_length=40)

    @model_validator(mode="after")
    def _unique_areas(self) -> BoardConfig:
        no_duplicates("areas", [a.lower() for a in self.areas], "area")
        return self


class MapConfig(Strict):
    #: Everyone places every stakeholder privately; the room's median is shown.
    participatory: bool = False


class AgendaConfig(Strict):
    dots_per_participant: int = Field(default=3, ge=1, le=20)
    allow_stacking: bool = True
    #: Time box of a new item, in minutes.
    default_minutes: int = Field(default=10, ge=1, le=600)
    #: Topics the agenda starts with (participants add their own).
    topics: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=30
    )


def _check_group_by(value: Any) -> Any:
    if value not in GROUP_BY:
        raise PydanticCustomError(
            "group_by",
            "{value} is not a way to group results; use {known}",
            {"value": repr(value), "known": ", ".join(GROUP_BY)},
        )
    return value


GroupBy = Annotated[str, BeforeValidator(_check_group_by)]


def _check_rule(method: str, rule: dict[str, Any]) -> None:
    try:
        check_rule(method, rule)
    except DomainError as exc:
        raise ValueError(f"rule: {exc.message}") from None


class PollSpec(Strict):
    """A poll prepared in the kit: it waits as a draft in its vote stage."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    proposal: str = Field(default="", max_length=2000)
    method: Literal[METHODS]  # type: ignore[valid-type]
    options: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=30
    )
    dots: int | None = Field(default=None, ge=1, le=20)
    scale_max: int | None = Field(default=None, ge=2, le=10)
    rule: dict[str, Any] = Field(default_factory=dict)
    anonymous: bool = True
    results: Literal["on_close", "live"] = "on_close"
    group_by: GroupBy = "sector"

    @model_validator(mode="after")
    def _fits_method(self) -> PollSpec:
        if self.method in ("dots", "ranked") and len(self.options) < 2:
            raise ValueError(f"options: a {self.method} poll needs at least two options")
        if self.method not in ("dots", "ranked") and self.options:
            raise ValueError(f"options: a {self.method} poll has fixed choices, not options")
        _check_rule(self.method, self.rule)
        return self


class VoteConfig(Strict):
    """Defaults for polls of this stage, and polls prepared in advance."""

    method: Literal[METHODS] | None = None  # type: ignore[valid-type]
    anonymous: bool = True
    results: Literal["on_close", "live"] = "on_close"
    #: How new polls of this stage break their results down.
    group_by: GroupBy = "sector"
    #: The decision rule of polls by ``method`` (fixed before they open).
    rule: dict[str, Any] = Field(default_factory=dict)
    polls: list[PollSpec] = Field(default_factory=list, max_length=30)

    @model_validator(mode="after")
    def _rule_fits(self) -> VoteConfig:
        if self.rule and self.method is None:
            raise ValueError("rule: give the method the rule belongs to")
        if self.method is not None:
            _check_rule(self.method, self.rule)
        return self


class NoConfig(Strict):
    pass


#: The settings each stage type takes in ``config`` (docs/kits.md lists them).
STAGE_CONFIGS: dict[str, type[BaseModel]] = {
    "welcome": NoConfig,
    "board": BoardConfig,
    "stakeholder_map": MapConfig,
    "agenda": AgendaConfig,
    "vote": VoteConfig,
    "action_plan": NoConfig,
    "signoff": NoConfig,
    "close": NoConfig,
}


def check_stage_config(stage_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` validated for ``stage_type``, with defaults; ValueError naming the key."""
    try:
        model = STAGE_CONFIGS[stage_type].model_validate(config)
    except ValidationError as exc:
        problems = [describe_error(error) for error in exc.errors()]
        raise ValueError("config." + "; config.".join(problems)) from None
    return model.model_dump(exclude_defaults=True)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "(top level)"


def describe_error(error: Any) -> str:
    loc = tuple(p for p in error["loc"] if not str(p).startswith("function-after"))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    if error["type"] == "missing":
        message = "required field is missing"
    if error["type"] == "value_error" and ": " in message:
        # Our own checks start with the field they name, relative to where they run.
        return f"{_location(loc)}.{message}" if loc else message
    return f"{_location(loc)}: {message}"
