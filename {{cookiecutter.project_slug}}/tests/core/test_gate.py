"""The gate's pure decision: every rule and its edge cases, with no model or registry."""

import math

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.core.config import ReleaseConfig
from {{ cookiecutter.package_name }}.core.gate import (
    Evaluation,
    decide,
    improvement,
    paired_bootstrap,
)
from {{ cookiecutter.package_name }}.core.metrics import METRICS, Outcome

SCHEMA = ("bill_length_mm:double", "island:string")


def rules(**changes: object) -> ReleaseConfig:
    base: dict[str, object] = {
        "mode": "auto",
        "primary_metric": "accuracy",
        "floor": 0.8,
        "slice_tolerance": 0.05,
        "latency_factor": 1.5,
        "fairness": {"disparity": "equalized_odds_difference", "bound": 0.2, "tolerance": 0.02},
    }
    return ReleaseConfig.model_validate({**base, **changes})


def evaluation(
    accuracy: float,
    slices: dict[str, float] | None = None,
    *,
    p95_ms: float = 10.0,
    schema: tuple[str, ...] = SCHEMA,
    baseline: float = 0.4,
    fairness: dict[str, float] | None = None,
) -> Evaluation:
    return Evaluation(
        {"accuracy": accuracy},
        {name: {"accuracy": value} for name, value in (slices or {}).items()},
        p95_ms,
        schema,
        baseline={"accuracy": baseline},
        fairness=fairness or {},
    )


def rule(decision_rules: list, name: str):  # type: ignore[no-untyped-def]
    return next(result for result in decision_rules if result.rule == name)


def test_no_champion_needs_the_floor() -> None:
    assert decide(evaluation(0.85), None, rules()).passed
    rejected = decide(evaluation(0.75), None, rules())
    assert not rejected.passed
    assert "floor" in rejected.reason
    assert [r.rule for r in rejected.rules] == ["floor", "baseline", "fairness"]


def test_floor_is_direction_aware_for_lower_is_better() -> None:
    rmse_rules = rules(primary_metric="rmse", floor=500.0)
    baseline = {"rmse": 800.0}
    assert decide(Evaluation({"rmse": 300.0}, baseline=baseline), None, rmse_rules).passed
    assert not decide(Evaluation({"rmse": 700.0}, baseline=baseline), None, rmse_rules).passed


def test_better_challenger_passes_every_rule() -> None:
    decision = decide(
        evaluation(0.95, {"island=Dream": 0.9}), evaluation(0.9, {"island=Dream": 0.9}), rules()
    )
    assert decision.passed, decision.reason
    assert {r.rule for r in decision.rules} == {
        "primary_metric",
        "baseline",
        "slices",
        "bootstrap",
        "fairness",
        "fairness_vs_champion",
        "latency",
        "schema",
    }


def test_a_tie_is_not_an_improvement() -> None:
    decision = decide(evaluation(0.9), evaluation(0.9), rules())
    assert not decision.passed
    assert "primary_metric" in decision.reason


def test_min_delta_absolute_and_relative() -> None:
    assert not decide(evaluation(0.91), evaluation(0.9), rules(min_delta=0.02)).passed
    assert decide(evaluation(0.93), evaluation(0.9), rules(min_delta=0.02)).passed
    relative = rules(min_delta=0.05, min_delta_kind="relative")  # needs +0.045 over 0.9
    assert not decide(evaluation(0.94), evaluation(0.9), relative).passed
    assert decide(evaluation(0.95), evaluation(0.9), relative).passed


def test_lower_is_better_metric_improves_downwards() -> None:
    assert improvement("rmse", 90.0, 100.0) == pytest.approx(10.0)
    assert improvement("accuracy", 0.8, 0.9) == pytest.approx(-0.1)
    rmse_rules = rules(primary_metric="rmse", floor=500.0)
    assert (
        decide(Evaluation({"rmse": 90.0}), Evaluation({"rmse": 100.0}), rmse_rules).rules[0].passed
    )


@pytest.mark.parametrize(
    ("new", "old", "who"), [(math.nan, 0.9, "challenger"), (0.9, math.nan, "champion")]
)
def test_nan_metric_fails_naming_which_model(new: float, old: float, who: str) -> None:
    decision = decide(evaluation(new), evaluation(old), rules())
    assert not decision.passed
    assert f"{who} accuracy is undefined" in decision.reason


def test_nan_metric_without_champion_fails_the_floor() -> None:
    assert not decide(evaluation(math.nan), None, rules()).passed


def test_a_slice_worse_beyond_tolerance_fails_and_is_named() -> None:
    challenger = evaluation(0.95, {"island=Dream": 0.80, "island=Biscoe": 0.99})
    champion = evaluation(0.90, {"island=Dream": 0.90, "island=Biscoe": 0.99})
    decision = decide(challenger, champion, rules())
    assert not decision.passed
    assert "island=Dream" in rule(decision.rules, "slices").reason
    assert "island=Biscoe" not in rule(decision.rules, "slices").reason


