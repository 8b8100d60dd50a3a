"""A registered version's compiled model: built once, when the version is registered.

`register` converts the training run's pipeline to ONNX and verifies it (``core/engine.py``)
on the test split and the scored reference snapshot of `evaluate`, and logs the outcome to
the run before it creates the version, so no version lacks it after a crash:
``compiled/inference.json`` (the `Inference` facts, so a fallback says why) and
``compiled/model.onnx`` (only when verified). Every reader of the registry (`load_bundle` of
a ``models:/`` URI: the API, batch scoring) and `export` take them from there. A version
registered before has neither: it serves with scikit-learn and says so, and `export`
compiles its bundle (with `compile_model`, on the same rows).
"""

import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from pydantic import ValidationError
from sklearn.pipeline import Pipeline

from ..core.bundle_metadata import Inference
from ..core.config import ColumnSpec, Config
from ..core.engine import Choice, choose
from ..core.errors import ProjectError
from . import paths, tracking
from .files import read_json, read_table, write_json
from .registry import Registry, load_model

COMPILED_DIR = "compiled"  # in the training run's artifacts
FACTS = "inference.json"
GRAPH = "model.onnx"


def checked_rows(scored_reference: Path) -> pd.DataFrame:
    """The rows a compiled model is verified on: the test split here and the model's reference."""
    tables = [read_table(path) for path in (paths.TEST, scored_reference) if path.is_file()]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def compile_model(
    pipeline: Pipeline, columns: Mapping[str, ColumnSpec], scored_reference: Path
) -> Choice:
    """``pipeline`` converted and verified on `checked_rows` (and probe records)."""
    rows = checked_rows(scored_reference).reindex(columns=list(columns))
    return choose(pipeline, columns, rows)


def compile_run(config: Config, registry: Registry, run_id: str, model_uri: str) -> Choice:
    """Compile the run's model and log the outcome to the run, once: a run registered again
    (or whose registration stopped after this step) keeps what it has."""
    logged = read_compiled(registry, run_id)
    if logged is not None:
        return logged
    columns = {name: config.data.columns[name] for name in config.data.feature_columns}
    choice = compile_model(load_model(model_uri), columns, paths.SCORED_REFERENCE)
    with tempfile.TemporaryDirectory() as scratch:
        files = [Path(scratch) / FACTS]
        write_json(choice.inference.model_dump(mode="json"), files[0])
        if choice.graph is not None:
            files.append(Path(scratch) / GRAPH)
            files[-1].write_bytes(choice.graph)
        with tracking.resume_run(config.mlflow, run_id):
            tracking.log_artifacts(files, COMPILED_DIR)
    return choice


def read_compiled(registry: Registry, run_id: str) -> Choice | None:
    """What registration logged to the run; None when it has no ``compiled/`` (one listing)."""
    logged = {Path(item.path).name for item in registry.client.list_artifacts(run_id, COMPILED_DIR)}
    if FACTS not in logged:
        return None
    with tempfile.TemporaryDirectory() as scratch:

        def download(name: str) -> Path:
            return Path(
                registry.client.download_artifacts(run_id, f"{COMPILED_DIR}/{name}", scratch)
            )

        try:
            inference = Inference.model_validate(read_json(download(FACTS)))
        except ValidationError as error:
            raise ProjectError(
                f"{COMPILED_DIR}/{FACTS} of run {run_id} is not valid engine facts: {error}. "
                "Register a new training run of this model (`make pipeline release`)."
            ) from error
        compiled = inference.engine == "onnx" and GRAPH in logged
        graph = download(GRAPH).read_bytes() if compiled else None
    return Choice(inference, graph)
