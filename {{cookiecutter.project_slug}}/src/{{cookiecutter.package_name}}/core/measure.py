"""Measure a model on held-out rows: its predictions and every metric, overall and per slice.

Pure (models come in loaded): `evaluate` measures the trained pipeline on the test split and
the release gate measures challenger and champion on the same rows, with the same code.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from .config import Config
from .gate import Evaluation
from .metrics import Outcome, compute, outcome_of, slice_metrics
from .models import features_and_target, predict_with_proba
from .predictor import Record


@dataclass(frozen=True)
class Measured:
    """A model's outcome on one held-out set, its metrics (NaN where undefined), and the
    per-slice rows of the error analysis (None where undefined)."""

    outcome: Outcome
    metrics: dict[str, float]
    slices: list[dict[str, object]]

    def evaluation(self, p95_ms: float, schema: tuple[str, ...]) -> Evaluation:
        """What the gate compares: the metrics, and the slices keyed ``column=value``."""
        slices = {
            f"{row['column']}={row['value']}": {
                name: value
                for name, value in row.items()
                if isinstance(value, float) or value is None
            }
            for row in self.slices
        }
        return Evaluation(self.metrics, slices, p95_ms, schema)


def measure(model: Pipeline, frame: pd.DataFrame, config: Config) -> Measured:
    """Predict ``frame`` with ``model`` and compute the task's metrics, overall and per slice."""
    features, target = features_and_target(frame, config)
    predictions, proba = predict_with_proba(model, features)
    task = config.data.task
    classes = getattr(model, "classes_", ())
    outcome = outcome_of(task, target.to_numpy(), predictions, proba, classes)
    slices = slice_metrics(
        task,
        outcome,
        frame=frame,
        slice_columns=config.data.slice_columns,
        min_rows=config.evaluate.min_slice_rows,
    )
    return Measured(outcome, compute(task, outcome), slices)


def request_records(features: pd.DataFrame) -> list[Record]:
    """Rows as an API request carries them: plain values, a missing one as None."""
    table = features.astype(object).where(features.notna(), None)
    return [{str(name): value for name, value in row.items()} for row in table.to_dict("records")]


def single_row_p95_ms(
    scorers: Sequence[Callable[[list[Record]], object]], records: Sequence[Record], rows: int
) -> list[float]:
    """p95 latency of one-record requests per scorer (a model as it serves: its
    ``Predictor.score_records``), interleaved so that every scorer sees the same noise."""
    timings: list[list[float]] = [[] for _ in scorers]
    for index in range(rows):
        request = [records[index % len(records)]]
        for position, score in enumerate(scorers):
            started = time.perf_counter()
            score(request)
            timings[position].append((time.perf_counter() - started) * 1000.0)
    return [float(np.percentile(values, 95)) for values in timings]
