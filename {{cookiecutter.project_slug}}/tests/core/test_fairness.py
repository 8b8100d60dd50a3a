"""Fairness on small frames whose group rates are known by construction, for both tasks."""

import math

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.fairness import assess, assess_attribute, check, gated
from {{ cookiecutter.package_name }}.core.metrics import MISSING, Outcome, outcome_of


def binary_frame() -> tuple[Outcome, pd.Series]:
    """Group f: 20 rows, 10 of class y, predicted y for 8 of them and 2 of the others.
    Group m: 20 rows, 10 of class y, predicted y for 5 of them and none of the others.
    Group <missing>: 12 rows, all right. Group x: 3 rows, too few to compare."""
    truth, predicted, group = [], [], []

    def add(name: str, rows: list[tuple[str, str]]) -> None:
        for true, pred in rows:
            truth.append(true)
            predicted.append(pred)
            group.append(name)

    add("f", [("y", "y")] * 8 + [("y", "n")] * 2 + [("n", "y")] * 2 + [("n", "n")] * 8)
    add("m", [("y", "y")] * 5 + [("y", "n")] * 5 + [("n", "n")] * 10)
    add(None, [("y", "y")] * 6 + [("n", "n")] * 6)  # type: ignore[arg-type]
    add("x", [("y", "n")] * 3)
    outcome = outcome_of("classification", truth, predicted, classes=("n", "y"))
    return outcome, pd.Series(group, name="sex", dtype="object")


def test_groups_are_counted_and_small_ones_left_out_with_missing_values_a_group() -> None:
    outcome, sex = binary_frame()
    found = assess_attribute("classification", outcome, sex, min_group_rows=10)
    assert found.groups == {MISSING: 12, "f": 20, "m": 20, "x": 3}
    assert found.excluded == ("x",)
    assert set(found.metrics[0]["groups"]) == {MISSING, "f", "m"}
    assert {row["group"]: row["included"] for row in found.as_dict()["groups"]} == {
        MISSING: True,
        "f": True,
        "m": True,
        "x": False,
    }


def test_classification_disparities_are_fairlearns_one_class_against_the_rest() -> None:
    outcome, sex = binary_frame()
    found = assess_attribute("classification", outcome, sex, min_group_rows=10)
    # Class y: selection rates f 10/20, m 5/20, <missing> 6/12 -> DP difference 0.25, ratio 0.5.
    # TPR f 0.8, m 0.5, <missing> 1.0 (gap 0.5); FPR f 0.2, m 0, <missing> 0 (gap 0.2).
    by_y = found.by_class["y"]
    assert by_y["demographic_parity_difference"] == pytest.approx(0.25)
    assert by_y["demographic_parity_ratio"] == pytest.approx(0.5)
    assert by_y["equalized_odds_difference"] == pytest.approx(0.5)
    assert by_y["equalized_odds_ratio"] == pytest.approx(0.0)  # FPR 0 over 0.2
    # Binary: class n against the rest has the same differences.
    assert found.by_class["n"]["equalized_odds_difference"] == pytest.approx(0.5)
    assert found.disparities["equalized_odds_difference"] == pytest.approx(0.5)
    # The group table agrees with the disparity functions: one definition.
    selection = next(
        row for row in found.metrics if row["metric"] == "selection_rate" and row["class"] == "y"
    )
    assert selection["groups"]["m"]["value"] == pytest.approx(0.25)
    assert selection["difference"]["value"] == pytest.approx(0.25)
    assert selection["groups"]["m"]["low"] is None  # no bootstrap asked for


