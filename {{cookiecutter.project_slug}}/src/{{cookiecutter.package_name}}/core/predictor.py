"""The served model: the fitted pipeline, scored from plain records or from a DataFrame.

With a compiled graph (``model.onnx``, verified when the version was registered, or by
`export`) the API scores records with it (``core/compiled.py``), and batch scoring too when it
was measured faster;
the graph is checked again on probe records when it is loaded, and a graph that cannot load or
disagrees leaves the pipeline serving (``engine`` and ``engine_reason`` say which, and why).
Without one, the pipeline serves as follows.

A DataFrame per request costs about as much as the prediction itself, so records take a
faster road to the *same* fitted transforms: each block of the pipeline's ColumnTransformer
gets a NumPy array of its columns, in its fitted order, and the estimator gets their
concatenation, exactly what ``pipeline.predict`` computes. The road is checked against the
pipeline on probe records when the model is loaded; any other pipeline shape, or any
difference, falls back to a DataFrame. Batch scoring always uses the DataFrame.

A classifier's answer needs its probabilities, and for most estimators ``predict`` is the
argmax of a score that ``predict_proba`` maps monotonically: one model call gives both, which
halves the scoring time. This holds only for the estimator classes listed in
``ARGMAX_PREDICT`` (by their scikit-learn code, not a subclass that may override either
method), and only away from ties: rows whose top two probabilities are within ``TIE`` get the
estimator's own ``predict``, so the predictions are exactly ``pipeline.predict``'s. Any other
estimator is called twice (a calibrated SVC, say, whose probabilities come from a separate
calibration and can disagree with its predictions).
"""

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

from .bundle_metadata import NOT_COMPILED
from .compiled import CompiledModel, Outputs, disagreement
from .config import ColumnSpec

Record = Mapping[str, Any]
ARGMAX_PREDICT: frozenset[type] = frozenset(
    {
        DecisionTreeClassifier,
        ExtraTreeClassifier,
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        LogisticRegression,
        RandomForestClassifier,
    }
)
TIE = 1e-9


@dataclass(frozen=True)
class Scores:
    """Predictions for a batch of rows, and class probabilities for a classifier."""

    predictions: list[Any]
    probabilities: np.ndarray | None


@dataclass(frozen=True)
class _Block:
    transformer: Any
    columns: tuple[str, ...]
    dtype: type


def _forget_feature_names(transformer: Any) -> Any:
    """A copy that accepts arrays: the fitted state is the same, only the name check is gone."""
    fresh = copy.deepcopy(transformer)
    for step in fresh.steps if isinstance(fresh, Pipeline) else [(None, fresh)]:
        if "feature_names_in_" in vars(step[1]):
            delattr(step[1], "feature_names_in_")
    return fresh


def _compile(pipeline: Any, columns: Mapping[str, ColumnSpec]) -> list[_Block] | None:
    """The array road through ``pipeline``, or None when its shape is not the one we build."""
    if not (isinstance(pipeline, Pipeline) and len(pipeline.steps) == 2):
        return None
    preprocess = pipeline.steps[0][1]
    if not isinstance(preprocess, ColumnTransformer) or getattr(
        preprocess, "sparse_output_", False
    ):
        return None
    blocks = []
    for name, transformer, selected in preprocess.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        names = list(selected) if not isinstance(selected, str) else [selected]
        if name == "remainder" or isinstance(transformer, str) or not names:
            return None
        if not all(isinstance(column, str) and column in columns for column in names):
            return None
        numeric = all(columns[column].type == "numeric" for column in names)
        block = _Block(
            _forget_feature_names(transformer), tuple(names), float if numeric else object
        )
        blocks.append(block)
    return blocks


def probe_records(columns: Mapping[str, ColumnSpec]) -> list[dict[str, Any]]:
    """A few valid records built from the schema alone: ranges, categories and missing values."""
    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    for name, spec in columns.items():
        if spec.type == "numeric":
            low[name] = spec.min if spec.min is not None else 0.0
            high[name] = spec.max if spec.max is not None else 1.0
        else:
            categories = spec.categories or ["a", "b"]
            low[name], high[name] = categories[0], categories[-1]
    missing = dict.fromkeys(columns)
    return [low, high, missing]


def argmax_predictions(model: Any, inputs: Any, probabilities: np.ndarray) -> np.ndarray:
    """``model.predict(inputs)`` from its probabilities; rows at a near-tie ask the model."""
    top_two = np.partition(probabilities, -2, axis=1)[:, -2:]
    predictions: np.ndarray = np.asarray(model.classes_).take(probabilities.argmax(axis=1))
    tied = np.flatnonzero(top_two[:, 1] - top_two[:, 0] <= TIE)
    if len(tied):
        rows = inputs.iloc[tied] if isinstance(inputs, pd.DataFrame) else inputs[tied]
        predictions[tied] = model.predict(rows)
    return predictions


