"""What blessing means: thresholds, change thresholds against a baseline, and neither."""

import logging

import pytest

from components.evaluator.thresholds import parse_thresholds
from components.evaluator.validation import NO_THRESHOLDS, CheckOutcome, validate

THRESHOLDS = parse_thresholds({"auc": {"lower_bound": 0.7, "max_decrease": 0.01},
                               "log_loss": {"upper_bound": 0.6, "max_increase": 0.05}})


def test_passing_every_bound_blesses_and_lists_each_check():
    validation = validate(THRESHOLDS, {"auc": 0.80, "log_loss": 0.40},
                          baseline={"auc": 0.805, "log_loss": 0.42})
    assert validation.blessed and not validation.failed and validation.notes == ()
    assert [c.outcome for c in validation.checks] == [CheckOutcome.PASSED] * 4
    assert validation.reasons == (
        "PASSED auc: 0.8000 >= lower_bound 0.7.",
        "PASSED auc max_decrease: changed by -0.0050 against the baseline "
        "(0.8050 -> 0.8000); max_decrease is 0.01.",
        "PASSED log_loss: 0.4000 <= upper_bound 0.6.",
        "PASSED log_loss max_increase: changed by -0.0200 against the baseline "
        "(0.4200 -> 0.4000); max_increase is 0.05.")


def test_every_failure_is_a_reason_listed_before_what_passed():
    validation = validate(THRESHOLDS, {"auc": 0.65, "log_loss": 0.50},
                          baseline={"auc": 0.75, "log_loss": 0.40})
    assert not validation.blessed
    assert validation.reasons == (
        "FAILED auc: 0.6500 is below lower_bound 0.7.",
        "FAILED auc max_decrease: changed by -0.1000 against the baseline (0.7500 -> 0.6500); "
        "max_decrease is 0.01.",
        "FAILED log_loss max_increase: changed by +0.1000 against the baseline "
        "(0.4000 -> 0.5000); max_increase is 0.05.",
        "PASSED log_loss: 0.5000 <= upper_bound 0.6.")
    assert [(c.metric, c.bound) for c in validation.failed] == [
        ("auc", "lower_bound"), ("auc", "max_decrease"), ("log_loss", "max_increase")]


def test_an_identical_baseline_passes_zero_change_bounds():
    thresholds = parse_thresholds({"auc": {"max_decrease": 0.0}})
    assert validate(thresholds, {"auc": 0.8}, baseline={"auc": 0.8}).blessed


def test_without_a_baseline_change_bounds_are_skipped_and_the_notes_say_so():
    validation = validate(THRESHOLDS, {"auc": 0.8, "log_loss": 0.4}, baseline=None,
                          no_baseline_reason="nothing is served yet")
    assert validation.blessed
    assert validation.notes == ("No baseline (nothing is served yet): change thresholds "
                                "skipped (auc max_decrease, log_loss max_increase).",)
    assert [c.outcome for c in validation.checks].count(CheckOutcome.SKIPPED) == 2
    assert validation.reasons[0] == validation.notes[0]


def test_a_baseline_that_cannot_be_scored_fails_the_change_bounds():
    validation = validate(THRESHOLDS, {"auc": 0.8, "log_loss": 0.4}, baseline=None,
                          baseline_error="ValueError: no signature")
    assert not validation.blessed
    assert validation.reasons[0] == ("FAILED auc max_decrease: the baseline could not be "
                                     "evaluated (ValueError: no signature).")


def test_no_thresholds_blesses_loudly(caplog):
    with caplog.at_level(logging.WARNING, logger="components.evaluator.validation"):
        validation = validate({}, {"auc": 0.51}, baseline={"auc": 0.9})
    assert validation.blessed and validation.checks == ()
    assert validation.reasons == (NO_THRESHOLDS,)
    assert "nothing was validated" in NO_THRESHOLDS
    assert any("NOTHING WAS VALIDATED" in r.message and r.levelno == logging.WARNING
               for r in caplog.records)


def test_undefined_metrics_fail_and_unknown_ones_are_an_error():
    validation = validate(parse_thresholds({"auc": {"lower_bound": 0.5}}), {"auc": None},
                          baseline=None)
    assert not validation.blessed and "undefined on the eval data" in validation.reasons[0]
    with pytest.raises(ValueError, match=r"Thresholds on \['auc'\].*computes \['mse'\]"):
        validate(parse_thresholds({"auc": {"lower_bound": 0.5}}), {"mse": 1.0}, baseline=None)
