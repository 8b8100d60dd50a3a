"""Which engine runs a model: the compiled graph when it is verified, else scikit-learn.

`register` calls ``choose`` (through ``io/compilation.py``; `export` too, for a version
registered before) with the fitted pipeline and real rows (the test split and the reference
snapshot, plus probe records built from the schema: extremes and missing values). The graph
is kept only when its predictions and probabilities on every one of those rows are the
pipeline's within the tolerances of ``core/compiled.py``; otherwise the model serves with
scikit-learn and its metadata says why. Batch scoring takes whichever engine scored the same
rows, repeated to ``BATCH_ROWS``, faster.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from .bundle_metadata import Inference
from .compiled import PROBABILITY_TOLERANCE, VALUE_TOLERANCE, CompiledModel, disagreement
from .config import ColumnSpec
from .conversion import ConversionError, convert
from .predictor import Predictor, probe_records

BATCH_ROWS = 20_000
TIMING_ROUNDS = 3


@dataclass(frozen=True)
class Choice:
    """The engine facts for the model's metadata, and its verified graph (None: no graph)."""

    inference: Inference
    graph: bytes | None


def _best_seconds(run: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(TIMING_ROUNDS):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def choose(
    pipeline: Pipeline,
    columns: Mapping[str, ColumnSpec],
    rows: pd.DataFrame,
    *,
    converter: Callable[[Pipeline, Mapping[str, ColumnSpec]], bytes] = convert,
) -> Choice:
    """Convert ``pipeline``, verify the graph on ``rows`` (and probes), time batch scoring."""
    classifier = hasattr(pipeline, "classes_")
    tolerance = PROBABILITY_TOLERANCE if classifier else VALUE_TOLERANCE
    sklearn = Predictor(pipeline, columns)
    probes = sklearn.frame(probe_records(columns))  # extremes and missing values (as NaN)
    checked = pd.concat([rows[list(columns)], probes], ignore_index=True)
    try:
        graph = converter(pipeline, columns)
        compiled = CompiledModel(graph, columns, classifier=classifier)
        found = compiled.run_frame(checked)
    except ConversionError as error:
        return Choice(Inference(reason=f"not compiled: {error}"), None)
    except Exception as error:  # the graph does not load or run: a converter bug
        reason = f"not compiled: the ONNX graph cannot be run: {type(error).__name__}: {error}"
        return Choice(Inference(reason=reason[:500]), None)
    try:
        scores = sklearn.score_frame(checked)
    except Exception as error:  # nothing to compare with: serve the pipeline as it is
        reason = f"not compiled: scikit-learn cannot score the rows to check against: {error!r}"
        return Choice(Inference(reason=reason[:500]), None)
    expected = (np.asarray(scores.predictions, dtype=object), scores.probabilities)
    largest, problem = disagreement(expected, found, classifier=classifier)
    facts: dict[str, Any] = {
        "tolerance": tolerance,
        "rows_checked": len(checked),
        "max_difference": largest if np.isfinite(largest) else None,
    }
    if problem is not None:
        reason = f"not compiled: the ONNX graph disagrees with scikit-learn: {problem}"
        return Choice(Inference(reason=reason, **facts), None)
    batch = pd.concat([checked] * (BATCH_ROWS // len(checked) + 1), ignore_index=True)
    speedup = _best_seconds(lambda: sklearn.score_frame(batch)) / _best_seconds(
        lambda: compiled.run_frame(batch)
    )
    reason = (
        f"ONNX Runtime: equal to scikit-learn on {len(checked)} rows "
        f"(largest difference {largest:.2g}, tolerance {tolerance:g})"
    )
    return Choice(
        Inference(
            engine="onnx",
            reason=reason,
            batch_engine="onnx" if speedup > 1 else "sklearn",
            batch_speedup=round(speedup, 2),
            **facts,
        ),
        graph,
    )