class Predictor:
    """Scores records (the API) or DataFrames (batch) with one fitted pipeline.

    ``graph`` is the pipeline's ONNX form, used for records and, with ``batch_graph``, for
    DataFrames; ``reason`` says why there is none (it becomes ``engine_reason``).
    """

    def __init__(
        self,
        pipeline: Pipeline,
        columns: Mapping[str, ColumnSpec],
        graph: bytes | None = None,
        *,
        batch_graph: bool = False,
        reason: str = NOT_COMPILED,
    ) -> None:
        self.pipeline = pipeline
        self.feature_columns = list(columns)
        classes = getattr(pipeline, "classes_", None)
        self.classes: list[Any] | None = classes.tolist() if classes is not None else None
        self._estimator = pipeline.steps[-1][1]
        self._argmax = self.classes is not None and type(self._estimator) in ARGMAX_PREDICT
        self._compiled: CompiledModel | None = None
        self._batch_compiled = False
        self.engine, self.engine_reason = "sklearn", reason
        self._blocks = _compile(pipeline, columns)
        probes = probe_records(columns)
        if self._blocks is not None and not self._agrees(probes):
            self._blocks = None
        if graph is not None:
            self._load_graph(graph, columns, probes)
            self._batch_compiled = batch_graph and self._compiled is not None

    @property
    def fast(self) -> bool:
        """True when records are scored without building a DataFrame."""
        return self._compiled is not None or self._blocks is not None

    def _load_graph(
        self, graph: bytes, columns: Mapping[str, ColumnSpec], probes: list[dict[str, Any]]
    ) -> None:
        """Serve with the graph only if it loads and gives the pipeline's answers on probes."""
        try:
            compiled = CompiledModel(graph, columns, classifier=self.classes is not None)
            found = compiled.run_records(probes)
        except Exception as error:  # a corrupt or foreign file raises anything
            self.engine_reason = f"model.onnx cannot be run, scikit-learn serves: {error!r}"[:500]
            return
        problem: str | None
        try:
            scores = self.score_frame(self.frame(probes))
        except Exception as error:  # the graph cannot be vouched for: serve the pipeline as it is
            problem = f"the pipeline itself cannot score them ({error!r})"[:300]
        else:
            expected = (np.asarray(scores.predictions, dtype=object), scores.probabilities)
            _, problem = disagreement(expected, found, classifier=self.classes is not None)
        if problem is not None:
            self.engine_reason = (
                f"model.onnx disagrees with the pipeline on probe records: {problem}"
            )
            return
        self._compiled, self.engine = compiled, "onnx"
        self.engine_reason = "model.onnx, verified when compiled and on probe records at load"

    def _compiled_scores(self, outputs: Outputs, *, probabilities: bool = True) -> Scores:
        predictions, proba = outputs
        numbers = proba if proba is not None else predictions
        if numbers.dtype.kind == "f" and not np.isfinite(numbers).all():
            raise ValueError("the model produced non-finite scores for these inputs")
        return Scores(predictions.tolist(), proba if probabilities else None)

    def frame(self, records: Sequence[Record]) -> pd.DataFrame:
        """Records as the DataFrame the pipeline was trained on (missing values as NaN)."""
        frame = pd.DataFrame(list(records), columns=self.feature_columns)
        return frame.where(frame.notna(), np.nan)

    def _agrees(self, records: list[dict[str, Any]]) -> bool:
        try:
            expected = self.score_frame(self.frame(records))
            found = self.score_records(records)
        except Exception:  # a model that cannot score the probes is served as it is
            return False
        if found.predictions != expected.predictions:
            return False
        if expected.probabilities is None or found.probabilities is None:
            return found.probabilities is expected.probabilities
        return bool(np.allclose(found.probabilities, expected.probabilities, rtol=0, atol=1e-12))

    def _scores(self, model: Any, inputs: Any, *, probabilities: bool = True) -> Scores:
        # Extreme (yet valid) inputs may overflow inside the model: refuse the non-finite
        # result below with a ValueError instead of a floating-point warning per request.
        with np.errstate(all="ignore"):
            if self.classes is None or not probabilities:
                predictions, proba = model.predict(inputs), None
            elif self._argmax:
                proba = model.predict_proba(inputs)
                predictions = argmax_predictions(model, inputs, proba)
            else:
                predictions, proba = model.predict(inputs), model.predict_proba(inputs)
        numbers = proba if proba is not None else predictions
        if numbers.dtype.kind == "f" and not np.isfinite(numbers).all():
            raise ValueError("the model produced non-finite scores for these inputs")
        return Scores(predictions.tolist(), proba)

    def score_records(self, records: Sequence[Record]) -> Scores:
        """Score validated records (missing values as None)."""
        if self._compiled is not None:
            return self._compiled_scores(self._compiled.run_records(records))
        if self._blocks is None:
            return self.score_frame(self.frame(records))
        parts = []
        for block in self._blocks:
            if block.dtype is float:
                values = np.array([[r.get(c) for c in block.columns] for r in records], dtype=float)
            else:
                rows = [
                    [np.nan if r.get(c) is None else r[c] for c in block.columns] for r in records
                ]
                values = np.array(rows, dtype=object)
            parts.append(block.transformer.transform(values))
        return self._scores(self._estimator, np.hstack(parts))

    def score_frame(self, frame: pd.DataFrame, *, probabilities: bool = True) -> Scores:
        """Score a DataFrame through the pipeline's own steps, transforming it only once.

        ``probabilities=False`` skips a classifier's probabilities (one ``predict`` call).
        """
        if self._batch_compiled and self._compiled is not None:
            outputs = self._compiled.run_frame(frame)
            return self._compiled_scores(outputs, probabilities=probabilities)
        inputs = self.pipeline[:-1].transform(frame[self.feature_columns])
        return self._scores(self._estimator, inputs, probabilities=probabilities)
