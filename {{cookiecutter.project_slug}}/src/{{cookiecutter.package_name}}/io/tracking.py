"""MLflow tracking: the only module that opens runs and logs to them.

The tracking URI comes from ``conf/mlflow`` (an embedded SQLite file by default) unless
``MLFLOW_TRACKING_URI`` points at a team server. MLflow is imported lazily so that commands
which do not track anything start fast.
"""

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.config import MlflowConfig
from .registry import reachable

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

MODEL_NAME_IN_RUN = "model"
# Where `evaluate` logs its results in the training run (the monitoring reference among them).
EVALUATION_DIR = "evaluation"
MAX_PARAM_LENGTH = 6000


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"model": {"C": 1}}`` -> ``{"model.C": "1"}``; lists are kept as one value."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        else:
            flat[name] = str(value)[:MAX_PARAM_LENGTH]
    return flat


def metric_name(*parts: str) -> str:
    """MLflow metric names allow letters, digits and ``_-. /``; anything else becomes ``_``."""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. /")
    return ".".join("".join(c if c in allowed else "_" for c in part) for part in parts)


def configure(settings: MlflowConfig) -> None:
    import mlflow

    mlflow.set_tracking_uri(settings.effective_tracking_uri)
    mlflow.set_experiment(settings.experiment_name)


@contextmanager
def start_run(
    settings: MlflowConfig, run_name: str, params: Mapping[str, Any], tags: Mapping[str, str]
) -> Iterator[str]:
    """Open a new run with the flattened config as params and lineage tags; yield its id."""
    import mlflow

    with reachable(settings):
        configure(settings)
        with mlflow.start_run(run_name=run_name, tags=dict(tags)) as run:
            mlflow.log_params(flatten(params))
            yield run.info.run_id


@contextmanager
def resume_run(settings: MlflowConfig, run_id: str) -> Iterator[str]:
    """Reopen the training run so evaluation results land next to the model they describe."""
    import mlflow

    with reachable(settings):
        configure(settings)
        with mlflow.start_run(run_id=run_id):
            yield run_id


@contextmanager
def nested_run(run_name: str, params: Mapping[str, Any], tags: Mapping[str, str]) -> Iterator[str]:
    """A child of the active run (a tuning trial under its study's run); yield its id."""
    import mlflow

    with mlflow.start_run(run_name=run_name, tags=dict(tags), nested=True) as run:
        mlflow.log_params(flatten(params))
        yield run.info.run_id


def set_tags(tags: Mapping[str, str]) -> None:
    import mlflow

    mlflow.set_tags(dict(tags))


def log_metrics(metrics: Mapping[str, float | None], prefix: str) -> None:
    """Log finite values under ``<prefix>.<name>``; undefined (NaN/None) metrics are skipped."""
    import mlflow

    finite = {
        metric_name(prefix, name): float(value)
        for name, value in metrics.items()
        if value is not None and math.isfinite(value)
    }
    mlflow.log_metrics(finite)


def log_dict(payload: Mapping[str, Any], artifact_file: str) -> None:
    import mlflow

    mlflow.log_dict(dict(payload), artifact_file)


def log_artifacts(files: list[Path], directory: str) -> None:
    import mlflow

    for path in files:
        mlflow.log_artifact(str(path), artifact_path=directory)


def log_model(pipeline: "Pipeline", example: "pd.DataFrame") -> str:
    """Log the fitted pipeline with its signature and input example; return the model URI.

    The model is saved with skops (no arbitrary code on load); the few non-scikit-learn types
    our own pipeline contains (such as ``numpy.dtype``) are declared trusted. The
    ``pip_requirements`` are explicit: inferring them would load the model again (~7 s a log).
    """
    import mlflow
    import mlflow.sklearn
    import skops.io
    from mlflow.models import infer_signature

    signature = infer_signature(example, pipeline.predict(example))
    info = mlflow.sklearn.log_model(
        pipeline,
        name=MODEL_NAME_IN_RUN,
        signature=signature,
        input_example=example,
        pip_requirements=mlflow.sklearn.get_default_pip_requirements(include_skops=True),
        skops_trusted_types=skops.io.get_untrusted_types(data=skops.io.dumps(pipeline)),
    )
    return str(info.model_uri)
