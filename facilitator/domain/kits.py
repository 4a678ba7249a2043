"""Workshop kits: TOML files in ``workshop_kits/`` describing a workshop type.

A kit is loaded only by its name (the file stem), validated against the
:class:`Kit` schema, and cached until the file changes. Every problem is
reported as ``KitError`` naming the file, the field and what is wrong.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationError,
    model_validator,
)

from facilitator.core.i18n import N_
from facilitator.domain.stage_configs import (
    STAGE_TYPES,
    Label,
    Option,
    Slug,
    Strict,
    check_stage_config,
    describe_error,
    no_duplicates,
)
from facilitator.domain.tally import METHODS as TALLY_METHODS
from facilitator.domain.tally import describe_rule

KIT_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class StageSpec(Strict):
    id: Slug
    type: Literal[STAGE_TYPES]  # type: ignore[valid-type]
    title: Label
    prompt: str = Field(default="", max_length=2000)
    minutes: int = Field(default=10, ge=1, le=600)
    #: Settings for the stage type; STAGE_CONFIGS gives each type's keys.
    config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _config_fits_type(self) -> StageSpec:
        try:
            check_stage_config(self.type, self.config)
        except ValueError as exc:
            raise ValueError(f"{exc} (stage {self.id!r})") from None
        return self


def describe_stage(stage: StageSpec) -> list[str]:
    """What a stage prepares, in words (for ``facilitator kits show``)."""
    config = stage.config
    lines = []
    if config.get("areas"):
        lines.append(f"areas: {', '.join(config['areas'])}")
    if stage.type == "agenda":
        dots = config.get("dots_per_participant", 3)
        stacking = "stacking allowed" if config.get("allow_stacking", True) else "no stacking"
        lines.append(f"{dots} dots each, {stacking}")
        if config.get("topics"):
            lines.append(f"topics: {'; '.join(config['topics'])}")
    if stage.type == "vote":
        if config.get("method"):
            method = config["method"]
            lines.append(
                f"new polls: {TALLY_METHODS[method].label}{_grouping(config)} "
                f"({describe_rule(method, config.get('rule', {}))})"
            )
        elif _grouping(config):
            lines.append(f"new polls: {_grouping(config).removeprefix(', ')}")
        for poll in config.get("polls", []):
            method = poll["method"]
            secret = "anonymous" if poll.get("anonymous", True) else "named"
            lines.append(
                f"poll: {poll['title']} ({TALLY_METHODS[method].label}, {secret}"
                f"{_grouping(poll)}; {describe_rule(method, poll.get('rule', {}))})"
            )
    return lines


def _grouping(settings: dict[str, Any]) -> str:
    """How results are grouped, in words, when not by sector (the default)."""
    grouping = settings.get("group_by", "sector")
    if grouping == "sector":
        return ""
    return ", no results by group" if grouping == "none" else f", by {grouping}"


class Quadrants(Strict):
    """Labels of the power/interest grid's quadrants (Mendelow)."""

    manage_closely: Label = N_("Key players: manage closely")
    keep_satisfied: Label = N_("Keep satisfied")
    keep_informed: Label = N_("Keep informed")
    monitor: Label = N_("Monitor")


class StarterStakeholder(Strict):
    """A typical actor the stakeholder map starts with (the room adjusts it)."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    category: str = Field(default="", max_length=80)
    sector: str = Field(default="", max_length=60)
    level: str = Field(default="", max_length=40)
    power: float = Field(ge=0)
    interest: float = Field(ge=0)
    notes: str = Field(default="", max_length=500)


class StakeholderMapSpec(Strict):
    """How stakeholders are rated: power and interest from 0 to ``scale_max``."""

    scale_max: int = Field(default=10, ge=2, le=100)
    quadrants: Quadrants = Field(default_factory=Quadrants)
    #: Typical actors placed on the map when a workshop is created.
    starters: list[StarterStakeholder] = Field(default_factory=list, max_length=60)

    @model_validator(mode="after")
    def _starters_on_scale(self) -> StakeholderMapSpec:
        for index, starter in enumerate(self.starters):
            for axis in ("power", "interest"):
                if getattr(starter, axis) > self.scale_max:
                    raise ValueError(
                        f"starters[{index}].{axis}: must be at most scale_max ({self.scale_max})"
                    )
        no_duplicates("starters", [s.name.lower() for s in self.starters], "stakeholder")
        return self


#: The standard columns of an action plan, in display order (see docs/plan.md).
PLAN_COLUMNS: dict[str, str] = {
    "objective": N_("Objective"),
    "activity": N_("Activity"),
    "action_field": N_("Action field"),
    "cycle_phase": N_("Cycle phase"),
    "sector": N_("Sector"),
    "lead": N_("Lead organisation (accountable)"),
    "partners": N_("Supporting partners"),
    "level": N_("Level"),
    "geography": N_("Geography"),
    "start": N_("Start"),
    "due": N_("Due"),
    "budget": N_("Budget and funding source"),
    "indicator": N_("Indicator"),
    "baseline": N_("Baseline"),
    "target": N_("Target"),
    "verification": N_("Means of verification"),
    "risks": N_("Risks and assumptions"),
    "review_date": N_("Review date"),
    "status": N_("Status"),
}
#: The fields that hold a column's value, where that is not one field of its own name.
COLUMN_FIELDS = {"budget": ("budget_amount", "budget_currency", "budget_source")}


def plan_fields(columns: Iterable[str] = PLAN_COLUMNS) -> tuple[str, ...]:
    """The fields an action keeps for ``columns``, in their order."""
    return tuple(field for column in columns for field in COLUMN_FIELDS.get(column, (column,)))


#: Columns every plan has: what is done, and who is accountable for it.
REQUIRED_PLAN_COLUMNS = ("activity", "lead")


class PlanSpec(Strict):
    """Which columns the action plan has: standard ones, and the kit's own text columns."""

    columns: list[str] = Field(default_factory=lambda: list(PLAN_COLUMNS), max_length=40)
    custom_columns: list[Option] = Field(default_factory=list, max_length=10)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"

    @model_validator(mode="after")
    def _known_columns(self) -> PlanSpec:
        for index, column in enumerate(self.columns):
            if column not in PLAN_COLUMNS:
                raise ValueError(
                    f"columns[{index}]: unknown column {column!r}; "
                    f"the standard columns are {', '.join(PLAN_COLUMNS)}"
                )
        no_duplicates("columns", self.columns, "column")
        for column in REQUIRED_PLAN_COLUMNS:
            if column not in self.columns:
                raise ValueError(f"columns: a plan must have the {column!r} column")
        for index, option in enumerate(self.custom_columns):
            if option.id in PLAN_COLUMNS:
                raise ValueError(f"custom_columns[{index}].id: {option.id!r} is a standard column")
        no_duplicates("custom_columns", [o.id for o in self.custom_columns], "column id")
        return self


