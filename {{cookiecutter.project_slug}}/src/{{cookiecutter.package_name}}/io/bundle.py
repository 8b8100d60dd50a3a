"""Self-contained model bundles: what a container serves without reaching the registry.

A bundle directory holds ``model/`` (the MLflow model), ``metadata.json`` (name, version,
task, input schema, classes, metrics, lineage) and ``MODEL_CARD.md``. `load_bundle` reads a
bundle directory or a registry URI the same way, so serving has one code path.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from ..core.config import Config
from ..core.errors import ProjectError
from .files import read_json
from .registry import Registry, Version, now, reachable, resolve

METADATA = "metadata.json"


MODEL_DIR = "model"


CARD = "MODEL_CARD.md"


@dataclass(frozen=True)
class Bundle:
    """A loaded model and the facts serving needs about it."""

    pipeline: Pipeline
    metadata: dict[str, Any]


def metadata(registry: Registry, version: Version, alias: str | None) -> dict[str, Any]:
    """Everything needed to serve and trace the version, taken from its run."""
    import mlflow

    run = registry.client.get_run(version.run_id)
    resolved = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/config/resolved.json")
    data = resolved["data"]
    columns = data["columns"]
    features = [
        name
        for name, spec in columns.items()
        if spec.get("feature", True) and name != data["target"] and spec["type"] != "datetime"
    ]
    return {
        "name": version.name,
        "version": version.version,
        "alias": alias,
        "run_id": version.run_id,
        "task": data["task"],
        "target": data["target"],
        "feature_columns": features,
        "columns": {name: columns[name] for name in features},
        "target_schema": columns[data["target"]],
        "metrics": dict(run.data.metrics),
        "lineage": {k: v for k, v in version.tags.items() if not k.startswith("audit.")},
        "exported_at": now(),
    }


def load_bundle(source: str, config: Config) -> Bundle:
    """A bundle directory, or a registry URI such as ``models:/<name>@champion``."""
    import mlflow.sklearn

    if source.startswith("models:/"):
        with reachable(config.mlflow):
            registry = Registry(config.mlflow)
            version = resolve(registry, source)
            alias = source.partition("@")[2] or None
            pipeline: Pipeline = mlflow.sklearn.load_model(version.uri)
            return Bundle(pipeline, metadata(registry, version, alias))
    directory = Path(source)
    if not (directory / METADATA).is_file() or not (directory / MODEL_DIR).is_dir():
        raise ProjectError(
            f"{directory} is not a model bundle (no {METADATA} or {MODEL_DIR}/): "
            "create one with `export`."
        )
    pipeline = mlflow.sklearn.load_model(str(directory / MODEL_DIR))
    return Bundle(pipeline, read_json(directory / METADATA))
