"""Small, fast fixtures: a tiny schema and frame for each task, and the project root."""

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import config
from {{ cookiecutter.package_name }}.config import (
    ColumnSpec,
    Config,
    DataConfig,
    Task,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ROWS = 60


def _data_config(task: Task, **changes: object) -> DataConfig:
    """A schema with one column of each kind; the target depends on the task."""
    document: dict[str, object] = {
        "name": "toy",
        "path": "data/raw/toy.csv",
        "task": task,
        "target": "label" if task == "classification" else "amount",
        "group_column": "shop",
        "time_column": "day",
        "slice_columns": ["shop"],
        "columns": {
            "label": ColumnSpec(type="categorical", categories=["a", "b"]),
            "shop": ColumnSpec(type="categorical"),
            "size": ColumnSpec(type="numeric", min=0.0, max=10.0, max_missing=0.25),
            "amount": ColumnSpec(type="numeric", min=0.0),
            "day": ColumnSpec(type="numeric", feature=False),
        },
    }
    return DataConfig.model_validate({**document, **changes})


def _frame(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """``rows`` rows that satisfy the toy schema: 60% class a, ten shops, one per day."""
    rng = np.random.default_rng(seed)
    labels = np.where(np.arange(rows) % 5 < 3, "a", "b")
    return pd.DataFrame(
        {
            "label": labels,
            "shop": [f"shop{index % 10}" for index in range(rows)],
            "size": rng.uniform(0.0, 10.0, rows).round(2),
            "amount": (rng.uniform(1.0, 5.0, rows) + (labels == "b") * 3.0).round(2),
            "day": rng.permutation(rows).astype("float64"),
        }
    )


@pytest.fixture
def project_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from the project root, where conf/, params.yaml and dvc.yaml live."""
    monkeypatch.chdir(PROJECT_ROOT)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def _composed_once() -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(PROJECT_ROOT)
        return config.compose()


@pytest.fixture
def composed(_composed_once: dict[str, Any]) -> dict[str, Any]:
    """conf/ composed with Hydra (once per session; Hydra is slow): a fresh copy per test."""
    return copy.deepcopy(_composed_once)


@pytest.fixture
def project_config(composed: dict[str, Any]) -> Config:
    """The project's own validated configuration, for tests that depend on its task."""
    return config.parse(composed, "conf/")


@pytest.fixture(params=["classification", "regression"])
def data_config(request: pytest.FixtureRequest) -> DataConfig:
    """The toy schema, once per task: unit tests cover both whatever the project's task."""
    task: Task = request.param
    return _data_config(task)


@pytest.fixture
def classification_data() -> DataConfig:
    """The toy schema for classification (label a/b, 60% a in ``frame``)."""
    return _data_config("classification")


@pytest.fixture
def frame() -> pd.DataFrame:
    """60 rows that satisfy the toy schema."""
    return _frame()


@pytest.fixture
def make_data_config() -> Callable[..., DataConfig]:
    """Build the toy schema for a task, with top-level keys replaced: ``(task, **changes)``."""
    return _data_config


@pytest.fixture
def make_frame() -> Callable[..., pd.DataFrame]:
    """Build a toy frame of any size: ``(rows=60, seed=0)``."""
    return _frame
