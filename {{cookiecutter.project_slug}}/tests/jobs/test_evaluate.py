"""evaluate: permutation importance and cross-validation score with the task's registry metric;
the baseline and fairness it reports, which the gate then bounds and the card shows."""

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import Config, DataConfig
from {{ cookiecutter.package_name }}.core.disparities import DISPARITIES
from {{ cookiecutter.package_name }}.core.metrics import METRICS
from {{ cookiecutter.package_name }}.core.models import build_pipeline, features_and_target
from {{ cookiecutter.package_name }}.io import params, paths
from {{ cookiecutter.package_name }}.io.files import read_json
from {{ cookiecutter.package_name }}.jobs import evaluate, gate, register, split, train, validate
from {{ cookiecutter.package_name }}.jobs.evaluate import cross_validation, importance_table


@pytest.fixture
def toy_project(project_config: Config, make_data_config: Callable[..., DataConfig]) -> Config:
    """The project's config (its task, model and scoring metric) on the toy data of its task."""
    data = make_data_config(project_config.data.task)
    evaluate = project_config.evaluate.model_copy(update={"cv_folds": 3, "importance_repeats": 2})
    return project_config.model_copy(update={"data": data, "evaluate": evaluate})


def test_cross_validation_reports_the_scoring_metric_itself(
    toy_project: Config, frame: pd.DataFrame
) -> None:
    scores = cross_validation(toy_project, frame)
    metric = METRICS[toy_project.evaluate.scoring]
    assert list(scores) == [f"{metric.name}.mean", f"{metric.name}.std"]
    assert scores[f"{metric.name}.mean"] >= 0.0  # the metric, never a negated scorer value
    assert scores[f"{metric.name}.std"] >= 0.0


def test_importance_ranks_every_input_column(toy_project: Config, frame: pd.DataFrame) -> None:
    features, target = features_and_target(frame, toy_project)
    pipeline = build_pipeline(toy_project).fit(features, target)
    table = importance_table(pipeline, features, target, toy_project)
    assert sorted(table["feature"]) == sorted(toy_project.data.feature_columns)
    assert table["importance"].is_monotonic_decreasing


FAST = [
    "release=auto",
    "release.bootstrap_samples=0",
    "release.latency_rows=10",
    "evaluate.importance_repeats=1",
    "evaluate.fairness.bootstrap_samples=10",
]


@pytest.mark.parametrize(
    ("dataset", "unfair"),
    [
        # Any gap between the sexes' selection rates breaks a ceiling of 0 ...
        (
            "penguins",
            [
                "release.fairness.disparity=demographic_parity_difference",
                "release.fairness.bound=0",
            ],
        ),
        # ... and any gap between their errors a floor of 1 on the ratio.
        (
            "penguins_body_mass",
            ["release.fairness.disparity=mae_ratio", "release.fairness.bound=1"],
        ),
    ],
)
def test_fairness_and_baseline_are_reported_carded_and_gated(
    workspace: Path, dataset: str, unfair: list[str]
) -> None:
    config = params.load([*FAST, f"data={dataset}"])
    validate.run(config)
    split.run(config)
    train.run(config, persist=True)
    metrics = evaluate.run(config)

    task, primary = config.data.task, METRICS[config.release.primary_metric]
    assert primary.improvement(metrics["test"][primary.name], metrics["baseline"][primary.name]) > 0
    sex = read_json(paths.FAIRNESS)["attributes"]["sex"]
    assert {group["group"] for group in sex["groups"] if group["included"]} == {"female", "male"}
    assert set(sex["disparities"]) == {d.name for d in DISPARITIES.values() if d.task == task}
    for row in sex["metrics"]:
        for figure in row["groups"].values():
            assert figure["low"] is not None and figure["low"] <= figure["high"]
    assert read_json(paths.METRICS)["fairness"]["sex"] == sex["disparities"]
    disparity = unfair[0].partition("=")[2]
    assert sex["disparities"][disparity] not in (None, 0.0, 1.0)  # a real gap to bound

    register.register(config)
    decision = gate.gate(params.load([*FAST, f"data={dataset}", *unfair]))

    assert not decision.passed
    assert [rule.rule for rule in decision.rules if not rule.passed] == ["fairness"]
    assert "fairness: " in decision.reason and "sex" in decision.reason
    card = paths.MODEL_CARD.read_text()
    assert "## Fairness" in card and "### `sex`" in card
    assert f"**{disparity}** (gated)" in card
    assert "| trivial baseline |" in card
