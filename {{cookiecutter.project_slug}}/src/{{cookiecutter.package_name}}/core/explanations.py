"""Local explanations: how much each input column moved one prediction, in the model's units.

Interventional Shapley values whose players are the ORIGINAL columns, measured against a
background sample of the model's reference rows. The value of a set S of columns is the
model's mean output when the columns of S take the record's values and the others take the
background rows' values; a column's contribution is its Shapley share of
``output(record) - mean output(background)``. The whole pipeline runs on these mixed rows,
so a one-hot encoded column is one player (never its indicator columns), imputation is part
of what a missing value contributes, and any scikit-learn pipeline (any model family, a
user's own) is explained the same way, without a dependency beyond NumPy and pandas. The
model is scored through its ``Predictor``, so the numbers explained are the ones answered,
whichever engine (scikit-learn or its compiled graph) computes them.

Every coalition is evaluated when there are at most ``MAX_EXACT_COLUMNS`` columns: the values
are then exact for the background. Beyond, ``PERMUTATIONS`` column orders (antithetic pairs)
estimate each share. Either way the contributions add up: the base value (the mean output
over the background) plus the contributions is the model's output on the record, to
floating-point rounding (``ADDITIVITY_TOLERANCE``), because along any column order the
marginal changes telescope from the base value to the output.

The output explained is a regressor's prediction, and a classifier's probability of the
class it predicted (the batch column ``proba_<class>``). Pure: the background comes in.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .columns import PREDICTION, PROBA_PREFIX
from .errors import ProjectError
from .predictor import Predictor

BACKGROUND_ROWS = 50  # what the base value averages over; the cost grows linearly with it
MAX_EXACT_COLUMNS = 8  # up to 2**8 - 2 coalitions per record; more columns: sampled orders
PERMUTATIONS = 32  # sampled column orders (antithetic pairs) beyond MAX_EXACT_COLUMNS
MAX_ROWS_PER_CALL = 200_000  # mixed rows per model call: bounds the memory of a large batch
ADDITIVITY_TOLERANCE = 1e-9  # |base value + sum of contributions - output|, in output units
SUMMARY_ROWS = 200  # test rows `evaluate` explains for the model card's summary
BASE_VALUE = "base_value"
CONTRIBUTION_PREFIX = "contribution_"
EXPLAINED = "explained"  # the batch column naming the output explained per row


@dataclass(frozen=True)
class Explanations:
    """Per row: which output is explained, its base value, the model's value and each
    column's contribution (``base_values + contributions.sum(axis=1) == values``)."""

    columns: list[str]
    outputs: list[str]
    base_values: np.ndarray  # (rows,)
    values: np.ndarray  # (rows,)
    contributions: np.ndarray  # (rows, columns)

    def record(self, row: int, top: int | None = None) -> dict[str, Any]:
        """One row as the API answers it: the ``top`` largest contributions (by absolute
        value, largest first; all when None) and ``other``, the sum of those left out."""
        shares = self.contributions[row]
        order = np.argsort(-np.abs(shares), kind="stable")
        shown = order if top is None else order[:top]
        rest = order[len(shown) :]
        return {
            "output": self.outputs[row],
            "base_value": float(self.base_values[row]),
            "value": float(self.values[row]),
            "contributions": [
                {"column": self.columns[index], "contribution": float(shares[index])}
                for index in shown
            ],
            "other": float(shares[rest].sum()),
        }

    def table(self) -> dict[str, Any]:
        """The batch output's columns: ``explained``, ``base_value``, ``contribution_<col>``."""
        added: dict[str, Any] = {EXPLAINED: self.outputs, BASE_VALUE: self.base_values}
        for index, column in enumerate(self.columns):
            added[f"{CONTRIBUTION_PREFIX}{column}"] = self.contributions[:, index]
        return added

    def summary(self) -> pd.DataFrame:
        """Global: the mean absolute contribution per column over these rows, largest first."""
        mean_abs = np.abs(self.contributions).mean(axis=0)
        frame = pd.DataFrame({"column": self.columns, "mean_abs_contribution": mean_abs})
        return frame.sort_values("mean_abs_contribution", ascending=False, kind="stable")