def test_a_slice_within_tolerance_passes() -> None:
    challenger = evaluation(0.95, {"island=Dream": 0.87})
    champion = evaluation(0.90, {"island=Dream": 0.90})  # 3% worse, tolerance 5%
    assert rule(decide(challenger, champion, rules()).rules, "slices").passed


def test_missing_or_undefined_slices_are_reported_not_compared() -> None:
    challenger = evaluation(0.95, {"island=Dream": 0.9, "sex=female": math.nan})
    champion = evaluation(0.90, {"island=Dream": 0.9, "island=Torgersen": 0.9})
    result = rule(decide(challenger, champion, rules()).rules, "slices")
    assert result.passed
    assert set(result.values["skipped"]) == {"island=Torgersen", "sex=female"}
    assert result.values["compared"] == 1


def test_bootstrap_interval_must_lie_above_zero() -> None:
    better, champion = evaluation(0.95), evaluation(0.9)
    assert decide(better, champion, rules(), bootstrap_interval=(0.01, 0.09)).passed
    straddles = decide(better, champion, rules(), bootstrap_interval=(-0.02, 0.09))
    assert not straddles.passed
    assert "includes 0" in straddles.reason
    assert not decide(better, champion, rules(), bootstrap_interval=(math.nan, math.nan)).passed


def test_latency_over_the_factor_fails() -> None:
    decision = decide(evaluation(0.95, p95_ms=16.0), evaluation(0.9, p95_ms=10.0), rules())
    assert not decision.passed
    assert "latency" in decision.reason and "1.5x champion (15.00 ms)" in decision.reason
    assert decide(evaluation(0.95, p95_ms=14.0), evaluation(0.9, p95_ms=10.0), rules()).passed


def test_latency_within_the_allowance_passes_whatever_the_factor() -> None:
    compiled = evaluation(0.9, p95_ms=0.1)  # a compiled champion: a tenth of a millisecond
    assert decide(evaluation(0.95, p95_ms=4.0), compiled, rules()).passed  # 40x, yet 4 ms
    decision = decide(evaluation(0.95, p95_ms=6.0), compiled, rules())
    assert not decision.passed
    assert "over the allowance of 5.00 ms (champion 0.10 ms)" in decision.reason


def test_schema_change_needs_the_migration_flag() -> None:
    changed = evaluation(0.95, schema=(*SCHEMA, "new_feature:double"))
    decision = decide(changed, evaluation(0.9), rules())
    assert not decision.passed
    assert "new_feature" in rule(decision.rules, "schema").reason
    assert decide(changed, evaluation(0.9), rules(allow_schema_change=True)).passed


def test_reason_is_one_line_naming_every_failed_rule() -> None:
    decision = decide(evaluation(0.8, p95_ms=100.0), evaluation(0.9, p95_ms=10.0), rules())
    assert "\n" not in decision.reason
    assert decision.reason.startswith("rejected: ")
    assert "primary_metric" in decision.reason and "latency" in decision.reason
    assert decision.as_dict()["passed"] is False


def outcome(truth: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None = None) -> Outcome:
    return Outcome(truth, predicted, proba, ("a", "b"))


def test_paired_bootstrap_of_a_clearly_better_model_is_above_zero() -> None:
    truth = np.array(["a", "b"] * 50)
    worse = truth.copy()
    worse[:20] = np.where(worse[:20] == "a", "b", "a")
    low, high = paired_bootstrap(
        METRICS["accuracy"],
        outcome(truth, truth),
        outcome(truth, worse),
        samples=500,
        confidence=0.95,
        seed=0,
    )
    assert 0 < low <= 0.2 <= high


def test_paired_bootstrap_of_identical_models_is_zero_and_deterministic() -> None:
    truth = np.array([1.0, 2.0, 3.0, 4.0])

    def bootstrap(challenger: np.ndarray, seed: int) -> tuple[float, float]:
        return paired_bootstrap(
            METRICS["rmse"],
            Outcome(truth, challenger),
            Outcome(truth, truth),
            samples=200,
            confidence=0.9,
            seed=seed,
        )

    assert bootstrap(truth, seed=1) == (0.0, 0.0)
    first = bootstrap(truth + 1, seed=3)
    assert first == bootstrap(truth + 1, seed=3)
    assert first == (-1.0, -1.0)  # always 1 worse: the improvement is negative for rmse too


def test_paired_bootstrap_of_a_probability_metric() -> None:
    truth = np.array(["a", "b"] * 50)
    sharp = np.where(truth[:, None] == np.array(["a", "b"]), 0.9, 0.1)
    vague = np.full((100, 2), 0.5)
    low, _ = paired_bootstrap(
        METRICS["log_loss"],
        outcome(truth, truth, sharp),
        outcome(truth, truth, vague),
        samples=200,
        confidence=0.95,
        seed=0,
    )
    assert low == pytest.approx(np.log(0.9) - np.log(0.5))  # the same on every resample


