"""A small schema with two numeric and two categorical inputs, and seeded frames that fit it."""

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.config import ColumnSpec, Config, DataConfig, DriftConfig

COLOURS = ["red", "green", "blue"]
COLOUR_MIX = [0.5, 0.3, 0.2]


def _schema() -> DataConfig:
    return DataConfig(
        name="watch",
        path="data/raw/watch.csv",
        task="classification",
        target="label",
        slice_columns=["colour"],
        columns={
            "label": ColumnSpec(type="categorical", categories=["a", "b"]),
            "x1": ColumnSpec(type="numeric", min=-10.0, max=10.0, max_missing=0.1),
            "x2": ColumnSpec(type="numeric", min=-10.0, max=30.0, max_missing=0.1),
            "colour": ColumnSpec(type="categorical", categories=COLOURS),
            "shop": ColumnSpec(type="categorical", max_missing=0.1),
        },
    )


def _window(
    rows: int,
    seed: int,
    *,
    shift: float = 0.0,
    colour_mix: list[float] | None = None,
    missing_x2: float = 0.0,
) -> pd.DataFrame:
    """Rows of the schema; ``label`` and the model columns follow x1, as a fitted model would."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(shift, 1.0, rows)
    x2 = rng.normal(5.0, 2.0, rows)
    x2[rng.random(rows) < missing_x2] = np.nan
    proba_b = 1.0 / (1.0 + np.exp(-3.0 * x1))
    label = np.where(rng.random(rows) < proba_b, "b", "a")
    return pd.DataFrame(
        {
            "label": label,
            "x1": x1,
            "x2": x2,
            "colour": rng.choice(COLOURS, rows, p=colour_mix or COLOUR_MIX),
            "shop": rng.choice([f"shop{i}" for i in range(5)], rows),
            "prediction": np.where(proba_b >= 0.5, "b", "a"),
            "proba_a": 1.0 - proba_b,
            "proba_b": proba_b,
        }
    )


@pytest.fixture
def schema() -> DataConfig:
    return _schema()


@pytest.fixture
def drift_config() -> DriftConfig:
    return DriftConfig()


@pytest.fixture
def make_window() -> Callable[..., pd.DataFrame]:
    """``(rows, seed, shift=0.0, colour_mix=None, missing_x2=0.0)`` -> a scored, labelled window."""
    return _window


@pytest.fixture
def watch_config(project_config: Config) -> Config:
    """The project's config with the small schema and its monitor defaults, whatever the task."""
    monitor = project_config.monitor
    performance = monitor.performance.model_copy(update={"metric": "accuracy"})
    watched = monitor.model_copy(update={"performance": performance})
    return project_config.model_copy(update={"data": _schema(), "monitor": watched})
