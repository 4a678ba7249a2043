"""Kit files: the shipped kits are valid; broken ones are reported by file and field."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from facilitator.core.config import PROJECT_ROOT
from facilitator.domain.kits import KitError, KitLibrary, load_file
from facilitator.domain.stage_configs import STAGE_TYPES

BAD = Path(__file__).parent / "kits_bad"
FACILITATOR = Path(sys.executable).parent / "facilitator"


def test_every_shipped_kit_validates():
    library = KitLibrary(PROJECT_ROOT / "workshop_kits")
    kits, errors = library.load_all()
    assert errors == []
    assert "hrh-action-framework" in kits


def test_the_hrh_kit_covers_the_whole_arc_and_the_framework():
    kit = KitLibrary(PROJECT_ROOT / "workshop_kits").load("hrh-action-framework")
    types = [stage.type for stage in kit.stages]
    for needed in (
        "welcome",
        "stakeholder_map",
        "agenda",
        "vote",
        "action_plan",
        "signoff",
        "close",
    ):
        assert needed in types
    assert types[0] == "welcome" and types[-1] == "close"
    assert [f.name for f in kit.action_fields] == [
        "Policy",
        "HR Management Systems",
        "Finance",
        "Education",
        "Partnership",
        "Leadership",
    ]
    assert [p.id for p in kit.cycle_phases] == [
        "situation-analysis",
        "planning",
        "implementation",
        "monitoring-evaluation",
    ]
    assert len(kit.sectors) >= 5
    assert all(stage.prompt for stage in kit.stages)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unknown_stage_type", ["stages[1].type:", "'welcome'"]),
        ("missing_title", ["title: required field is missing"]),
        ("duplicate_stage", ["stages[1]: duplicate stage id 'welcome'"]),
        ("not_toml", ["not valid TOML"]),
        ("unknown_field", ["colour: unknown field", "stages[0].minutes:"]),
        (
            "rule_for_another_method",
            [
                "stages[0].config.rule: min_fingers is not a rule of Gradients of agreement",
                "stages[1].config.polls[0].options: a ranked poll needs at least two options",
            ],
        ),
        (
            "bad_stage_config",
            [
                "stages[0].config.authors: Input should be 'show'",
                "stages[1].config.dots_per_participant: Input should be greater than or equal to 1",
                "stakeholder_map.starters[0].power: must be at most scale_max (10)",
            ],
        ),
    ],
)
def test_broken_kits_name_file_field_and_problem(name, expected):
    path = BAD / f"{name}.toml"
    with pytest.raises(KitError) as caught:
        load_file(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    for part in expected:
        assert part in message


def test_kits_load_only_by_name(tmp_path):
    library = KitLibrary(PROJECT_ROOT / "workshop_kits")
    for bad in ("../pyproject", "/etc/passwd", "HRH", "hrh action", ""):
        with pytest.raises(KitError):
            library.load(bad)


def test_the_cache_notices_a_changed_file(tmp_path):
    source = (PROJECT_ROOT / "workshop_kits" / "hrh-action-framework.toml").read_text()
    (tmp_path / "mine.toml").write_text(source)
    library = KitLibrary(tmp_path)
    first = library.load("mine")
    assert library.load("mine") is first
    changed = source.replace(
        'title = "HRH Action Framework planning workshop"', 'title = "Changed"', 1
    )
    path = tmp_path / "mine.toml"
    before = path.stat().st_mtime
    path.write_text(changed)
    os.utime(path, (before + 5, before + 5))  # a coarse clock must not hide the change
    assert library.load("mine").title == "Changed"


def test_stage_types_are_documented_in_the_schema():
    assert set(STAGE_TYPES) >= {"welcome", "board", "stakeholder_map", "vote", "close"}


def test_cli_validate_passes_for_shipped_kits():
    result = subprocess.run(
        [str(FACILITATOR), "kits", "validate"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "ok   " in result.stdout and "hrh-action-framework.toml" in result.stdout


def test_cli_validate_fails_with_file_field_and_reason():
    files = [
        str(BAD / "duplicate_stage.toml"),
        str(PROJECT_ROOT / "workshop_kits" / "hrh-action-framework.toml"),
    ]
    result = subprocess.run(
        [str(FACILITATOR), "kits", "validate", *files], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "FAIL" in result.stderr and "duplicate_stage.toml" in result.stderr
    assert "duplicate stage id 'welcome'" in result.stderr
    assert "1 of 2 kit files are invalid" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_show_prints_the_outline_with_clock_times():
    result = subprocess.run(
        [str(FACILITATOR), "kits", "show", "multisectoral-nutrition", "--start", "08:30"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Multisectoral nutrition action planning  [multisectoral-nutrition]"
    assert "08:30   1. Welcome: one plan, every sector  (welcome, 15 min)" in lines
    assert "08:45   2. A shared goal first  (vote, 30 min)" in lines
    assert any(
        "poll: Our shared goal (Consensus, anonymous; No block, and at least 75% agree)" in line
        for line in lines
    )
    assert lines[-1] == "13:45  end"
    missing = subprocess.run(
        [str(FACILITATOR), "kits", "show", "no-such-kit"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1 and "no such kit" in missing.stderr
    assert "partnership-health-check" in missing.stderr
    bad_time = subprocess.run(
        [str(FACILITATOR), "kits", "show", "multisectoral-nutrition", "--start", "25:00"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad_time.returncode == 2 and "is not a time like 09:00" in bad_time.stderr


def test_the_documented_example_is_a_valid_kit_and_every_setting_is_documented():
    from facilitator.domain.kits import StarterStakeholder, parse_kit
    from facilitator.domain.stage_configs import STAGE_CONFIGS, PollSpec

    doc = (PROJECT_ROOT / "docs" / "kits.md").read_text()
    example = doc.split("## Example")[1].split("```toml")[1].split("```")[0]
    kit = parse_kit(example, "docs/kits.md example")
    assert [s.type for s in kit.stages] == ["welcome", "board", "vote", "action_plan", "close"]
    keys = {k for model in STAGE_CONFIGS.values() for k in model.model_fields}
    keys |= set(PollSpec.model_fields) | set(StarterStakeholder.model_fields)
    assert [k for k in sorted(keys) if f"`{k}`" not in doc] == []
