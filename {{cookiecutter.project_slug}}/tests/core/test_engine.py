"""The compiled path serves the pipeline's answers, or is not used, and says why."""

from typing import Any

import numpy as np
import onnx
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.core.compiled import (
    PROBABILITY_TOLERANCE,
    VALUE_TOLERANCE,
    Outputs,
    disagreement,
)
from {{ cookiecutter.package_name }}.core.config import ColumnSpec
from {{ cookiecutter.package_name }}.core.conversion import ConversionError, convert
from {{ cookiecutter.package_name }}.core.engine import choose
from {{ cookiecutter.package_name }}.core.predictor import Predictor

from ..conftest import fit, serving_data, serving_frame

ESTIMATORS = {
    "classification": [
        LogisticRegression(),
        RandomForestClassifier(n_estimators=20, random_state=0),
    ],
    "regression": [Ridge()],
}


def records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """Rows as the API hands them over: missing values as None."""
    rows = frame[columns].astype(object)
    return rows.where(rows.notna(), None).to_dict("records")  # type: ignore[return-value]


def tampered(graph: bytes) -> bytes:
    """The graph with its first float initializer (coefficients, scaler, ...) negated."""
    model = onnx.load_from_string(graph)
    for tensor in model.graph.initializer:
        values = onnx.numpy_helper.to_array(tensor)
        if values.dtype.kind == "f" and values.size > 1 and np.any(values):
            tensor.CopyFrom(onnx.numpy_helper.from_array(-values, tensor.name))
            return model.SerializeToString()
    raise AssertionError("no float initializer to tamper with")


@pytest.mark.parametrize(
    ("task", "estimator"),
    [(task, estimator) for task, found in ESTIMATORS.items() for estimator in found],
    ids=lambda value: type(value).__name__ if not isinstance(value, str) else value,
)
def test_a_supported_model_is_compiled_and_answers_like_scikit_learn(
    task: str, estimator: Any
) -> None:
    data, frame = serving_data(task), serving_frame()  # type: ignore[arg-type]
    pipeline, columns = (
        fit(data, frame, estimator),
        {n: data.columns[n] for n in data.feature_columns},
    )
    choice = choose(pipeline, columns, frame)

    assert choice.graph is not None, choice.inference.reason
    assert choice.inference.engine == "onnx"
    assert choice.inference.rows_checked == len(frame) + 3  # the rows and three probes
    assert choice.inference.max_difference is not None
    assert choice.inference.max_difference <= choice.inference.tolerance  # type: ignore[operator]

    compiled = Predictor(pipeline, columns, choice.graph, batch_graph=True)
    assert compiled.engine == "onnx", compiled.engine_reason
    fresh = serving_frame(rows=50, seed=1)  # rows the check did not see
    for scores in (
        compiled.score_records(records(fresh, data.feature_columns)),
        compiled.score_frame(fresh),
    ):
        features = fresh[data.feature_columns]
        if task == "classification":
            assert scores.predictions == pipeline.predict(features).tolist()
            assert scores.probabilities is not None
            expected = pipeline.predict_proba(features)
            np.testing.assert_allclose(
                scores.probabilities, expected, rtol=0, atol=PROBABILITY_TOLERANCE
            )
        else:
            expected = pipeline.predict(features)
            np.testing.assert_allclose(scores.predictions, expected, rtol=VALUE_TOLERANCE)


def _classifier() -> tuple[Pipeline, dict[str, ColumnSpec], pd.DataFrame]:
    data, frame = serving_data("classification"), serving_frame()
    columns = {name: data.columns[name] for name in data.feature_columns}
    return fit(data, frame, LogisticRegression()), columns, frame


def test_a_tampered_graph_is_caught_and_the_bundle_falls_back_saying_why() -> None:
    pipeline, columns, frame = _classifier()
    choice = choose(pipeline, columns, frame, converter=lambda p, c: tampered(convert(p, c)))

    assert choice.graph is None
    assert choice.inference.engine == "sklearn"
    assert choice.inference.reason.startswith(
        "not compiled: the ONNX graph disagrees with scikit-learn"
    )
    assert choice.inference.rows_checked == len(frame) + 3


