"""Voting methods: what a ballot may hold, how ballots are counted, when a
decision is reached. Pure functions, no database.

Each method declares its choices and its default decision rule (from group
decision practice: Kaner's gradients of agreement, fist of five, consensus and
consent as practised in sociocracy, dot voting, ranked choice). The rule is
fixed before a poll opens and recorded with the outcome.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from facilitator.core.errors import INVALID, DomainError
from facilitator.core.i18n import N_
from facilitator.domain.tally_options import (
    count_dots,
    count_ranked,
    count_scale,
    decide_most,
    decide_ranked,
    decide_scale,
    validate_dots,
    validate_ranking,
    validate_scale,
)

GRADIENTS = {
    1: N_("Whole-hearted endorsement"),
    2: N_("Agree with a minor point"),
    3: N_("Support with reservations"),
    4: N_("Abstain"),
    5: N_("More discussion needed"),
    6: N_("Don't like it but will support it"),
    7: N_("Serious disagreement"),
    8: N_("Veto"),
}
FIST = {
    0: N_("Block"),
    1: N_("Serious concerns"),
    2: N_("Concerns"),
    3: N_("Can live with it"),
    4: N_("Support"),
    5: N_("Will champion it"),
}
CONSENSUS = {
    "agree": N_("Agree"),
    "abstain": N_("Abstain"),
    "disagree": N_("Disagree"),
    "block": N_("Block"),
}
CONSENT = {"consent": N_("Consent"), "object": N_("Reasoned objection")}
YES_NO = {"yes": N_("Yes"), "no": N_("No"), "abstain": N_("Abstain")}


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    #: Choices whose ballot must carry a reason (veto, block, objection).
    needs_reason: frozenset[Any]
    default_rule: dict[str, Any]
    validate: Callable[[Any, dict[str, Any]], Any]
    count: Callable[[list[Any], dict[str, Any]], dict[str, Any]]
    decide: Callable[[dict[str, Any], dict[str, Any]], tuple[bool | None, str]]


def _fixed(choices: dict[Any, str]) -> Callable[[Any, dict[str, Any]], Any]:
    def validate(choice: Any, config: dict[str, Any]) -> Any:
        if isinstance(choice, bool) or choice not in choices:
            allowed = ", ".join(str(c) for c in choices)
            raise DomainError(
                INVALID, "Choose one of {choices}.", values={"choices": allowed}, field="choice"
            )
        return choice

    return validate


def _counts(choices: dict[Any, str]) -> Callable[[list[Any], dict[str, Any]], dict[str, Any]]:
    def count(ballots: list[Any], config: dict[str, Any]) -> dict[str, Any]:
        seen = Counter(ballots)
        return {"counts": {str(c): seen.get(c, 0) for c in choices}, "ballots": len(ballots)}

    return count


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


# -- gradients of agreement (Kaner) ----------------------------------------------------------


def _decide_gradients(tally: dict[str, Any], rule: dict[str, Any]) -> tuple[bool | None, str]:
    counts = {int(k): v for k, v in tally["counts"].items()}
    total = tally["ballots"]
    if not total:
        return None, "No ballots."
    if counts.get(8, 0) and rule.get("veto_blocks", True):
        return False, f"{counts[8]} veto."
    support = sum(counts.get(k, 0) for k in (1, 2, 3))
    share = _share(support, total)
    needed = rule.get("min_support_share", 0.5)
    if share >= needed:
        return True, f"{support} of {total} at 1–3 ({share:.0%}, needed {needed:.0%}), no veto."
    return False, f"Only {support} of {total} at 1–3 ({share:.0%}, needed {needed:.0%})."


# -- fist of five --------------------------------------------------------------------------


def _decide_fist(tally: dict[str, Any], rule: dict[str, Any]) -> tuple[bool | None, str]:
    counts = {int(k): v for k, v in tally["counts"].items()}
    total = tally["ballots"]
    if not total:
        return None, "No ballots."
    floor = rule.get("min_fingers", 3)
    below = sum(v for k, v in counts.items() if k < floor)
    if below:
        return False, f"{below} of {total} below {floor} fingers."
    return True, f"Everyone at {floor} fingers or more."


# -- consensus: agree / abstain / disagree / block ------------------------------------------


def _decide_consensus(tally: dict[str, Any], rule: dict[str, Any]) -> tuple[bool | None, str]:
    c = tally["counts"]
    if not tally["ballots"]:
        return None, "No ballots."
    if c["block"]:
        return False, f"{c['block']} block."
    voting = c["agree"] + c["disagree"]
    if not voting:
        return None, "Everyone abstained."
    share = _share(c["agree"], voting)
    needed = rule.get("min_agree_share", 0.5)
    if share >= needed:
        return True, f"{c['agree']} of {voting} agree ({share:.0%}, needed {needed:.0%}), no block."
    return False, f"{c['agree']} of {voting} agree ({share:.0%}, needed {needed:.0%})."


def _decide_consent(tally: dict[str, Any], rule: dict[str, Any]) -> tuple[bool | None, str]:
    c = tally["counts"]
    if not tally["ballots"]:
        return None, "No ballots."
    if c["object"]:
        return False, f"{c['object']} reasoned objection."
    return True, "No objection."


def _decide_yes_no(tally: dict[str, Any], rule: dict[str, Any]) -> tuple[bool | None, str]:
    c = tally["counts"]
    if not tally["ballots"]:
        return None, "No ballots."
    voting = c["yes"] + c["no"]
    if not voting:
        return None, "Everyone abstained."
    share = _share(c["yes"], voting)
    needed = rule.get("min_yes_share", 0.5)
    passed = share > needed if rule.get("strict_majority", True) else share >= needed
    word = "more than" if rule.get("strict_majority", True) else "at least"
    return passed, f"{c['yes']} yes of {voting} ({share:.0%}; needed {word} {needed:.0%})."


# -- dot voting across options ------------------------------------------------------------------


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "gradients",
            N_("Gradients of agreement"),
            frozenset({8}),
            {"min_support_share": 0.5, "veto_blocks": True},
            _fixed(GRADIENTS),
            _counts(GRADIENTS),
            _decide_gradients,
        ),
        Method(
            "fist",
            N_("Fist of five"),
            frozenset({0}),
            {"min_fingers": 3},
            _fixed(FIST),
            _counts(FIST),
            _decide_fist,
        ),
        Method(
            "consensus",
            N_("Consensus"),
            frozenset({"block"}),
            {"min_agree_share": 0.5},
            _fixed(CONSENSUS),
            _counts(CONSENSUS),
            _decide_consensus,
        ),
        Method(
            "consent",
            N_("Consent"),
            frozenset({"object"}),
            {},
            _fixed(CONSENT),
            _counts(CONSENT),
            _decide_consent,
        ),
        Method(
            "yes_no",
            N_("Yes / no / abstain"),
            frozenset(),
            {"min_yes_share": 0.5, "strict_majority": True},
            _fixed(YES_NO),
            _counts(YES_NO),
            _decide_yes_no,
        ),
        Method("dots", N_("Dot vote"), frozenset(), {}, validate_dots, count_dots, decide_most),
        Method(
            "ranked",
            N_("Ranked choice"),
            frozenset(),
            {"count": "irv"},
            validate_ranking,
            count_ranked,
            decide_ranked,
        ),
        Method(
            "scale",
            N_("Scale 1 to N"),
            frozenset(),
            {"min_median": None},
            validate_scale,
            count_scale,
            decide_scale,
        ),
    )
}

RULE_KEYS = {name: set(m.default_rule) for name, m in METHODS.items()}


FIXED_CHOICES = {
    "gradients": GRADIENTS,
    "fist": FIST,
    "consensus": CONSENSUS,
    "consent": CONSENT,
    "yes_no": YES_NO,
}


def choices(method: str, config: dict[str, Any]) -> list[list[Any]]:
    """The [value, label] pairs a phone offers; empty for options-based methods."""
    if method in FIXED_CHOICES:
        return [[value, label] for value, label in FIXED_CHOICES[method].items()]
    if method == "scale":
        return [[v, str(v)] for v in range(1, int(config.get("scale_max", 5)) + 1)]
    return []


def check_rule(method: str, rule: dict[str, Any]) -> dict[str, Any]:
    """The method's default rule with the given changes; unknown keys are an error."""
    if method not in METHODS:
        raise DomainError(
            INVALID,
            "Unknown voting method {method}.",
            values={"method": repr(method)},
            field="method",
        )
    unknown = set(rule) - RULE_KEYS[method]
    if unknown:
        keys = ", ".join(sorted(RULE_KEYS[method]))
        values = {"unknown": ", ".join(sorted(unknown)), "method": METHODS[method].label}
        if not keys:
            raise DomainError(
                INVALID,
                "{unknown} is not a rule of {method}; its rule takes nothing.",
                values=values,
                field="rule",
            )
        raise DomainError(
            INVALID,
            "{unknown} is not a rule of {method}; its rule takes {keys}.",
            values={**values, "keys": keys},
            field="rule",
        )
    return {**METHODS[method].default_rule, **rule}


