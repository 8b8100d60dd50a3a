"""Local explanations add up to the model's output, in the original columns, for every model."""

from itertools import combinations
from math import factorial
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.core.config import ColumnSpec, DataConfig
from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.core.explanations import (
    ADDITIVITY_TOLERANCE,
    BASE_VALUE,
    CONTRIBUTION_PREFIX,
    EXPLAINED,
    Explainer,
    background_sample,
)
from {{ cookiecutter.package_name }}.core.predictor import Predictor
from {{ cookiecutter.package_name }}.core.task import Task

from ..conftest import fit, serving_data, serving_frame

# Every family the template ships (conf/model/), and a user's own (k-nearest neighbours).
FAMILIES: dict[Task, list[BaseEstimator]] = {
    "classification": [
        LogisticRegression(),
        RandomForestClassifier(n_estimators=20, random_state=0),
        HistGradientBoostingClassifier(max_iter=20, random_state=0),
        KNeighborsClassifier(n_neighbors=5),
    ],
    "regression": [
        Ridge(),
        RandomForestRegressor(n_estimators=20, random_state=0),
        HistGradientBoostingRegressor(max_iter=20, random_state=0),
        KNeighborsRegressor(n_neighbors=5),
    ],
}
CASES = [(task, model) for task, models in FAMILIES.items() for model in models]
NAMES = [f"{task}-{type(model).__name__}" for task, model in CASES]
COLUMNS = serving_data("classification").feature_columns  # shop, size, amount


def columns(task: Task) -> list[str]:
    """The inputs: classification predicts ``label`` from ``amount``, regression the reverse."""
    return serving_data(task).feature_columns


def trained(task: Task, model: BaseEstimator) -> Pipeline:
    data = serving_data(task)
    return fit(data, serving_frame(), model)


def explainer(pipeline: Pipeline, background: pd.DataFrame, **options: Any) -> Explainer:
    """Explains the pipeline as it is served: through its ``Predictor``."""
    task: Task = "classification" if hasattr(pipeline, "classes_") else "regression"
    data = serving_data(task)
    inputs = {name: data.columns[name] for name in data.feature_columns}
    return Explainer(Predictor(pipeline, inputs), background, **options)


def rows(count: int = 12, task: Task = "classification") -> pd.DataFrame:
    """Records to explain, with a missing ``size`` (the pipeline imputes it)."""
    frame = serving_frame(count, seed=3)[columns(task)]
    frame.loc[0, "size"] = np.nan
    return frame


def background(task: Task = "classification") -> pd.DataFrame:
    return background_sample(serving_frame(200, seed=1), columns(task), rows=20)


def model_output(pipeline: Pipeline, frame: pd.DataFrame, outputs: list[str]) -> np.ndarray:
    """The output each row's explanation names: the prediction, or a class probability."""
    if "prediction" in outputs:
        return np.asarray(pipeline.predict(frame), dtype=float)
    proba = pipeline.predict_proba(frame)
    classes = [f"proba_{label}" for label in pipeline.classes_]
    return np.array([proba[row, classes.index(name)] for row, name in enumerate(outputs)])


@pytest.mark.parametrize(("task", "model"), CASES, ids=NAMES)
@pytest.mark.parametrize("exact", [True, False], ids=["exact", "sampled"])
def test_base_value_plus_contributions_is_the_models_output(
    task: Task, model: BaseEstimator, exact: bool
) -> None:
    pipeline, inputs = trained(task, model), columns(task)
    frame = rows(task=task)
    options = {"max_exact_columns": 3 if exact else 1}
    found = explainer(pipeline, background(task), **options).explain(frame)

    expected = model_output(pipeline, frame, found.outputs)
    np.testing.assert_allclose(found.values, expected, rtol=0, atol=ADDITIVITY_TOLERANCE)
    total = found.base_values + found.contributions.sum(axis=1)
    np.testing.assert_allclose(total, expected, rtol=0, atol=ADDITIVITY_TOLERANCE)
    assert found.columns == inputs  # the original columns, never one-hot internals
    assert found.contributions.shape == (len(frame), len(inputs))


def brute_force_shapley(
    pipeline: Pipeline, record: pd.Series, reference: pd.DataFrame, output: int
) -> np.ndarray:
    """The textbook formula, one coalition at a time: the definition the explainer must meet."""
    inputs = list(reference.columns)
    count = len(inputs)

    def value(coalition: tuple[str, ...]) -> float:
        mixed = reference.copy()
        for column in coalition:
            mixed[column] = record[column]
        if hasattr(pipeline, "classes_"):
            return float(pipeline.predict_proba(mixed)[:, output].mean())
        return float(pipeline.predict(mixed).mean())

    shares = np.zeros(count)
    for index, column in enumerate(inputs):
        others = [name for name in inputs if name != column]
        for size in range(count):
            weight = factorial(size) * factorial(count - size - 1) / factorial(count)
            for coalition in combinations(others, size):
                shares[index] += weight * (value((*coalition, column)) - value(coalition))
    return shares