def test_a_converter_with_wrong_outputs_is_caught() -> None:
    """A graph of another model (here: trained on flipped labels) is not this model's."""
    pipeline, columns, frame = _classifier()
    flipped = frame.assign(label=frame["label"].map({"a": "b", "b": "a"}))
    other = fit(serving_data("classification"), flipped, LogisticRegression())
    choice = choose(pipeline, columns, frame, converter=lambda _, c: convert(other, c))

    assert choice.graph is None
    assert "predictions differ" in choice.inference.reason


class Halve(TransformerMixin, BaseEstimator):
    """A transform of the user's own, which skl2onnx has no converter for."""

    def fit(self, features: Any, target: Any = None) -> "Halve":
        return self

    def transform(self, features: Any) -> Any:
        return features / 2


def test_a_transform_without_a_converter_falls_back_cleanly() -> None:
    data, frame = serving_data("classification"), serving_frame()
    pipeline = fit(data, frame, LogisticRegression())
    pipeline = Pipeline([pipeline.steps[0], ("halve", Halve()), pipeline.steps[1]])
    columns = {name: data.columns[name] for name in data.feature_columns}
    choice = choose(pipeline, columns, frame)

    assert choice.graph is None
    assert choice.inference.reason.startswith("not compiled: skl2onnx cannot convert")
    assert Predictor(pipeline, columns).engine == "sklearn"


def test_a_column_type_without_a_compiled_form_is_named() -> None:
    pipeline, columns, _ = _classifier()
    with pytest.raises(ConversionError, match=r"when \(datetime\)"):
        convert(pipeline, {**columns, "when": ColumnSpec(type="datetime")})


def test_a_graph_that_disagrees_or_breaks_at_load_is_not_served() -> None:
    pipeline, columns, frame = _classifier()
    graph = convert(pipeline, columns)
    expected = pipeline.predict(frame[list(columns)]).tolist()
    for bad, reason in (
        (tampered(graph), "disagrees with the pipeline"),
        (b"junk", "cannot be run"),
    ):
        predictor = Predictor(pipeline, columns, bad, batch_graph=True)
        assert predictor.engine == "sklearn"
        assert reason in predictor.engine_reason
        assert predictor.score_frame(frame).predictions == expected  # scikit-learn answers


def problem(expected: Outputs, found: Outputs, *, classifier: bool = True) -> str | None:
    return disagreement(expected, found, classifier=classifier)[1]


def test_a_graph_whose_pipeline_cannot_score_is_not_served() -> None:
    """A pipeline broken after export (the graph is the old model): it serves, and fails as it
    is, per request, rather than answering with the graph of another model."""
    pipeline, columns, frame = _classifier()
    graph = convert(pipeline, columns)
    pipeline.steps[-1][1].coef_ = pipeline.steps[-1][1].coef_[:, :2]  # every call now raises
    predictor = Predictor(pipeline, columns, graph)
    assert predictor.engine == "sklearn"
    assert "the pipeline itself cannot score them" in predictor.engine_reason
    with pytest.raises(ValueError, match="matmul"):
        predictor.score_records(records(frame.head(1), list(columns)))


def test_the_tolerances_are_what_the_docs_say() -> None:
    labels = np.array(["a", "b"], dtype=object)
    proba = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert problem((labels, proba), (labels, proba + PROBABILITY_TOLERANCE / 2)) is None
    assert problem((labels, proba), (labels, proba + PROBABILITY_TOLERANCE * 2)) is not None
    assert problem((labels, proba), (labels, proba * np.nan)) is not None
    assert "2 of 2 predictions differ" in str(problem((labels, proba), (labels[::-1], proba)))
    values = np.array([5000.0, 0.5])
    relative = values * (1 + VALUE_TOLERANCE / 2)  # within, relative to the value
    absolute = values + np.array([0.0, 2 * VALUE_TOLERANCE])  # beyond, for a value below 1
    assert problem((values, None), (relative, None), classifier=False) is None
    assert problem((values, None), (absolute, None), classifier=False) is not None