def outcome(
    method: str, ballots: list[Any], config: dict[str, Any], rule: dict[str, Any]
) -> dict[str, Any]:
    """The full tally and the decision under ``rule``."""
    m = METHODS[method]
    tally = m.count(ballots, config)
    decided, explanation = m.decide(tally, rule)
    return {"tally": tally, "decided": decided, "explanation": explanation, "rule": rule}


def describe_rule(method: str, rule: dict[str, Any]) -> str:
    """The decision rule in words, for the record (the PDF, the console)."""
    rule = {**METHODS[method].default_rule, **rule}

    def pct(share: float) -> str:
        return f"{round(share * 100)}%"

    if method == "gradients":
        text = f"at least {pct(rule['min_support_share'])} at 1-3 (support)"
        return ("No veto, and " if rule["veto_blocks"] else "") + text
    if method == "fist":
        return f"Everyone at {rule['min_fingers']} fingers or more"
    if method == "consensus":
        return f"No block, and at least {pct(rule['min_agree_share'])} agree"
    if method == "consent":
        return "No reasoned objection"
    if method == "yes_no":
        word = "more than" if rule["strict_majority"] else "at least"
        return f"{word.capitalize()} {pct(rule['min_yes_share'])} of ballots say yes"
    if method == "dots":
        return "The option with the most dots"
    if method == "ranked":
        return "Most points" if rule["count"] == "points" else "Instant run-off majority"
    if rule.get("min_median") is not None:
        return f"Median of at least {rule['min_median']}"
    return "The distribution is recorded; no threshold"