def test_paired_bootstrap_undefined_on_every_resample_is_nan() -> None:
    truth = np.array(["a"] * 10)  # one class: ROC AUC is never defined
    proba = np.full((10, 2), 0.5)
    interval = paired_bootstrap(
        METRICS["roc_auc_ovr"],
        outcome(truth, truth, proba),
        outcome(truth, truth, proba),
        samples=20,
        confidence=0.9,
        seed=0,
    )
    assert all(math.isnan(value) for value in interval)
    assert not decide(evaluation(0.95), evaluation(0.9), rules(), interval).passed


def test_paired_bootstrap_needs_the_same_rows() -> None:
    truth = np.array(["a", "b"])
    with pytest.raises(ValueError, match="same rows"):
        paired_bootstrap(
            METRICS["accuracy"],
            outcome(truth, truth),
            outcome(truth[:1], truth[:1]),
            samples=10,
            confidence=0.9,
            seed=0,
        )


def test_a_model_no_better_than_the_baseline_is_refused_by_name() -> None:
    decision = decide(evaluation(0.85, baseline=0.85), None, rules())
    assert not decision.passed
    assert "baseline: accuracy 0.85 vs baseline 0.85: not better" in decision.reason
    with_champion = decide(evaluation(0.95, baseline=0.95), evaluation(0.9), rules())
    assert [r.rule for r in with_champion.rules if not r.passed] == ["baseline"]


def test_the_baseline_margin_is_absolute_or_relative() -> None:
    absolute = rules(baseline_margin=0.1)  # 0.85 over 0.8: +0.05 < 0.1
    assert not rule(decide(evaluation(0.85, baseline=0.8), None, absolute).rules, "baseline").passed
    assert rule(decide(evaluation(0.91, baseline=0.8), None, absolute).rules, "baseline").passed
    relative = rules(primary_metric="rmse", floor=1000.0, baseline_margin=0.1)
    relative = relative.model_copy(update={"baseline_margin_kind": "relative"})
    needs_720 = {"rmse": 800.0}  # 10% better than the baseline's 800: at most 720
    assert not decide(Evaluation({"rmse": 750.0}, baseline=needs_720), None, relative).passed
    assert decide(Evaluation({"rmse": 700.0}, baseline=needs_720), None, relative).passed


def test_an_unmeasured_baseline_fails_rather_than_passes() -> None:
    decision = decide(Evaluation({"accuracy": 0.95}), None, rules())
    assert not decision.passed
    assert "baseline accuracy is undefined" in decision.reason


def test_a_challenger_beyond_the_fairness_bound_is_rejected_naming_the_rule() -> None:
    unfair = evaluation(0.95, fairness={"sex": 0.35, "island": 0.1})
    for champion in (None, evaluation(0.9, fairness={"sex": 0.35, "island": 0.1})):
        decision = decide(unfair, champion, rules())
        assert not decision.passed
        assert [r.rule for r in decision.rules if not r.passed] == ["fairness"]
        assert (
            "fairness: equalized_odds_difference beyond the bound 0.2: sex 0.35" in decision.reason
        )
        assert "island" not in rule(decision.rules, "fairness").reason.split(":")[1]


def test_a_ratio_bound_is_a_floor() -> None:
    ratio = rules(fairness={"disparity": "equalized_odds_ratio", "bound": 0.8})
    assert decide(evaluation(0.95, fairness={"sex": 0.85}), None, ratio).passed
    decision = decide(evaluation(0.95, fairness={"sex": 0.7}), None, ratio)
    assert "beyond the floor 0.8: sex 0.7" in rule(decision.rules, "fairness").reason


def test_fairness_worse_than_the_champion_beyond_the_tolerance_is_rejected() -> None:
    champion = evaluation(0.9, fairness={"sex": 0.05})
    slightly = decide(evaluation(0.95, fairness={"sex": 0.06}), champion, rules())  # +0.01
    assert slightly.passed, slightly.reason
    worse = decide(evaluation(0.95, fairness={"sex": 0.1}), champion, rules())  # +0.05 > 0.02
    assert not worse.passed
    assert [r.rule for r in worse.rules if not r.passed] == ["fairness_vs_champion"]
    assert "sex (0.1 vs 0.05)" in worse.reason


def test_fairness_that_cannot_be_measured_is_named_not_failed() -> None:
    decision = decide(
        evaluation(0.95, fairness={"sex": math.nan}),
        evaluation(0.9, fairness={"sex": 0.1}),
        rules(),
    )
    assert decision.passed, decision.reason
    assert "not measurable (too few rows per group): sex" in rule(decision.rules, "fairness").reason
    assert rule(decision.rules, "fairness_vs_champion").values["skipped"] == ["sex"]
    no_attribute = rule(decide(evaluation(0.95), None, rules()).rules, "fairness")
    assert no_attribute.passed and "data.sensitive_columns" in no_attribute.reason