@pytest.mark.parametrize(
    ("task", "model"),
    [CASES[1], CASES[5]],  # a forest for each task: interactions, so no shortcut agrees
    ids=[NAMES[1], NAMES[5]],
)
def test_exact_values_are_the_shapley_values_of_the_original_columns(
    task: Task, model: BaseEstimator
) -> None:
    pipeline = trained(task, model)
    frame, reference = rows(3, task), background(task)
    found = explainer(pipeline, reference).explain(frame)
    for row in range(len(frame)):
        output = found.outputs[row].removeprefix("proba_")
        position = 0 if task == "regression" else list(pipeline.classes_).index(output)
        expected = brute_force_shapley(pipeline, frame.iloc[row], reference, position)
        np.testing.assert_allclose(found.contributions[row], expected, rtol=0, atol=1e-9)


def test_a_linear_models_contribution_is_its_weights_times_the_shift_from_the_background() -> None:
    """For a linear model the Shapley value has a closed form: each column's coefficients times
    how far its (scaled, one-hot) features are from their background mean, summed per column."""
    pipeline, inputs = trained("regression", Ridge()), columns("regression")
    frame, reference = rows(5, "regression"), background("regression")
    found = explainer(pipeline, reference).explain(frame)

    preprocess, ridge = pipeline[:-1], pipeline[-1]
    shift = preprocess.transform(frame) - preprocess.transform(reference).mean(axis=0)
    names = preprocess.get_feature_names_out()
    for index, column in enumerate(inputs):
        mine = np.array([name == column or name.startswith(f"{column}_") for name in names])
        expected = shift[:, mine] @ ridge.coef_[mine]
        np.testing.assert_allclose(found.contributions[:, index], expected, atol=1e-9)


def test_sampled_orders_estimate_the_exact_values() -> None:
    pipeline = trained("classification", RandomForestClassifier(n_estimators=20, random_state=0))
    frame = rows()
    exact = explainer(pipeline, background()).explain(frame)
    sampled = explainer(pipeline, background(), max_exact_columns=1).explain(frame)
    spread = np.abs(exact.contributions).max()
    assert np.abs(sampled.contributions - exact.contributions).max() < 0.25 * spread


def test_a_classifier_explains_the_class_it_predicted() -> None:
    pipeline = trained("classification", LogisticRegression())
    frame = rows()
    explaining = explainer(pipeline, background())
    found = explaining.explain(frame)
    assert found.outputs == [f"proba_{label}" for label in pipeline.predict(frame)]
    other = ["a" if output == "proba_b" else "b" for output in found.outputs]
    flipped = explaining.explain(frame, predictions=other)  # as answered, not recomputed
    assert flipped.outputs == [f"proba_{label}" for label in other]
    np.testing.assert_allclose(flipped.values, 1.0 - found.values, atol=1e-12)


def test_a_record_lists_its_top_contributions_largest_first_and_sums_the_rest() -> None:
    pipeline = trained("regression", RandomForestRegressor(n_estimators=20, random_state=0))
    inputs = columns("regression")
    found = explainer(pipeline, background("regression")).explain(rows(task="regression"))
    for row in range(len(found.values)):
        every = found.record(row)
        sizes = [abs(item["contribution"]) for item in every["contributions"]]
        assert sizes == sorted(sizes, reverse=True)
        assert {item["column"] for item in every["contributions"]} == set(inputs)
        assert every["other"] == 0.0

        top = found.record(row, top=1)
        assert top["contributions"] == every["contributions"][:1]
        shown = top["contributions"][0]["contribution"]
        assert top["base_value"] + shown + top["other"] == pytest.approx(top["value"], abs=1e-9)
        assert top["output"] == "prediction"


