"""`export`: write a registered version as a self-contained bundle (see `io/bundle.py`).

The bundle carries the model, its metadata, its card and its monitoring reference, so a
container serves it and `monitor --model <bundle>` judges its traffic without the registry.
"""

import shutil
import tempfile
from pathlib import Path

from ..core.config import Config
from ..core.errors import ProjectError
from ..io.bundle import (
    CARD,
    METADATA,
    MODEL_DIR,
    REFERENCE_DIR,
    MissingReferenceError,
    download_reference,
    metadata,
)
from ..io.files import write_json
from ..io.registry import Registry, reachable, resolve


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
            write_json(
                metadata(registry, version, alias).model_dump(mode="json"), staging / METADATA
            )
            try:
                download_reference(registry, version, staging / REFERENCE_DIR)
            except MissingReferenceError as error:  # it serves; only `monitor` needs one
                print(f"warning: {error}")
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
