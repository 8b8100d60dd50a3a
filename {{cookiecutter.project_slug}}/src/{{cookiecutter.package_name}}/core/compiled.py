"""The compiled inference path: the pipeline's ONNX graph (``core/conversion.py``) run by ONNX
Runtime, and the rule that says whether its answers are the pipeline's.

For one record scikit-learn spends milliseconds in per-call checks (input validation, output
wrappers, metadata routing) around microseconds of arithmetic; the graph does the same
arithmetic in tens of microseconds. It runs on one thread: requests are parallel already, and a
thread pool per call costs more than it saves on small inputs.

Tolerances (``disagreement``): a classifier's predictions must be equal, its probabilities
within ``PROBABILITY_TOLERANCE`` (absolute); a regressor's values within ``VALUE_TOLERANCE``
relative to ``max(1, |value|)``. The float64 graph is exact to ~1e-15; the tolerance leaves
room for estimators that run in float32 (trees), whose sums differ in the last bits.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .config import ColumnSpec
from .conversion import MISSING

PROBABILITY_TOLERANCE = 1e-5
VALUE_TOLERANCE = 1e-5
Record = Mapping[str, Any]
Outputs = tuple[np.ndarray, np.ndarray | None]  # predictions, class probabilities


class CompiledModel:
    """An ONNX graph loaded in ONNX Runtime, fed records or a DataFrame."""

    def __init__(
        self, graph: bytes, columns: Mapping[str, ColumnSpec], *, classifier: bool
    ) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: a warning per load is noise
        self._session = onnxruntime.InferenceSession(
            graph, options, providers=["CPUExecutionProvider"]
        )
        expected = [item.name for item in self._session.get_inputs()]
        if expected != list(columns):
            raise ValueError(
                f"the graph's inputs {expected} are not the model's columns {list(columns)}"
            )
        self._numeric = tuple(name for name, spec in columns.items() if spec.type == "numeric")
        self._strings = tuple(name for name in columns if name not in self._numeric)
        self.classifier = classifier

    def run_records(self, records: Sequence[Record]) -> Outputs:
        """Predictions (and probabilities) for validated records (missing values as None)."""
        feeds: dict[str, np.ndarray] = {}
        for name in self._numeric:
            feeds[name] = np.array([[r.get(name)] for r in records], dtype=np.float64)
        for name in self._strings:
            values = [[MISSING if r.get(name) is None else r[name]] for r in records]
            feeds[name] = np.array(values, dtype=object)
        return self._run(feeds)

    def run_frame(self, frame: pd.DataFrame) -> Outputs:
        """Predictions (and probabilities) for the rows of a DataFrame (missing: NaN or None)."""
        feeds: dict[str, np.ndarray] = {}
        for name in self._numeric:
            column = pd.to_numeric(frame[name]).to_numpy(dtype=np.float64, na_value=np.nan)
            feeds[name] = column.reshape(-1, 1)
        for name in self._strings:
            strings = frame[name].astype(object)
            filled = strings.where(strings.notna(), MISSING).to_numpy(dtype=object)
            feeds[name] = filled.reshape(-1, 1)
        return self._run(feeds)

    def _run(self, feeds: dict[str, np.ndarray]) -> Outputs:
        outputs = self._session.run(None, feeds)
        if self.classifier:
            return outputs[0], np.asarray(outputs[1], dtype=np.float64)
        return np.asarray(outputs[0], dtype=np.float64).reshape(-1), None


def _class_disagreement(expected: Outputs, found: Outputs) -> tuple[float, str | None]:
    (wanted, wanted_proba), (got, got_proba) = expected, found
    largest = 0.0
    if wanted_proba is not None and got_proba is not None:
        if wanted_proba.shape != got_proba.shape:
            return np.inf, f"probabilities of shape {got_proba.shape}, not {wanted_proba.shape}"
        largest = float(np.max(np.abs(wanted_proba - got_proba), initial=0.0))
    unequal = np.flatnonzero(np.asarray(wanted, dtype=object) != np.asarray(got, dtype=object))
    if len(unequal):
        row = unequal[0]
        problem = f"{len(unequal)} of {len(wanted)} predictions differ"
        return largest, f"{problem} (row {row}: {got[row]!r} instead of {wanted[row]!r})"
    if not largest <= PROBABILITY_TOLERANCE:  # NaN fails too
        return largest, f"probabilities differ by up to {largest:.3g}"
    return largest, None


def _value_disagreement(expected: Outputs, found: Outputs) -> tuple[float, str | None]:
    wanted, got = np.asarray(expected[0], np.float64), np.asarray(found[0], np.float64)
    relative = np.abs(got - wanted) / np.maximum(1.0, np.abs(wanted))
    largest = float(np.max(relative, initial=0.0))
    if not largest <= VALUE_TOLERANCE:  # NaN fails too
        return largest, f"predicted values differ by up to {largest:.3g} (relative)"
    return largest, None


def disagreement(
    expected: Outputs, found: Outputs, *, classifier: bool
) -> tuple[float, str | None]:
    """The largest difference of ``found`` from ``expected``, and the broken tolerance (if any)."""
    if len(found[0]) != len(expected[0]):
        return np.inf, f"{len(found[0])} answers for {len(expected[0])} rows"
    if classifier:
        return _class_disagreement(expected, found)
    return _value_disagreement(expected, found)