def test_the_batch_table_and_the_summary_name_the_original_columns() -> None:
    pipeline = trained("classification", RandomForestClassifier(n_estimators=10, random_state=0))
    found = explainer(pipeline, background()).explain(rows())
    table = found.table()
    assert list(table) == [EXPLAINED, BASE_VALUE, *(f"{CONTRIBUTION_PREFIX}{c}" for c in COLUMNS)]
    summary = found.summary()
    assert sorted(summary["column"]) == sorted(COLUMNS)
    assert summary["mean_abs_contribution"].is_monotonic_decreasing
    expected = np.abs(found.contributions).mean(axis=0)
    by_column = dict(zip(summary["column"], summary["mean_abs_contribution"], strict=True))
    assert [by_column[column] for column in COLUMNS] == pytest.approx(expected)


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "sampled"])
def test_a_single_input_column_takes_the_whole_difference(exact: bool) -> None:
    data = serving_data("regression").model_copy(
        update={
            "columns": {"amount": ColumnSpec(type="numeric"), "size": ColumnSpec(type="numeric")}
        }
    )
    pipeline = fit(data, serving_frame(), Ridge())
    predictor = Predictor(pipeline, {"size": data.columns["size"]})
    reference = serving_frame(100, seed=1).fillna({"size": 5.0})
    options = {"max_exact_columns": 1 if exact else 0}
    found = Explainer(predictor, reference, **options).explain(reference.head(5))
    expected = found.values - found.base_values
    np.testing.assert_allclose(found.contributions[:, 0], expected, rtol=0, atol=1e-12)


def test_the_base_value_is_the_mean_output_over_the_background() -> None:
    pipeline = trained("regression", Ridge())
    reference = background("regression")
    explaining = explainer(pipeline, reference)
    assert explaining.base_values == pytest.approx([pipeline.predict(reference).mean()])


def test_the_background_is_a_seeded_sample_of_the_input_columns() -> None:
    frame = serving_frame(200)
    first = background_sample(frame, COLUMNS, rows=30, seed=4)
    assert list(first.columns) == COLUMNS and len(first) == 30
    pd.testing.assert_frame_equal(first, background_sample(frame, COLUMNS, rows=30, seed=4))
    assert len(background_sample(frame.head(10), COLUMNS, rows=30)) == 10  # all there is


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (serving_frame(20).drop(columns=["size"]), "lack the model's input columns"),
        (serving_frame(20).iloc[:0], "reference is empty"),
    ],
    ids=["missing column", "empty"],
)
def test_a_background_that_cannot_serve_is_refused_by_name(
    frame: pd.DataFrame, message: str
) -> None:
    with pytest.raises(ProjectError, match=message):
        background_sample(frame, COLUMNS)


def test_a_model_that_scores_non_finite_values_is_refused() -> None:
    class Infinite(Ridge):
        def predict(self, features: Any) -> np.ndarray:
            return np.full(len(features), np.inf)

    explaining = explainer(trained("regression", Infinite()), background("regression"))
    with pytest.raises(ValueError, match="non-finite"):
        explaining.explain(rows(task="regression"))


def test_text_dates_and_yes_no_columns_are_each_one_player() -> None:
    """A text column becomes many TF-IDF word columns and a date several calendar parts inside
    the pipeline; each is still explained as the one column the user sent."""
    data = DataConfig(
        name="tickets",
        path="data/raw/tickets.csv",
        task="classification",
        target="label",
        columns={
            "label": ColumnSpec(type="categorical", categories=["a", "b"]),
            "note": ColumnSpec(type="text", max_missing=0.2),
            "opened": ColumnSpec(type="datetime"),
            "urgent": ColumnSpec(type="boolean"),
            "amount": ColumnSpec(type="numeric"),
        },
    )
    rng = np.random.default_rng(0)
    notes = ["good service", "bad delay", "late again bad", "great good", "fine"]
    frame = pd.DataFrame(
        {
            "note": rng.choice(notes, 200),
            "opened": pd.date_range("2024-01-01", periods=200, freq="D"),
            "urgent": rng.choice(["yes", "no"], 200),
            "amount": rng.normal(size=200),
        }
    )
    frame["label"] = np.where(frame["note"].str.contains("bad") ^ (frame["amount"] > 1), "b", "a")
    pipeline = fit(data, frame, LogisticRegression())
    assert len(pipeline[:-1].get_feature_names_out()) > len(data.feature_columns)

    inputs = data.feature_columns
    predictor = Predictor(pipeline, {name: data.columns[name] for name in inputs})
    records = [  # as the API passes them on: dates as ISO text, yes/no as booleans
        {"note": "bad delay", "opened": "2024-03-05", "urgent": True, "amount": 0.3},
        {"note": None, "opened": "2024-06-01T10:00:00Z", "urgent": False, "amount": 2.0},
    ]
    answered = predictor.score_records(records)
    explainer = Explainer(predictor, background_sample(frame, inputs))  # dates as datetimes
    found = explainer.explain(predictor.frame(records), answered.predictions)
    assert found.columns == ["note", "opened", "urgent", "amount"]
    assert answered.probabilities is not None
    np.testing.assert_allclose(found.values, answered.probabilities.max(axis=1), atol=1e-12)
    total = found.base_values + found.contributions.sum(axis=1)
    np.testing.assert_allclose(total, found.values, rtol=0, atol=ADDITIVITY_TOLERANCE)
    assert abs(found.contributions[0, 0]) > 0.1  # "bad": the words the label depends on
