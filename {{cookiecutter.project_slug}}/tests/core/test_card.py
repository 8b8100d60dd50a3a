"""The model card is built from recorded facts only."""

from typing import Any

from {{ cookiecutter.package_name }}.core.card import limitations, render
from {{ cookiecutter.package_name }}.core.config import FairnessRuleConfig


def test_card_has_every_section_and_the_gate_outcome() -> None:
    text = render(
        project="demo",
        description="Predicts species",
        name="model",
        version="3",
        task="classification",
        target="species",
        features=["island", "bill_length_mm"],
        metric="accuracy",
        metrics={"accuracy": 0.95, "f1_macro": 0.94},
        slices={"island=Dream": {"accuracy": 0.8, "f1_macro": 0.7}},
        decision={"passed": True, "reason": "passed: accuracy better"},
        lineage={"git.commit": "abc123", "data.train.md5": "d41d8", "run_id": "r1"},
        aliases=["champion"],
    )
    for heading in (
        "Intended use",
        "Metrics (test split)",
        "Metrics per slice",
        "Release gate",
        "Limitations",
        "Data",
        "Lineage",
    ):
        assert f"## {heading}" in text
    assert "**passed**" in text
    assert "`island=Dream`" in text  # named as a limitation: 0.8 vs 0.95 overall
    assert "abc123" in text and "d41d8" in text and "`r1`" in text


def test_card_sums_up_the_explanations_per_column_or_says_they_are_missing() -> None:
    facts: dict[str, Any] = {
        "project": "demo",
        "description": "Predicts body mass",
        "name": "model",
        "version": "3",
        "task": "regression",
        "target": "body_mass_g",
        "features": ["sex", "flipper_length_mm"],
        "metric": "rmse",
        "metrics": {"rmse": 300.0},
        "slices": {},
        "decision": None,
        "lineage": {},
        "aliases": [],
    }
    summary = [
        {"column": "flipper_length_mm", "mean_abs_contribution": 412.5},
        {"column": "sex", "mean_abs_contribution": 150.25},
    ]
    text = render(**facts, explanations=summary)
    section = text.split("## Explanations")[1].split("## ")[0]
    assert "the predicted body_mass_g" in section
    assert section.index("`flipper_length_mm` | 412.5") < section.index("`sex` | 150.2")
    assert "Not computed" in render(**facts).split("## Explanations")[1]


def test_limitations_flag_only_slices_far_from_overall() -> None:
    slices = {"a": {"accuracy": 0.94}, "b": {"accuracy": 0.7}, "c": {"accuracy": None}}
    notes = limitations(slices, "accuracy", 0.95)
    assert len(notes) == 1
    assert notes[0].startswith("`b`")


def test_limitations_follow_the_metric_direction() -> None:
    """A slice is a limitation when it is worse: a higher error for a lower-is-better metric."""
    slices = {"easy": {"rmse": 50.0}, "hard": {"rmse": 150.0}}
    notes = limitations(slices, "rmse", 100.0)
    assert [note.split(":")[0] for note in notes] == ["`hard`"]
    assert limitations({"good": {"accuracy": 1.0}}, "accuracy", 0.8) == []


def _regression_card(**extra: Any) -> str:
    return render(
        project="demo",
        description="Predicts mass",
        name="model",
        version="2",
        task="regression",
        target="body_mass_g",
        features=["sex"],
        metric="rmse",
        metrics={"rmse": 300.0, "mae": 250.0, "r2": 0.8},
        slices={},
        decision=None,
        lineage={},
        aliases=[],
        **extra,
    )


def test_card_states_the_direction_of_the_primary_metric() -> None:
    text = _regression_card()
    assert "Primary metric: `rmse` (lower is better)." in text
    assert "| rmse | mae | r2 |" in text  # the registry's order


def test_card_shows_the_baseline_next_to_the_model_and_the_fairness_table() -> None:
    span = {"value": 225.0, "low": 180.0, "high": 280.0}
    fairness = {
        "sex": {
            "groups": [
                {"group": "female", "rows": 35, "included": True},
                {"group": "male", "rows": 34, "included": True},
                {"group": "<missing>", "rows": 2, "included": False},
            ],
            "metrics": [
                {
                    "metric": "mae",
                    "class": None,
                    "overall": 250.0,
                    "groups": {"female": span, "male": {**span, "value": 281.0}},
                    "difference": {"value": 56.0, "low": None, "high": None},
                    "ratio": {"value": 0.8, "low": None, "high": None},
                }
            ],
            "disparities": {"mae_difference": 56.0, "mae_ratio": 0.8},
            "worst_class": {},
            "note": None,
        }
    }
    rule = FairnessRuleConfig(disparity="mae_ratio", bound=0.7, tolerance=0.02)
    text = _regression_card(
        baseline={"rmse": 750.0, "mae": 620.0, "r2": 0.0}, fairness=fairness, fairness_rule=rule
    )
    assert "| version 2 | 300 | 250 | 0.8 |" in text
    assert "| trivial baseline | 750 | 620 | 0 |" in text
    assert "`mae_ratio` (floor 0.7)" in text
    assert "Left out, too few rows to compare: `<missing>` (2 rows)." in text
    assert "| **mae_ratio** (gated) | 0.8 |" in text
    assert "| mae | 225 [180, 280] | 281 [180, 280] | 56 |" in text


def test_card_says_when_fairness_was_not_measured() -> None:
    text = _regression_card()
    assert "## Fairness\nNo sensitive attribute is declared" in text
    assert "trivial baseline" not in text