class Kit(Strict):
    """The schema of a kit file (documented field by field in docs/kits.md)."""

    format: Literal[1] = 1
    title: Label
    summary: str = Field(default="", max_length=1000)
    sectors: list[Label] = Field(min_length=1, max_length=60)
    stakeholder_categories: list[Label] = Field(default_factory=list, max_length=60)
    levels: list[Label] = Field(default_factory=list, max_length=20)
    action_fields: list[Option] = Field(default_factory=list, max_length=30)
    cycle_phases: list[Option] = Field(default_factory=list, max_length=20)
    stakeholder_map: StakeholderMapSpec = Field(default_factory=StakeholderMapSpec)
    plan: PlanSpec = Field(default_factory=PlanSpec)
    stages: list[StageSpec] = Field(min_length=1, max_length=60)

    @model_validator(mode="after")
    def _unique_names(self) -> Kit:
        no_duplicates("stages", [s.id for s in self.stages], "stage id")
        no_duplicates("sectors", [s.lower() for s in self.sectors], "sector")
        no_duplicates(
            "stakeholder_categories", [c.lower() for c in self.stakeholder_categories], "category"
        )
        no_duplicates("action_fields", [o.id for o in self.action_fields], "action field id")
        no_duplicates("cycle_phases", [o.id for o in self.cycle_phases], "cycle phase id")
        return self

    @property
    def total_minutes(self) -> int:
        return sum(stage.minutes for stage in self.stages)


class KitError(Exception):
    """A kit that cannot be used: names the file, the field and the problem."""

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(f"{file}: " + "; ".join(problems))


def parse_kit(text: str, file: str) -> Kit:
    """Parse and validate kit text; ``file`` is only used in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KitError(file, [f"not valid TOML: {exc}"]) from None
    try:
        return Kit.model_validate(data)
    except ValidationError as exc:
        raise KitError(file, [describe_error(e) for e in exc.errors()]) from None


class KitLibrary:
    """The kits folder: lists kit names, loads them by name, caches by mtime."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._cache: dict[str, tuple[float, Kit]] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.toml") if KIT_NAME_RE.match(p.stem))

    def path(self, name: str) -> Path:
        if not KIT_NAME_RE.match(name):
            raise KitError(name, ["not a kit name (lowercase letters, digits, '-' and '_')"])
        path = self.folder / f"{name}.toml"
        if not path.is_file():
            raise KitError(f"{self.folder.name}/{name}.toml", ["no such kit"])
        return path

    def load(self, name: str) -> Kit:
        path = self.path(name)
        mtime = path.stat().st_mtime
        with self._lock:
            cached = self._cache.get(name)
            if cached and cached[0] == mtime:
                return cached[1]
        kit = load_file(path, display=f"{self.folder.name}/{path.name}")
        with self._lock:
            self._cache[name] = (mtime, kit)
        return kit

    def load_all(self) -> tuple[dict[str, Kit], list[KitError]]:
        """Every valid kit by name, and the errors of the invalid ones."""
        kits: dict[str, Kit] = {}
        errors: list[KitError] = []
        for name in self.names():
            try:
                kits[name] = self.load(name)
            except KitError as exc:
                errors.append(exc)
        return kits, errors


def load_file(path: Path, display: str | None = None) -> Kit:
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KitError(shown, [f"cannot be read: {exc}"]) from None
    return parse_kit(text, shown)
