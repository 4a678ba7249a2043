"""The voting methods whose choices are a scale or the poll's own options: a 1..N scale,
dot voting across options, ranked choice (instant run-off, and points). Pure functions
used by :data:`facilitator.domain.tally.METHODS`."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from facilitator.core.errors import INVALID, DomainError


def validate_scale(choice: Any, config: dict[str, Any]) -> Any:
    top = int(config.get("scale_max", 5))
    if isinstance(choice, bool) or not isinstance(choice, int) or not 1 <= choice <= top:
        raise DomainError(
            INVALID, "Choose a whole number from 1 to {top}.", values={"top": top}, field="choice"
        )
    return choice


def count_scale(ballots: list[Any], config: dict[str, Any]) -> dict[str, Any]:
    top = int(config.get("scale_max", 5))
    seen = Counter(ballots)
    return {
        "counts": {str(v): seen.get(v, 0) for v in range(1, top + 1)},
        "ballots": len(ballots),
        "median": statistics.median(ballots) if ballots else None,
        "mean": round(statistics.fmean(ballots), 2) if ballots else None,
    }


def decide_scale(tally: dict[str, Any], rule: dict[str, Any]) -> tuple[bool | None, str]:
    if not tally["ballots"]:
        return None, "No ballots."
    threshold = rule.get("min_median")
    if threshold is None:
        return None, f"Median {tally['median']}, mean {tally['mean']} (no decision rule)."
    passed = tally["median"] >= threshold
    return passed, f"Median {tally['median']} (needed {threshold})."


def poll_options(config: dict[str, Any]) -> list[str]:
    options = config.get("options") or []
    if len(options) < 2:
        raise DomainError(INVALID, "This method needs at least two options.", field="options")
    return list(options)


def validate_dots(choice: Any, config: dict[str, Any]) -> Any:
    """A dot ballot: {option index: dots}, within the dots each has."""
    options = poll_options(config)
    dots = int(config.get("dots", 3))
    if not isinstance(choice, dict) or not choice:
        raise DomainError(INVALID, "Put your dots on one or more options.", field="choice")
    cleaned: dict[str, int] = {}
    for key, value in choice.items():
        if not str(key).isdigit() or not 0 <= int(key) < len(options):
            raise DomainError(
                INVALID, "There is no option {key}.", values={"key": key}, field="choice"
            )
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise DomainError(INVALID, "Dots are whole numbers.", field="choice")
        if value > 1 and not config.get("stacking", True):
            raise DomainError(INVALID, "One dot per option in this vote.", field="choice")
        if value:
            cleaned[str(int(key))] = value
    used = sum(cleaned.values())
    if used > dots:
        if dots == 1:
            raise DomainError(
                INVALID,
                "You have {dots} dot; this ballot uses {used}.",
                values={"dots": dots, "used": used},
                field="choice",
            )
        raise DomainError(
            INVALID,
            "You have {dots} dots; this ballot uses {used}.",
            values={"dots": dots, "used": used},
            field="choice",
        )
    if not used:
        raise DomainError(INVALID, "Put your dots on one or more options.", field="choice")
    return cleaned


def count_dots(ballots: list[Any], config: dict[str, Any]) -> dict[str, Any]:
    options = poll_options(config)
    totals = [0] * len(options)
    for ballot in ballots:
        for key, value in ballot.items():
            totals[int(key)] += value
    order = sorted(range(len(options)), key=lambda i: (-totals[i], i))
    return {"totals": totals, "ranking": order, "ballots": len(ballots)}


def decide_most(tally: dict[str, Any], rule: dict[str, Any]) -> tuple[bool | None, str]:
    if not tally["ballots"]:
        return None, "No ballots."
    totals = tally["totals"]
    best = max(totals)
    winners = [i for i, t in enumerate(totals) if t == best]
    if len(winners) > 1:
        return None, f"Tie between options {', '.join(str(i + 1) for i in winners)}."
    tally["winner"] = winners[0]
    return True, f"Option {winners[0] + 1} leads with {best}."


def validate_ranking(choice: Any, config: dict[str, Any]) -> Any:
    options = poll_options(config)
    if not isinstance(choice, list) or not choice:
        raise DomainError(INVALID, "Rank the options, best first.", field="choice")
    if any(isinstance(i, bool) or not isinstance(i, int) for i in choice):
        raise DomainError(INVALID, "A ranking lists option numbers.", field="choice")
    if len(set(choice)) != len(choice):
        raise DomainError(INVALID, "A ranking cannot name an option twice.", field="choice")
    if any(not 0 <= i < len(options) for i in choice):
        raise DomainError(
            INVALID, "The ranking names an option that does not exist.", field="choice"
        )
    return list(choice)


def instant_runoff(ballots: list[list[int]], n: int) -> dict[str, Any]:
    """Rounds of elimination until an option has a majority of the ballots still counting.

    Ties for last place are broken by fewer first preferences overall, then by
    the higher option number, so the count is reproducible.
    """
    remaining = set(range(n))
    firsts = Counter(b[0] for b in ballots if b)
    rounds = []
    while remaining:
        counts = dict.fromkeys(sorted(remaining), 0)
        for ballot in ballots:
            top = next((i for i in ballot if i in remaining), None)
            if top is not None:
                counts[top] += 1
        active = sum(counts.values())
        rounds.append({str(k): v for k, v in counts.items()})
        if not active:
            return {"rounds": rounds, "winner": None}
        leader = max(counts, key=lambda k: (counts[k], -k))
        if counts[leader] * 2 > active or len(remaining) == 1:
            return {"rounds": rounds, "winner": leader}
        loser = min(remaining, key=lambda k: (counts[k], firsts.get(k, 0), -k))
        remaining.discard(loser)
    return {"rounds": rounds, "winner": None}


def count_ranked(ballots: list[Any], config: dict[str, Any]) -> dict[str, Any]:
    n = len(poll_options(config))
    points = [0] * n
    for ballot in ballots:
        for place, option in enumerate(ballot):
            points[option] += n - place  # Borda: n for first, 1 for last ranked
    return {"ballots": len(ballots), "points": points, "irv": instant_runoff(ballots, n)}


def decide_ranked(tally: dict[str, Any], rule: dict[str, Any]) -> tuple[bool | None, str]:
    if not tally["ballots"]:
        return None, "No ballots."
    if rule.get("count", "irv") == "points":
        best = max(tally["points"])
        winners = [i for i, p in enumerate(tally["points"]) if p == best]
        if len(winners) > 1:
            return None, f"Tie on points between options {', '.join(str(i + 1) for i in winners)}."
        tally["winner"] = winners[0]
        return True, f"Option {winners[0] + 1} has the most points ({best})."
    winner = tally["irv"]["winner"]
    if winner is None:
        return None, "No option reached a majority."
    tally["winner"] = winner
    return True, f"Option {winner + 1} wins after {len(tally['irv']['rounds'])} round(s)."
