"""Labelled production rows that no model has trained on yet: served rows with their labels.

The prediction log holds what was served, the feedback store the true labels; joined, they
are rows in the raw data's schema. `retrain` adds them to the training data (and marks their
labels trained), and the release gate judges challenger and champion on them (the recent
window): neither may count a row twice or judge a model on rows it learned from.
"""

from dataclasses import dataclass

import pandas as pd

from ..core.config import Config
from ..core.retraining import production_rows
from ..core.served import KEYS, with_labels
from .feedback_store import FeedbackStore, log_path, store_path
from .prediction_log import served_rows


@dataclass(frozen=True)
class Labelled:
    """Production rows in the raw data's schema, and the feedback keys they came from."""

    rows: pd.DataFrame
    keys: list[tuple[str, int]]


def untrained(config: Config) -> Labelled:
    """Every served row whose label is in the feedback store and not yet in the training data."""
    log = log_path(config)
    store = store_path(log)
    labels = FeedbackStore(store).labels(untrained_only=True) if store.is_file() else None
    if labels is None or labels.empty:
        return Labelled(pd.DataFrame(columns=list(config.data.columns)), [])
    target = config.data.target
    joined = with_labels(served_rows(log), labels, target)
    joined = joined[joined[target].notna()]
    keys = [(str(rid), int(record)) for rid, record in zip(*(joined[k] for k in KEYS), strict=True)]
    return Labelled(production_rows(joined, config.data), keys)