def described(task: str, target: str) -> str:
    """The output explained, in words (a figure's axis, the model card)."""
    if task == "classification":
        return "the probability of the predicted class"
    return f"the predicted {target}"


def background_sample(
    frame: pd.DataFrame, columns: Sequence[str], rows: int = BACKGROUND_ROWS, seed: int = 0
) -> pd.DataFrame:
    """A seeded sample of ``rows`` rows of ``columns``: what explanations are measured against."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ProjectError(
            f"the background rows lack the model's input columns {missing}: explain against "
            "rows of the data the model was trained on (its reference snapshot)."
        )
    if frame.empty:
        raise ProjectError("no background rows to explain against: the reference is empty.")
    sample = frame.sample(n=rows, random_state=seed) if len(frame) > rows else frame
    return sample[list(columns)].reset_index(drop=True)


def _weights(columns: int) -> np.ndarray:
    """Shapley weight of a coalition of each size that a column joins: s!(d-s-1)!/d!."""
    total = math.factorial(columns)
    return np.array(
        [math.factorial(s) * math.factorial(columns - s - 1) / total for s in range(columns)]
    )


def _exact_masks(columns: int) -> np.ndarray:
    """Every coalition as a row of booleans; row ``code`` holds the columns of ``code``'s bits."""
    codes = np.arange(2**columns)
    return ((codes[:, None] >> np.arange(columns)) & 1).astype(bool)