def test_multiclass_reports_every_class_and_names_the_worst() -> None:
    truth = ["a"] * 10 + ["b"] * 10 + ["c"] * 10 + ["a"] * 10 + ["b"] * 10 + ["c"] * 10
    predicted = truth[:30] + ["a"] * 10 + ["b"] * 10 + ["a"] * 10  # group 2 never predicts c
    groups = pd.Series(["one"] * 30 + ["two"] * 30, name="region")
    found = assess_attribute(
        "classification",
        outcome_of("classification", truth, predicted, classes=("a", "b", "c")),
        groups,
        min_group_rows=5,
    )
    assert set(found.by_class) == {"a", "b", "c"}
    assert found.worst_class["equalized_odds_difference"] in {"a", "c"}
    assert found.disparities["equalized_odds_difference"] == pytest.approx(1.0)  # TPR of c: 1 vs 0
    assert found.disparities["demographic_parity_ratio"] == pytest.approx(0.0)  # c: 1/3 vs 0


def test_bootstrap_intervals_bracket_the_figures_and_are_seeded() -> None:
    outcome, sex = binary_frame()

    def run() -> dict:  # type: ignore[type-arg]
        return assess_attribute(
            "classification", outcome, sex, min_group_rows=10, bootstrap_samples=30, seed=3
        ).as_dict()

    first = run()
    for row in first["metrics"]:
        for figure in [*row["groups"].values(), row["difference"]]:
            assert figure["low"] is not None and figure["low"] <= figure["high"]
    assert first == run()


def test_regression_gaps_are_per_group_errors() -> None:
    truth = np.array([10.0] * 20 + [10.0] * 20)
    predicted = np.array([11.0] * 20 + [14.0] * 20)  # MAE 1 for a, 4 for b
    groups = pd.Series(["a"] * 20 + ["b"] * 20, name="sex")
    found = assess_attribute(
        "regression", outcome_of("regression", truth, predicted), groups, min_group_rows=10
    )
    assert found.disparities == pytest.approx(
        {"mae_difference": 3.0, "mae_ratio": 0.25, "rmse_difference": 3.0, "rmse_ratio": 0.25}
    )
    assert [row["metric"] for row in found.metrics] == ["mae", "rmse"]
    assert found.metrics[0]["groups"]["b"]["value"] == pytest.approx(4.0)
    assert found.worst_class == {} and found.by_class == {}


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_one_group_large_enough_has_no_disparity_and_says_why(task: str) -> None:
    truth = np.array([1.0] * 12 + [2.0] * 4)
    outcome = outcome_of(task, truth, truth)  # type: ignore[arg-type]
    groups = pd.Series(["a"] * 12 + ["b"] * 4, name="sex")
    found = assess_attribute(task, outcome, groups, min_group_rows=5)  # type: ignore[arg-type]
    assert all(math.isnan(value) for value in found.disparities.values())
    assert found.note is not None and "only one group" in found.note
    assert found.as_dict()["disparities"] == dict.fromkeys(found.disparities)  # JSON nulls
    none = assess_attribute(task, outcome, groups, min_group_rows=50)  # type: ignore[arg-type]
    assert none.metrics == () and none.note is not None and "no group" in none.note


def test_assess_covers_the_attributes_the_frame_has() -> None:
    outcome, sex = binary_frame()
    frame = pd.DataFrame({"sex": sex.to_numpy()}, index=range(100, 100 + len(sex)))  # not used
    found = assess("classification", outcome, frame, ["sex", "age"], min_group_rows=10)
    assert list(found) == ["sex"]
    assert gated(found, "demographic_parity_difference") == {"sex": pytest.approx(0.25)}


def test_check_names_the_attributes_beyond_the_bound() -> None:
    outcome, sex = binary_frame()
    frame = pd.DataFrame({"sex": sex})
    breached = check(
        "classification",
        outcome,
        frame,
        ["sex"],
        disparity="equalized_odds_difference",
        bound=0.3,
        min_group_rows=10,
    )
    assert list(breached.breaches) == ["sex"]
    assert "beyond the bound 0.3" in breached.breaches["sex"]
    assert breached.as_dict()["values"] == {"sex": pytest.approx(0.5)}
    within = check(
        "classification",
        outcome,
        frame,
        ["sex"],
        disparity="demographic_parity_ratio",
        bound=0.4,
        min_group_rows=10,
    )
    assert within.breaches == {}
