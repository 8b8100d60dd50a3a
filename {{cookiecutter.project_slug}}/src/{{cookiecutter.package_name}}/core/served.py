"""Served rows: the prediction log's records as monitoring, feedback and retraining use them.

A served row is one scored record: its features, ``prediction`` (and ``proba_<class>``), and
the log's bookkeeping (``META``). Feedback labels address a row by ``KEYS``: the request id and
the record's index within the request. Its ``arm`` is the one that answered (champion or
challenger), or one of the two below, which no caller was answered from. Pure: the log itself
is ``io/prediction_log.py``.
"""

import pandas as pd

KEYS = ["request_id", "record"]
# ``entity``: the pseudonym of whom the request was about (`core/privacy.py`), or missing.
META = [*KEYS, "model_version", "arm", "latency_ms", "timestamp", "entity"]
SHADOW = "shadow"  # a shadow challenger's prediction: logged, never returned
UNROUTED = "unrouted"  # a request refused before it was routed (bad input): logged as a failure


def with_labels(served: pd.DataFrame, labels: pd.DataFrame, target: str) -> pd.DataFrame:
    """The served rows with the target column: the feedback label, or missing (NaN/None)."""
    if labels.empty:
        return served.assign(**{target: None})
    known = labels[[*KEYS, "label"]].rename(columns={"label": target})
    return served.merge(known, on=KEYS, how="left")


def without_meta(frame: pd.DataFrame) -> pd.DataFrame:
    """What `monitor` judges: inputs, outputs and target, without the log's bookkeeping."""
    return frame.drop(columns=[name for name in META if name in frame.columns])