def _sampled_orders(columns: int, permutations: int, seed: int) -> np.ndarray:
    """Column orders: random ones and their reverses (antithetic pairs lower the variance)."""
    rng = np.random.default_rng(seed)
    forward = np.array([rng.permutation(columns) for _ in range(max(1, permutations // 2))])
    return np.concatenate([forward, forward[:, ::-1]])


class Explainer:
    """Explains one model's outputs (a classifier's class probabilities, a regressor's
    prediction) against its background rows.

    Nothing is scored until the first explanation: a model that cannot score (yet serves
    its errors) still loads, and loading costs nothing more.
    """

    def __init__(
        self,
        predictor: Predictor,
        background: pd.DataFrame,
        *,
        max_exact_columns: int = MAX_EXACT_COLUMNS,
        permutations: int = PERMUTATIONS,
        seed: int = 0,
    ) -> None:
        self.columns = list(predictor.feature_columns)
        self.background = background_sample(background, self.columns, len(background))
        self._predictor = predictor
        classes = predictor.classes
        self.outputs = [PREDICTION] if classes is None else [f"{PROBA_PREFIX}{c}" for c in classes]
        self._exact = len(self.columns) <= max_exact_columns
        self._permutations, self._seed = permutations, seed

    @cached_property
    def base_values(self) -> np.ndarray:
        """Each output's mean over the background rows: (outputs,), computed once."""
        return np.asarray(self._call(self.background).mean(axis=0))

    def explain(
        self, frame: pd.DataFrame, predictions: Sequence[Any] | None = None
    ) -> Explanations:
        """Contributions for each row of ``frame``, for the output its prediction selects.

        ``predictions`` (what was answered; default: the most probable class) pick a
        classifier's class per row; a regressor has one output.
        """
        rows = frame[self.columns].reset_index(drop=True)
        outputs = self._call(rows)  # (rows, outputs)
        shares = self._shapley(rows, outputs)  # (rows, columns, outputs)
        picked = self._picked(rows, outputs, predictions)
        taken = np.arange(len(rows))
        return Explanations(
            columns=self.columns,
            outputs=[self.outputs[index] for index in picked],
            base_values=self.base_values[picked],
            values=outputs[taken, picked],
            contributions=shares[taken, :, picked],
        )

    def _picked(
        self, rows: pd.DataFrame, outputs: np.ndarray, predictions: Sequence[Any] | None
    ) -> np.ndarray:
        if len(self.outputs) == 1:
            return np.zeros(len(rows), dtype=int)
        labels = [name.removeprefix(PROBA_PREFIX) for name in self.outputs]
        if predictions is None:
            return np.asarray(outputs.argmax(axis=1))
        position = {label: index for index, label in enumerate(labels)}
        return np.array([position[str(label)] for label in predictions], dtype=int)

    def _call(self, rows: pd.DataFrame) -> np.ndarray:
        """The outputs of ``rows``: (rows, outputs); non-finite ones are a ValueError."""
        scores = self._predictor.score_frame(rows)
        if scores.probabilities is not None:
            return np.asarray(scores.probabilities, dtype=float)
        return np.asarray(scores.predictions, dtype=float)[:, None]

    def _shapley(self, rows: pd.DataFrame, outputs: np.ndarray) -> np.ndarray:
        count = len(self.columns)
        if count == 0:
            return np.zeros((len(rows), 0, outputs.shape[1]))
        if self._exact:
            masks = _exact_masks(count)
            value = self._coalition_values(rows, masks, outputs)
            sizes = masks.sum(axis=1)
            weights = _weights(count)
            codes = np.arange(len(masks))
            shares = np.empty((len(rows), count, outputs.shape[1]))
            for column in range(count):
                without = codes[~masks[:, column]]
                gains = value[without | (1 << column)] - value[without]  # (coalitions, rows, out)
                shares[:, column] = np.einsum("c,cro->ro", weights[sizes[without]], gains)
            return shares
        orders = _sampled_orders(count, self._permutations, self._seed)
        prefixes = np.zeros((len(orders), count + 1, count), dtype=bool)
        for index, order in enumerate(orders):
            for size in range(1, count + 1):
                prefixes[index, size, order[:size]] = True
        masks, where = np.unique(prefixes.reshape(-1, count), axis=0, return_inverse=True)
        value = self._coalition_values(rows, masks, outputs)[where.reshape(len(orders), -1)]
        gains = np.diff(value, axis=1)  # (orders, count, rows, out): the column added at step
        shares = np.zeros((len(rows), count, outputs.shape[1]))
        for index, order in enumerate(orders):
            shares[:, order] += gains[index].transpose(1, 0, 2)
        return shares / len(orders)

    def _coalition_values(
        self, rows: pd.DataFrame, masks: np.ndarray, outputs: np.ndarray
    ) -> np.ndarray:
        """v(S) per coalition (``masks`` row) and record: (coalitions, rows, outputs).

        The empty coalition is the base value and the full one the record's own output; the
        others average the model over the background rows with the coalition's columns set
        to the record's values.
        """
        values = np.empty((len(masks), len(rows), outputs.shape[1]))
        sizes = masks.sum(axis=1)
        values[sizes == 0] = self.base_values
        values[sizes == len(self.columns)] = outputs
        inner = np.flatnonzero((sizes > 0) & (sizes < len(self.columns)))
        if not len(inner):  # one column: it takes the whole difference
            return values
        step = max(1, MAX_ROWS_PER_CALL // (len(inner) * len(self.background)))
        for start in range(0, len(rows), step):
            chunk = rows.iloc[start : start + step]
            mixed = self._mixed(chunk, masks[inner])
            found = self._call(mixed).reshape(len(chunk), len(inner), len(self.background), -1)
            values[inner, start : start + len(chunk)] = found.mean(axis=2).transpose(1, 0, 2)
        return values

    def _mixed(self, rows: pd.DataFrame, masks: np.ndarray) -> pd.DataFrame:
        """Rows ordered (record, coalition, background row): the record's value in a column
        of the coalition, the background row's elsewhere."""
        mixed = {}
        for index, column in enumerate(self.columns):
            mine = rows[column].to_numpy()[:, None, None]
            theirs = self.background[column].to_numpy()[None, None, :]
            taken = masks[:, index][None, :, None]
            mixed[column] = np.where(taken, mine, theirs).ravel()
        return pd.DataFrame(mixed)
