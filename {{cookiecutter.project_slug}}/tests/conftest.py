"""Small, fast fixtures shared by every test: toy schemas and frames for each task, the project
root and its composed config, a toy prediction log, monitoring windows and in-memory bundles."""

import copy
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer.main
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.core import config
from {{ cookiecutter.package_name }}.core.bundle_metadata import BundleMetadata
from {{ cookiecutter.package_name }}.core.config import (
    ColumnSpec,
    Config,
    DataConfig,
    DriftConfig,
    FeaturesConfig,
)
from {{ cookiecutter.package_name }}.core.explanations import background_sample
from {{ cookiecutter.package_name }}.core.features import build_preprocessor
from {{ cookiecutter.package_name }}.core.task import Task
from {{ cookiecutter.package_name }}.io import params, paths
from {{ cookiecutter.package_name }}.io.bundle import METADATA, MODEL_DIR, REFERENCE_DIR, Bundle
from {{ cookiecutter.package_name }}.io.feedback_store import log_path
from {{ cookiecutter.package_name }}.io.files import read_table, write_json, write_table
from {{ cookiecutter.package_name }}.io.prediction_log import Entry, PredictionLog

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
        return params.compose()


@pytest.fixture
def composed(_composed_once: dict[str, Any]) -> dict[str, Any]:
    """conf/ composed with Hydra (once per session; Hydra is slow): a fresh copy per test."""
    return copy.deepcopy(_composed_once)


@pytest.fixture
def project_config(composed: dict[str, Any]) -> Config:
    """The project's own validated configuration, for tests that depend on its task."""
    return config.parse(composed, "conf/")


# --- A throwaway copy of the project, where jobs and commands run for real: conf/, params.yaml
# and a slice of the raw data in a temporary directory, with an MLflow store of its own.

WORKSPACE_ROWS = 200  # enough for the example data's model to clear release.floor
WorkspaceAt = Callable[[Path], AbstractContextManager[Path]]


def copy_project(root: Path, composed: dict[str, Any]) -> None:
    """conf/ and a seeded slice of the raw data into ``root``, and the params.yaml they make."""
    raw = Path(composed["data"]["path"])
    if raw.is_absolute():
        pytest.fail(f"data.path {raw} is absolute: keep the raw data under the project root.")
    if not (PROJECT_ROOT / raw).is_file():
        pytest.fail(f"{raw} not found: run `make data` (raw data is tracked by DVC, not git).")
    shutil.copytree(PROJECT_ROOT / params.CONF_DIR, root / params.CONF_DIR)
    frame = read_table(PROJECT_ROOT / raw)
    write_table(frame.sample(n=min(WORKSPACE_ROWS, len(frame)), random_state=0), root / raw)
    (root / params.PARAMS_FILE).write_text(params.dump_params(composed))


@pytest.fixture(scope="session")
def _empty_tracking_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its tables: creating them takes seconds, a copy none."""
    from mlflow import MlflowClient

    store = tmp_path_factory.mktemp("tracking") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{store}").search_experiments()
    return store


@pytest.fixture(scope="session")
def workspace_at(_composed_once: dict[str, Any], _empty_tracking_store: Path) -> WorkspaceAt:
    """``with workspace_at(root):`` run from a copy of the project at ``root`` (made on first
    use), tracking to its own SQLite store, never to the project's or a team server."""

    @contextmanager
    def enter(root: Path) -> Iterator[Path]:
        if not (root / params.CONF_DIR).is_dir():
            copy_project(root, _composed_once)
            shutil.copy(_empty_tracking_store, root / "mlflow.db")
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(root)
            patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
            patch.delenv("DVC_EXP_NAME", raising=False)
            yield root

    return enter


@pytest.fixture
def workspace(tmp_path: Path, workspace_at: WorkspaceAt) -> Iterator[Path]:
    """A fresh copy of the project (no pipeline outputs, an empty registry), run from there."""
    with workspace_at(tmp_path) as root:
        yield root


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    for name, sub in getattr(command, "commands", {}).items():
        if hasattr(sub, "commands"):
            yield from _commands(sub, (*path, name))
        else:
            yield " ".join((*path, name)), sub.callback


@pytest.fixture(scope="session")
def cli_commands() -> dict[str, Callable[..., Any]]:
    """Every command of the CLI as typed (``train``, ``data init``) -> the function it runs."""
    return dict(_commands(typer.main.get_command(app)))


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


# --- A prediction log of the toy classification schema, in a temporary project directory.

LogRequests = Callable[[list[tuple[str, float]]], Path]


@pytest.fixture
def toy_config(project_config: Config, classification_data: DataConfig) -> Config:
    """The project's config with the toy schema (label a/b; inputs shop, size, amount)."""
    return project_config.model_copy(update={"data": classification_data})


@pytest.fixture
def log_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy_config: Config
) -> LogRequests:
    """Run in ``tmp_path``; log one served request per (request id, P(a)) at the config's path."""
    monkeypatch.chdir(tmp_path)

    def write(requests: list[tuple[str, float]]) -> Path:
        path = log_path(toy_config)
        log = PredictionLog(path, max_rows=10_000, max_age_days=30.0, queue_size=10_000)
        for request_id, proba_a in requests:
            log.log(
                Entry(
                    request_id,
                    datetime.now(UTC),
                    "toy",
                    "1",
                    "champion",
                    [{"shop": "shop1", "size": 2.0, "amount": 3.0}],
                    ["a" if proba_a >= 0.5 else "b"],
                    [[proba_a, 1 - proba_a]],
                    ["a", "b"],
                    1.5,
                )
            )
        log.close()
        return path

    return write


