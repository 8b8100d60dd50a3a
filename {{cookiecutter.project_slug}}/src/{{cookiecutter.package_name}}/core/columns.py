"""The columns scoring adds to a table: ``prediction``, and ``proba_<class>`` for a classifier.

Batch scoring writes them, the prediction log gives them back, and monitoring, performance,
quality and the review queue look for them: they are named here, once.
"""

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np

PREDICTION = "prediction"
PROBA_PREFIX = "proba_"


def proba_columns(columns: Iterable[Hashable]) -> list[str]:
    """The ``proba_<class>`` columns among ``columns``, in their order."""
    return [str(name) for name in columns if str(name).startswith(PROBA_PREFIX)]


def probability_columns(classes: Sequence[Any], probabilities: np.ndarray) -> dict[str, Any]:
    """One ``proba_<class>`` column per class from a (rows, classes) array of probabilities."""
    return {f"{PROBA_PREFIX}{label}": probabilities[:, i] for i, label in enumerate(classes)}
