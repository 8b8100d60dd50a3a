"""evaluate: permutation importance and cross-validation score with the task's registry metric."""

from collections.abc import Callable

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import Config, DataConfig
from {{ cookiecutter.package_name }}.core.metrics import METRICS
from {{ cookiecutter.package_name }}.core.models import build_pipeline, features_and_target
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
