"""measure: one model on held-out rows, with the same code for `evaluate` and the gate."""

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.core.config import Config, DataConfig, FeaturesConfig
from {{ cookiecutter.package_name }}.core.features import build_preprocessor
from {{ cookiecutter.package_name }}.core.measure import measure, request_records, single_row_p95_ms
from {{ cookiecutter.package_name }}.core.metrics import compute_metrics, metrics_for
from {{ cookiecutter.package_name }}.core.predictor import Predictor, Record


def fitted(data: DataConfig, frame: pd.DataFrame) -> Pipeline:
    estimator = LogisticRegression() if data.task == "classification" else Ridge()
    pipeline = Pipeline(
        [("preprocess", build_preprocessor(data, FeaturesConfig(), seed=0)), ("model", estimator)]
    )
    return pipeline.fit(frame[data.feature_columns], frame[data.target])


def test_measure_gives_the_task_s_metrics_overall_and_per_slice(
    project_config: Config, data_config: DataConfig, frame: pd.DataFrame
) -> None:
    config = project_config.model_copy(update={"data": data_config})
    model = fitted(data_config, frame)
    measured = measure(model, frame, config)
    assert list(measured.metrics) == [metric.name for metric in metrics_for(data_config.task)]
    features = frame[data_config.feature_columns]
    proba = model.predict_proba(features) if data_config.task == "classification" else None
    classes = getattr(model, "classes_", ())
    expected = compute_metrics(
        data_config.task, frame[data_config.target], model.predict(features), proba, classes
    )
    assert measured.metrics == expected
    assert {row["column"] for row in measured.slices} == {"shop"}
    assert all(row["rows"] >= config.evaluate.min_slice_rows for row in measured.slices)


def test_the_gate_sees_slices_keyed_by_column_and_value(
    project_config: Config, classification_data: DataConfig, frame: pd.DataFrame
) -> None:
    config = project_config.model_copy(update={"data": classification_data})
    measured = measure(fitted(classification_data, frame), frame, config)
    evaluation = measured.evaluation(3.5, ("size:double",))
    assert evaluation.metrics == measured.metrics
    assert (evaluation.p95_latency_ms, evaluation.input_schema) == (3.5, ("size:double",))
    assert set(evaluation.slices) == {f"shop=shop{index}" for index in range(10)}
    assert set(evaluation.slices["shop=shop0"]) == set(measured.metrics)


def test_single_row_latency_is_measured_per_model(
    classification_data: DataConfig, frame: pd.DataFrame
) -> None:
    model = fitted(classification_data, frame)
    features = frame[classification_data.feature_columns]
    columns = {name: classification_data.columns[name] for name in features}
    predictor = Predictor(model, columns)
    calls: list[int] = []

    def counted(records: list[Record]) -> object:
        calls.append(len(records))
        return predictor.score_records(records)

    latencies = single_row_p95_ms([predictor.score_records, counted], request_records(features), 10)
    assert len(latencies) == 2
    assert all(value > 0 for value in latencies)
    assert calls == [1] * 10  # one record per request, as many requests as asked


def test_request_records_carry_missing_values_as_none() -> None:
    frame = pd.DataFrame({"size": [1.5, np.nan], "shop": ["a", None]})
    assert request_records(frame) == [{"size": 1.5, "shop": "a"}, {"size": None, "shop": None}]
