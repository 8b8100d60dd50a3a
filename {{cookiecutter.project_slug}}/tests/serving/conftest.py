"""Small real models trained in the test session, served from in-memory bundles."""

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.config import ColumnSpec, DataConfig, FeaturesConfig, Task
from {{ cookiecutter.package_name }}.features import build_preprocessor
from {{ cookiecutter.package_name }}.release.export import Bundle

SHOPS = [f"shop{index}" for index in range(10)]


def serving_data(task: Task) -> DataConfig:
    """Every rule the API enforces: categories, a range, a nullable column, a required one."""
    return DataConfig(
        name="toy",
        path="data/raw/toy.csv",
        task=task,
        target="label" if task == "classification" else "amount",
        columns={
            "label": ColumnSpec(type="categorical", categories=["a", "b"]),
            "shop": ColumnSpec(type="categorical", categories=SHOPS),
            "size": ColumnSpec(type="numeric", min=0.0, max=10.0, max_missing=0.25),
            "amount": ColumnSpec(type="numeric", min=0.0),
            "day": ColumnSpec(type="numeric", feature=False),
        },
    )


def serving_frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """Rows that fit the schema; the label depends on amount, so a model has something to learn."""
    rng = np.random.default_rng(seed)
    amount = rng.uniform(0.0, 8.0, rows).round(2)
    size = rng.uniform(0.0, 10.0, rows).round(2)
    size[::10] = np.nan
    return pd.DataFrame({
        "label": np.where(amount + rng.normal(0, 1, rows) > 4, "b", "a"),
        "shop": [SHOPS[index % 10] for index in range(rows)],
        "size": size,
        "amount": amount,
        "day": np.arange(rows, dtype="float64"),
    })  # fmt: skip


def metadata(data: DataConfig, version: str) -> dict[str, Any]:
    """What `export` writes, for a model trained in memory."""
    features = data.feature_columns
    return {
        "name": "toy",
        "version": version,
        "alias": None,
        "run_id": f"run-{version}",
        "task": data.task,
        "target": data.target,
        "feature_columns": features,
        "columns": {name: data.columns[name].model_dump() for name in features},
        "target_schema": data.columns[data.target].model_dump(),
        "metrics": {},
        "lineage": {"git.commit": "abc"},
    }


def fit(data: DataConfig, frame: pd.DataFrame, estimator: Any) -> Pipeline:
    pipeline = Pipeline([("preprocess", build_preprocessor(data, FeaturesConfig())),
                         ("model", estimator)])  # fmt: skip
    return pipeline.fit(frame[data.feature_columns], frame[data.target])


class Broken(ClassifierMixin, BaseEstimator):
    """A fitted-looking classifier that fails (``fail=True``) or is slow (``delay`` seconds)."""

    def __init__(self, delay: float = 0.0, fail: bool = True) -> None:
        self.delay, self.fail = delay, fail

    def fit(self, features: Any, target: Any) -> "Broken":
        self.classes_ = np.unique(target)
        return self

    def predict_proba(self, features: Any) -> np.ndarray:
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("challenger is broken")
        return np.full((len(features), len(self.classes_)), 1 / len(self.classes_))

    def predict(self, features: Any) -> np.ndarray:
        return np.asarray(self.classes_[self.predict_proba(features).argmax(axis=1)])


@pytest.fixture(scope="session")
def bundles() -> dict[str, Bundle]:
    """Model sources by name: champion v1, challenger v2, a broken and a slow challenger."""
    data, frame = serving_data("classification"), serving_frame()
    return {
        "champion": Bundle(fit(data, frame, LogisticRegression()), metadata(data, "1")),
        "challenger": Bundle(fit(data, frame, LogisticRegression(C=0.01)), metadata(data, "2")),
        "broken": Bundle(fit(data, frame, Broken()), metadata(data, "3")),
        "slow": Bundle(fit(data, frame, Broken(delay=0.3, fail=False)), metadata(data, "4")),
        "regression": Bundle(
            fit(serving_data("regression"), frame, Ridge()),
            metadata(serving_data("regression"), "5"),
        ),
    }


@pytest.fixture
def record() -> dict[str, Any]:
    """One valid record of the toy classification schema."""
    return {"shop": "shop3", "size": 4.2, "amount": 3.5}
