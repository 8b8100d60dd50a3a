"""Self-contained model bundles: what a container serves without reaching the registry.

A bundle directory holds ``model/`` (the MLflow model), ``metadata.json`` (name, version,
task, input schema, classes, metrics, lineage) and ``MODEL_CARD.md``. `load_bundle` reads a
bundle directory or a registry URI the same way, so serving has one code path.
"""

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from ..config import Config
from ..errors import ProjectError
from ..files import read_json, write_json
from .registry import Registry, Version, now, reachable
from .workflow import resolve

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


def export(config: Config, alias: str, destination: Path, *, force: bool = False) -> Path:
    """Write the bundle for ``alias`` to ``destination`` (atomically: all or nothing)."""
    import mlflow

    if destination.exists() and any(destination.iterdir()) and not force:
        raise ProjectError(f"{destination} is not empty: choose another directory or pass --force.")
    with reachable(config.mlflow):
        registry = Registry(config.mlflow)
        version = resolve(registry, f"models:/{registry.name}@{alias}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
        try:
            mlflow.artifacts.download_artifacts(
                artifact_uri=version.uri, dst_path=str(staging / MODEL_DIR)
            )
            write_json(metadata(registry, version, alias), staging / METADATA)
            card_path = f"model_card/version-{version.version}.md"
            try:
                card = mlflow.artifacts.load_text(f"runs:/{version.run_id}/{card_path}")
            except mlflow.exceptions.MlflowException:
                card = f"# {version.name} version {version.version}\n\nNo model card was logged.\n"
            (staging / CARD).write_text(card)
            if destination.exists():
                shutil.rmtree(destination)
            staging.rename(destination)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    print(f"exported {version.name} version {version.version} ('{alias}') to {destination}")
    return destination


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