def tally_rows(method: str, config: dict[str, Any], tally: dict[str, Any]) -> list[dict[str, Any]]:
    """The tally as labelled rows (choice or option, count), whatever the method."""
    if method in FIXED_CHOICES:
        labels = FIXED_CHOICES[method]
        counts = tally.get("counts", {})
        numbered = method in ("gradients", "fist")
        return [
            {"label": f"{value} {label}" if numbered else label, "count": counts.get(str(value), 0)}
            for value, label in labels.items()
        ]
    if method == "scale":
        return [{"label": v, "count": n} for v, n in tally.get("counts", {}).items()]
    options = list(config.get("options") or [])
    if method == "dots":
        totals = tally.get("totals", [])
        return [
            {"label": o, "count": totals[i] if i < len(totals) else 0}
            for i, o in enumerate(options)
        ]
    if method == "ranked":
        points = tally.get("points", [])
        return [
            {"label": f"{o} (points)", "count": points[i] if i < len(points) else 0}
            for i, o in enumerate(options)
        ]
    return []


def choice_label(method: str, config: dict[str, Any], choice: Any) -> str:
    """A ballot's choice in words (for reasons on record)."""
    if method in FIXED_CHOICES:
        label = FIXED_CHOICES[method].get(choice, str(choice))
        return f"{choice} {label}" if method in ("gradients", "fist") else label
    return str(choice)
