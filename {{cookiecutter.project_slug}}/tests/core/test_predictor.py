"""The record path scores exactly like the fitted pipeline, or is not used."""

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

from {{ cookiecutter.package_name }}.core.predictor import (
    ARGMAX_PREDICT,
    Predictor,
    argmax_predictions,
)
from {{ cookiecutter.package_name }}.core.request_schema import columns_of
from {{ cookiecutter.package_name }}.io.bundle import Bundle

from ..conftest import fit, metadata, serving_data, serving_frame

CLASSIFIERS = [
    LogisticRegression(),
    RandomForestClassifier(n_estimators=4, random_state=0),  # few trees: many exact ties
    ExtraTreesClassifier(n_estimators=4, random_state=0),
    DecisionTreeClassifier(max_depth=3, random_state=0),
    ExtraTreeClassifier(max_depth=3, random_state=0),
    GradientBoostingClassifier(n_estimators=5, random_state=0),
    HistGradientBoostingClassifier(max_iter=5, random_state=0),
    KNeighborsClassifier(n_neighbors=4),  # not in ARGMAX_PREDICT: predict is called
]


def records(count: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(1)
    return [
        {
            "shop": f"shop{rng.integers(10)}" if index % 7 else None,
            "size": None if index % 5 == 0 else float(rng.uniform(0, 10)),
            "amount": float(rng.uniform(0, 8)),
        }
        for index in range(count)
    ]


def test_records_are_scored_exactly_like_the_pipeline(bundles: dict[str, Bundle]) -> None:
    bundle = bundles["champion"]
    predictor = Predictor(bundle.pipeline, columns_of(bundle.metadata))
    assert predictor.fast
    batch = records(300)
    frame = predictor.frame(batch)
    fast = predictor.score_records(batch)
    assert fast.predictions == bundle.pipeline.predict(frame).tolist()
    assert fast.probabilities is not None
    np.testing.assert_allclose(fast.probabilities, bundle.pipeline.predict_proba(frame), atol=1e-12)


def test_a_regressor_scores_the_same_way(bundles: dict[str, Bundle]) -> None:
    bundle = bundles["regression"]
    predictor = Predictor(bundle.pipeline, columns_of(bundle.metadata))
    batch = [{"label": "b", **record} for record in records(50)]
    scores = predictor.score_records(batch)
    assert predictor.fast and scores.probabilities is None
    np.testing.assert_allclose(scores.predictions, bundle.pipeline.predict(predictor.frame(batch)))


def test_another_pipeline_shape_falls_back_to_a_dataframe(bundles: dict[str, Bundle]) -> None:
    bundle = bundles["champion"]
    steps = [("identity", "passthrough"), *bundle.pipeline.steps]
    predictor = Predictor(Pipeline(steps), columns_of(bundle.metadata))
    assert not predictor.fast
    batch = records(20)
    expected = bundle.pipeline.predict(pd.DataFrame(batch)).tolist()
    assert predictor.score_records(batch).predictions == expected


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("estimator", CLASSIFIERS, ids=lambda estimator: type(estimator).__name__)
def test_predictions_are_exactly_the_estimators_own(estimator: Any, classes: int) -> None:
    data = serving_data("classification")
    train, scored = serving_frame(300, seed=0), serving_frame(3000, seed=3)[data.feature_columns]
    if classes == 3:
        train["label"] = np.array(["a", "b", "c"])[np.digitize(train["amount"], [3.0, 5.0])]
    pipeline = fit(data, train, estimator)
    predictor = Predictor(pipeline, columns_of(metadata(data, "1")))
    scores = predictor.score_frame(scored)
    assert scores.predictions == pipeline.predict(scored).tolist()
    np.testing.assert_allclose(scores.probabilities, pipeline.predict_proba(scored), atol=1e-12)
    assert (type(estimator) in ARGMAX_PREDICT) != isinstance(estimator, KNeighborsClassifier)


def test_near_ties_are_decided_by_the_model_itself() -> None:
    class Model:
        classes_ = np.array(["a", "b"], dtype=object)

        def predict(self, rows: np.ndarray) -> np.ndarray:
            return np.array(["model"] * len(rows), dtype=object)

    probabilities = np.array([[0.5, 0.5], [0.9, 0.1], [0.5 + 1e-12, 0.5 - 1e-12], [0.2, 0.8]])
    found = argmax_predictions(Model(), np.zeros((4, 1)), probabilities)
    assert found.tolist() == ["model", "a", "model", "b"]
