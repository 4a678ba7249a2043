"""Each voting method's tally and decision rule, including ties and edge cases."""

from __future__ import annotations

import pytest

from facilitator.core.errors import DomainError
from facilitator.domain.tally import METHODS, check_rule, outcome
from facilitator.domain.tally_options import instant_runoff


def decide(method, ballots, config=None, **rule):
    return outcome(method, ballots, config or {}, check_rule(method, rule))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_no_ballots_decides_nothing(method):
    config = {"options": ["A", "B", "C"]}
    result = decide(method, [], config)
    assert result["decided"] is None and result["explanation"] == "No ballots."


def test_gradients_half_at_one_to_three_and_no_veto():
    assert decide("gradients", [1, 2, 3, 6])["decided"] is True
    assert decide("gradients", [1, 5, 6, 7])["decided"] is False
    vetoed = decide("gradients", [1, 1, 1, 8])
    assert vetoed["decided"] is False and "veto" in vetoed["explanation"]
    assert vetoed["tally"]["counts"]["8"] == 1
    assert decide("gradients", [1, 1, 5, 5], min_support_share=0.75)["decided"] is False


def test_fist_of_five_everyone_at_three_or_more():
    assert decide("fist", [3, 4, 5])["decided"] is True
    assert decide("fist", [3, 4, 2])["decided"] is False
    assert decide("fist", [5, 5, 0])["decided"] is False


def test_consensus_one_block_stops_it_and_abstentions_do_not_count():
    assert decide("consensus", ["agree", "agree", "disagree", "abstain"])["decided"] is True
    assert decide("consensus", ["agree"] * 9 + ["block"])["decided"] is False
    everyone_abstains = decide("consensus", ["abstain", "abstain"])
    assert everyone_abstains["decided"] is None
    assert everyone_abstains["explanation"] == "Everyone abstained."
    assert decide("consensus", ["agree", "disagree"], min_agree_share=0.75)["decided"] is False


def test_consent_passes_without_objection():
    assert decide("consent", ["consent", "consent"])["decided"] is True
    assert decide("consent", ["consent", "object"])["decided"] is False


def test_yes_no_needs_a_strict_majority_by_default():
    assert decide("yes_no", ["yes", "yes", "no"])["decided"] is True
    assert decide("yes_no", ["yes", "no"])["decided"] is False  # a tie is not a majority
    assert decide("yes_no", ["yes", "no"], strict_majority=False)["decided"] is True
    assert decide("yes_no", ["abstain"])["decided"] is None


def test_dot_vote_most_dots_and_ties():
    config = {"options": ["Pay", "Training", "Deployment"], "dots": 3}
    result = decide("dots", [{"0": 2, "1": 1}, {"0": 1, "2": 2}], config)
    assert result["tally"]["totals"] == [3, 1, 2]
    assert result["tally"]["ranking"] == [0, 2, 1]
    assert result["decided"] is True and result["tally"]["winner"] == 0
    tie = decide("dots", [{"0": 1}, {"1": 1}], config)
    assert tie["decided"] is None and "Tie" in tie["explanation"]


def test_dot_ballots_are_checked():
    method = METHODS["dots"]
    config = {"options": ["A", "B"], "dots": 3, "stacking": False}
    with pytest.raises(DomainError, match="One dot per option"):
        method.validate({"0": 2}, config)
    with pytest.raises(DomainError, match="You have 1 dot; this ballot uses 2"):
        method.validate({"0": 1, "1": 1, "5": 0}, {**config, "options": ["A"] * 6, "dots": 1})
    with pytest.raises(DomainError, match="no option 7"):
        method.validate({"7": 1}, config)


def test_instant_runoff_transfers_votes_until_a_majority():
    # A 4, B 3, C 2 first preferences; C's voters prefer B: B wins in round 2.
    ballots = [[0]] * 4 + [[1, 0]] * 3 + [[2, 1]] * 2
    result = instant_runoff(ballots, 3)
    assert result["rounds"][0] == {"0": 4, "1": 3, "2": 2}
    assert result["winner"] == 1 and len(result["rounds"]) == 2


def test_ranked_points_and_irv_can_differ():
    config = {"options": ["A", "B", "C"]}
    ballots = [[0, 1, 2]] * 3 + [[1, 2, 0]] * 2 + [[2, 1, 0]] * 2
    irv = decide("ranked", ballots, config)
    points = decide("ranked", ballots, config, count="points")
    assert irv["tally"]["winner"] == 1  # C goes first, its voters prefer B
    assert points["tally"]["points"] == [
        3 * 3 + 4 * 1,
        3 * 2 + 2 * 3 + 2 * 2,
        3 * 1 + 2 * 2 + 2 * 3,
    ]
    assert points["tally"]["winner"] == 1


def test_rankings_with_duplicates_or_unknown_options_are_refused():
    method = METHODS["ranked"]
    with pytest.raises(DomainError, match="twice"):
        method.validate([0, 0], {"options": ["A", "B"]})
    with pytest.raises(DomainError, match="does not exist"):
        method.validate([0, 4], {"options": ["A", "B"]})


def test_scale_reports_median_and_applies_a_threshold_when_set():
    result = decide("scale", [1, 4, 5], {"scale_max": 5})
    assert result["tally"]["median"] == 4 and result["decided"] is None
    assert decide("scale", [1, 4, 5], {"scale_max": 5}, min_median=4)["decided"] is True
    with pytest.raises(DomainError, match="from 1 to 5"):
        METHODS["scale"].validate(6, {"scale_max": 5})


def test_a_rule_must_fit_its_method():
    with pytest.raises(DomainError, match="not a rule of Fist of five"):
        check_rule("fist", {"min_agree_share": 0.6})
    with pytest.raises(DomainError, match="Unknown voting method"):
        check_rule("show_of_hands", {})


def test_choices_outside_the_scale_are_refused():
    with pytest.raises(DomainError):
        METHODS["gradients"].validate(9, {})
    with pytest.raises(DomainError):
        METHODS["fist"].validate(True, {})
    with pytest.raises(DomainError):
        METHODS["consensus"].validate("maybe", {})