# --- A small schema with two numeric and two categorical inputs, and seeded frames that fit it.

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


# --- Small real models trained in the test session, served from in-memory bundles.

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
    return pd.DataFrame(
        {
            "label": np.where(amount + rng.normal(0, 1, rows) > 4, "b", "a"),
            "shop": [SHOPS[index % 10] for index in range(rows)],
            "size": size,
            "amount": amount,
            "day": np.arange(rows, dtype="float64"),
        }
    )


def metadata(data: DataConfig, version: str) -> BundleMetadata:
    """What `export` writes, for a model trained in memory."""
    return BundleMetadata.describe(
        data, name="toy", version=version, run_id=f"run-{version}", lineage={"git.commit": "abc"}
    )


def fit(data: DataConfig, frame: pd.DataFrame, estimator: Any) -> Pipeline:
    pipeline = Pipeline(
        [("preprocess", build_preprocessor(data, FeaturesConfig(), seed=0)), ("model", estimator)]
    )
    return pipeline.fit(frame[data.feature_columns], frame[data.target])


class Hold:
    """Holds a ``held`` challenger inside ``predict_proba`` until ``release`` is set.

    Tests see causally, not by timing, that a caller was answered while the model was still
    busy: ``finished`` is only set once the model was released.
    """

    started = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    @classmethod
    def close(cls) -> None:
        """From now on a held model waits for ``release``; nothing has started or finished."""
        for event in (cls.release, cls.started, cls.finished):
            event.clear()


@pytest.fixture
def hold() -> Iterator[type[Hold]]:
    """The ``Hold`` of the ``held`` challenger, open until a test closes it; open at the end."""
    Hold.release.set()
    yield Hold
    Hold.release.set()


class Broken(ClassifierMixin, BaseEstimator):
    """A fitted-looking classifier that fails (``fail=True``) or is held (see ``Hold``)."""

    def __init__(self, held: bool = False, fail: bool = True) -> None:
        self.held, self.fail = held, fail

    def fit(self, features: Any, target: Any) -> "Broken":
        self.classes_ = np.unique(target)
        return self

    def predict_proba(self, features: Any) -> np.ndarray:
        if self.held:
            Hold.started.set()
            Hold.release.wait(timeout=30)
            Hold.finished.set()
        if self.fail:
            raise RuntimeError("challenger is broken")
        return np.full((len(features), len(self.classes_)), 1 / len(self.classes_))

    def predict(self, features: Any) -> np.ndarray:
        return np.asarray(self.classes_[self.predict_proba(features).argmax(axis=1)])


@pytest.fixture(scope="session")
def bundles() -> dict[str, Bundle]:
    """Model sources by name: champion v1, challenger v2, a broken and a slow challenger.

    The champion, the challenger and the regressor explain their predictions (they have
    background rows, as a bundle with a reference has); "unexplained" is the champion without.
    """
    data, frame = serving_data("classification"), serving_frame()
    regression = serving_data("regression")
    champion = fit(data, frame, LogisticRegression())
    background = background_sample(frame, data.feature_columns)
    return {
        "champion": Bundle(champion, metadata(data, "1"), background),
        "challenger": Bundle(
            fit(data, frame, LogisticRegression(C=0.01)), metadata(data, "2"), background
        ),
        "broken": Bundle(fit(data, frame, Broken()), metadata(data, "3")),
        "held": Bundle(fit(data, frame, Broken(held=True, fail=False)), metadata(data, "4")),
        "regression": Bundle(
            fit(regression, frame, Ridge()),
            metadata(regression, "5"),
            background_sample(frame, regression.feature_columns),
        ),
        "unexplained": Bundle(champion, metadata(data, "6")),
    }


def write_bundle(
    directory: Path,
    bundle: Bundle,
    reference: pd.DataFrame | None = None,
    baseline: dict[str, float | None] | None = None,
    slices: list[dict[str, Any]] | None = None,
) -> Path:
    """A bundle directory as `export` writes it (the card aside); with a monitoring reference
    when given one: scored ``reference`` rows, their ``baseline`` test metrics and ``slices``."""
    import mlflow.sklearn  # slow to import: only the tests that write a bundle pay for it

    mlflow.sklearn.save_model(
        bundle.pipeline,
        str(directory / MODEL_DIR),
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        pip_requirements=[],
    )
    write_json(bundle.metadata.model_dump(mode="json"), directory / METADATA)
    if reference is not None:
        folder = directory / REFERENCE_DIR
        write_table(reference, folder / paths.SCORED_REFERENCE.name)
        write_json({"test": baseline or {}}, folder / paths.METRICS.name)
        write_json(slices or [], folder / paths.SLICES.name)
    return directory


@pytest.fixture
def record() -> dict[str, Any]:
    """One valid record of the toy classification schema."""
    return {"shop": "shop3", "size": 4.2, "amount": 3.5}
