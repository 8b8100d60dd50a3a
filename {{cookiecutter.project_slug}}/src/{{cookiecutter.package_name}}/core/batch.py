"""One batch of rows, validated and scored: what every batch engine does to each piece of a file.

The in-process engine applies it to each chunk of a file, the Spark engine to each partition
on the executors. Both check rows with the API's rules (`invalid_rows`) and score only the
valid ones through the same pipeline, so an engine changes where rows are scored, never how.
The rows pass through as they were read; the model gets the schema's numeric columns as
numbers (a CSV read as text by Spark, say) and its categories as text.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .columns import PREDICTION, probability_columns
from .config import ColumnSpec
from .predictor import Predictor, Scores
from .request_schema import invalid_rows

# The Spark engine writes every row once, partitioned by OUTCOME; a refused row says why.
OUTCOME = "outcome"
SCORED = "scored"
INVALID = "invalid"
INVALID_REASON = "invalid_reason"


@dataclass(frozen=True)
class Checked:
    """A batch as read (absent optional columns added as missing) and what is wrong with it.

    ``problems`` has one row per broken rule (``row``, ``field``, ``rule``, ``value``), ``row``
    being the batch's index label; ``valid`` are the rows that broke none.
    """

    rows: pd.DataFrame
    problems: pd.DataFrame
    valid: pd.DataFrame

    def reasons(self) -> pd.Series:
        """Why each invalid row was refused, by row: ``"island: categories; mass: max"``."""
        found = self.problems
        text = found["field"].astype(str) + ": " + found["rule"].astype(str)
        return text.groupby(found["row"].to_numpy(), sort=False).agg("; ".join)

    def outcomes(self, predictions: pd.DataFrame) -> pd.DataFrame:
        """Every row once, in order: a valid row with its ``predictions`` (indexed like
        ``valid``), an invalid one with its reason; ``outcome`` says which."""
        reasons = self.reasons()
        frame = pd.concat([self.rows, predictions], axis=1)
        frame[INVALID_REASON] = reasons.reindex(frame.index)
        frame[OUTCOME] = np.where(frame.index.isin(reasons.index), INVALID, SCORED)
        return frame


def check_rows(raw: pd.DataFrame, columns: Mapping[str, ColumnSpec]) -> Checked:
    """Every broken rule of every row of ``raw`` (pure).

    ``raw`` must hold every required schema column (`missing_columns`); a schema column that
    may be missing may also be absent, and is then missing in every row.
    """
    rows = raw.assign(**{name: np.nan for name in columns if name not in raw})
    problems = invalid_rows(rows, columns)
    valid = rows[~rows.index.isin(problems["row"])] if len(problems) else rows
    return Checked(rows, problems, valid)


def model_inputs(frame: pd.DataFrame, columns: Mapping[str, ColumnSpec]) -> pd.DataFrame:
    """Valid rows as the model was trained on them: numbers as float64, categories as text."""
    converted: dict[str, Any] = {}
    for name, spec in columns.items():
        column = frame[name]
        if spec.type == "numeric" and column.dtype != "float64":
            converted[name] = pd.to_numeric(column).astype("float64")
        elif spec.type == "categorical" and not pd.api.types.is_string_dtype(column):
            converted[name] = column.astype(str)  # missing values stay missing
    return frame.assign(**converted) if converted else frame


def predict(
    predictor: Predictor,
    columns: Mapping[str, ColumnSpec],
    valid: pd.DataFrame,
    *,
    probabilities: bool,
) -> pd.DataFrame:
    """``prediction`` (and a classifier's ``proba_<class>``) of valid rows, indexed like them."""
    if len(valid):
        scores = predictor.score_frame(model_inputs(valid, columns), probabilities=probabilities)
    else:  # nothing to score: the same columns, no rows
        width = len(predictor.classes or [])
        scores = Scores([], np.empty((0, width)) if probabilities and width else None)
    added: dict[str, Any] = {PREDICTION: scores.predictions}
    if scores.probabilities is not None and predictor.classes is not None:
        added.update(probability_columns(predictor.classes, scores.probabilities))
    return pd.DataFrame(added, index=valid.index)
