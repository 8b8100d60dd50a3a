"""Self-contained model bundles: what a container serves, and what its traffic is judged against.

A bundle directory holds ``model/`` (the MLflow model), ``metadata.json`` (`BundleMetadata`),
``model.onnx`` (the compiled model, when it was verified: ``core/engine.py``),
``MODEL_CARD.md`` and ``reference/``: the model's own evaluation (its scored reference
snapshot, test metrics and slices), which `monitor` compares production with. A registered
version has the same reference in its training run (``evaluation/``, logged by `evaluate`),
and its compiled model and engine facts (``compiled/``, logged by `register`:
``io/compilation.py``).
`load_bundle` and `load_reference` read a bundle directory or a registry URI the same way,
so serving and monitoring each have one code path, and monitoring judges the model that
serves, never whatever this checkout trained last.
"""

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError
from sklearn.pipeline import Pipeline

from ..core.bundle_metadata import BundleMetadata
from ..core.config import Config, DataConfig
from ..core.errors import ProjectError
from ..core.explanations import background_sample
from ..core.predictor import Predictor
from ..core.timestamps import now
from . import paths
from .compilation import GRAPH, read_compiled
from .files import read_json, read_table
from .registry import Registry, Version, reachable, resolve
from .tracking import EVALUATION_DIR

METADATA = "metadata.json"
MODEL_DIR = "model"
COMPILED = GRAPH  # the same file name as in a training run's compiled/
CARD = "MODEL_CARD.md"
REFERENCE_DIR = "reference"
# Written by `evaluate`, logged to the run's EVALUATION_DIR, copied to a bundle's reference/.
REFERENCE_FILES = (paths.SCORED_REFERENCE.name, paths.METRICS.name, paths.SLICES.name)


class MissingReferenceError(ProjectError):
    """The version (or bundle) has no monitoring reference: it was evaluated before they existed."""


@dataclass(frozen=True)
class Bundle:
    """A loaded model and the facts serving needs about it.

    ``background`` is a sample of the model's reference rows, which its predictions are
    explained against (`core/explanations.py`); None when it was not asked for, or the model
    has no reference.
    """

    pipeline: Pipeline
    metadata: BundleMetadata
    background: pd.DataFrame | None = None
    graph: bytes | None = None  # the model's verified ONNX form (``model.onnx``), if any

    def predictor(self) -> Predictor:
        """The model as it scores: with its verified graph when it has one (``engine``)."""
        inference = self.metadata.inference
        compiled = inference.engine == "onnx"
        reason = inference.reason
        if compiled and self.graph is None:
            reason = f"{COMPILED} is missing, though it was verified: scikit-learn serves"
        return Predictor(
            self.pipeline,
            dict(self.metadata.columns),
            self.graph if compiled else None,
            batch_graph=inference.batch_engine == "onnx",
            reason=reason,
        )


@dataclass(frozen=True)
class Reference:
    """What a model's traffic is judged against: the model's own evaluation.

    ``scored`` is the reference snapshot with the model's predictions (and probabilities),
    ``baseline`` its metrics on the test split and ``slices`` those metrics per slice.
    """

    scored: pd.DataFrame
    baseline: dict[str, float | None]
    slices: list[dict[str, Any]]


def metadata(registry: Registry, version: Version, alias: str | None) -> BundleMetadata:
    """Everything needed to serve and trace the version, taken from its run."""
    import mlflow

    run = registry.client.get_run(version.run_id)
    resolved = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/config/resolved.json")
    try:
        data = DataConfig.model_validate(resolved["data"])
    except ValidationError as error:
        raise ProjectError(
            f"version {version.version} was trained with a data config this code cannot read "
            f"(run {version.run_id}): {error}"
        ) from error
    return BundleMetadata.describe(
        data,
        name=version.name,
        version=version.version,
        alias=alias,
        run_id=version.run_id,
        metrics=dict(run.data.metrics),
        lineage={k: v for k, v in version.tags.items() if not k.startswith("audit.")},
        exported_at=now(),
    )


