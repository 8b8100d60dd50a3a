"""`export`: write a registered version as a self-contained bundle (see `io/bundle.py`).

The bundle carries the model, its metadata, its card and its monitoring reference, so a
container serves it and `monitor --model <bundle>` judges its traffic without the registry.
It also carries the model compiled to ONNX when the graph gives the pipeline's answers on the
test split and the reference snapshot (``core/engine.py``); else it says why it has none.
`register` compiled the version already (``io/compilation.py``): the bundle copies that; only
a version registered before is compiled here.
"""

import shutil
import tempfile
from pathlib import Path

from ..core.bundle_metadata import BundleMetadata
from ..core.config import Config
from ..core.engine import Choice
from ..core.errors import ProjectError
from ..io import paths
from ..io.bundle import (
    CARD,
    COMPILED,
    METADATA,
    MODEL_DIR,
    REFERENCE_DIR,
    MissingReferenceError,
    download_reference,
    metadata,
)
from ..io.compilation import compile_model, read_compiled
from ..io.files import write_json
from ..io.registry import Registry, reachable, resolve


def compile_staged(staging: Path, facts: BundleMetadata) -> Choice:
    """Compile the bundle's model, on the test split here and the bundle's reference: for a
    version registered before `register` compiled models."""
    import mlflow.sklearn

    pipeline = mlflow.sklearn.load_model(str(staging / MODEL_DIR))
    reference = staging / REFERENCE_DIR / paths.SCORED_REFERENCE.name
    return compile_model(pipeline, dict(facts.columns), reference)


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
            try:
                download_reference(registry, version, staging / REFERENCE_DIR)
            except MissingReferenceError as error:  # it serves; only `monitor` needs one
                print(f"warning: {error}")
            facts = metadata(registry, version, alias)
            choice = read_compiled(registry, version.run_id) or compile_staged(staging, facts)
            if choice.graph is not None:
                (staging / COMPILED).write_bytes(choice.graph)
            print(choice.inference.summary)
            facts = facts.model_copy(update={"inference": choice.inference})
            write_json(facts.model_dump(mode="json"), staging / METADATA)
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