def download_reference(registry: Registry, version: Version, destination: Path) -> None:
    """Copy the version's reference files from its training run into ``destination``."""
    logged = {
        Path(item.path).name
        for item in registry.client.list_artifacts(version.run_id, EVALUATION_DIR)
    }
    missing = [name for name in REFERENCE_FILES if name not in logged]
    if missing:
        raise MissingReferenceError(
            f"{version.uri} has no monitoring reference ({', '.join(missing)} in the "
            f"{EVALUATION_DIR}/ artifacts of run {version.run_id}): it was evaluated before "
            "references were logged with the model, so `monitor` cannot judge its traffic. "
            "Release a version that has one (`make pipeline release`)."
        )
    destination.mkdir(parents=True, exist_ok=True)
    for name in REFERENCE_FILES:
        found = Path(
            registry.client.download_artifacts(
                version.run_id, f"{EVALUATION_DIR}/{name}", str(destination)
            )
        )
        if found != destination / name:
            found.replace(destination / name)


def read_reference(directory: Path) -> Reference:
    """The reference files of a bundle (or of a download), as `monitor` uses them."""
    missing = [name for name in REFERENCE_FILES if not (directory / name).is_file()]
    if missing:
        raise MissingReferenceError(
            f"{directory} lacks {', '.join(missing)}: the bundle was exported without a "
            "monitoring reference. Export it again (`export`) from a version that has one."
        )
    metrics = read_json(directory / paths.METRICS.name)
    return Reference(
        scored=read_table(directory / paths.SCORED_REFERENCE.name),
        baseline=dict(metrics.get("test", {})),
        slices=list(read_json(directory / paths.SLICES.name)),
    )


def registered(registry: Registry, version: Version, alias: str | None) -> Bundle:
    """A registered version as it serves: its pipeline, its facts and its compiled model."""
    import mlflow.sklearn

    pipeline: Pipeline = mlflow.sklearn.load_model(version.uri)
    facts = metadata(registry, version, alias)
    logged = read_compiled(registry, version.run_id)  # None: "registered without"
    if logged is not None:
        facts = facts.model_copy(update={"inference": logged.inference})
    return Bundle(pipeline, facts, graph=logged.graph if logged else None)


def _open(source: str, config: Config) -> tuple[Bundle, Callable[[], Reference]]:
    """The bundle at ``source``, and how to read its reference (`monitor`, explanations)."""
    import mlflow.sklearn

    if source.startswith("models:/"):
        with reachable(config.mlflow):
            registry = Registry(config.mlflow)
            version = resolve(registry, source)
            bundle = registered(registry, version, source.partition("@")[2] or None)

        def fetch() -> Reference:
            with reachable(config.mlflow), tempfile.TemporaryDirectory() as scratch:
                download_reference(registry, version, Path(scratch))
                return read_reference(Path(scratch))

        return bundle, fetch
    directory = Path(source)
    if not (directory / METADATA).is_file() or not (directory / MODEL_DIR).is_dir():
        raise ProjectError(
            f"{directory} is not a model bundle (no {METADATA} or {MODEL_DIR}/): "
            "create one with `export`."
        )
    try:
        facts = BundleMetadata.model_validate(read_json(directory / METADATA))
    except ValidationError as error:
        raise ProjectError(
            f"{directory / METADATA} is not valid bundle metadata: {error}"
        ) from error
    pipeline = mlflow.sklearn.load_model(str(directory / MODEL_DIR))
    compiled = directory / COMPILED
    graph = compiled.read_bytes() if compiled.is_file() else None
    return Bundle(pipeline, facts, graph=graph), lambda: read_reference(directory / REFERENCE_DIR)


def load_bundle(source: str, config: Config, *, background: bool = False) -> Bundle:
    """A bundle directory, or a registry URI such as ``models:/<name>@champion``.

    ``background``: also sample the rows its predictions are explained against, from its
    reference (none when it has no reference: explanations are then refused, by name).
    """
    bundle, reference = _open(source, config)
    if not background:
        return bundle
    try:
        scored = reference().scored
    except MissingReferenceError:
        return bundle
    sample = background_sample(scored, bundle.metadata.feature_columns)
    return replace(bundle, background=sample)


def load_reference(source: str, config: Config) -> tuple[Bundle, Reference]:
    """The model at ``source`` and its own evaluation, resolved once (an alias cannot move)."""
    bundle, reference = _open(source, config)
    return bundle, reference()
