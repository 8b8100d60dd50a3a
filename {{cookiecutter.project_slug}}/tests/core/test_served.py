"""Served rows joined with feedback labels, and stripped of the log's bookkeeping."""

import pandas as pd

from {{ cookiecutter.package_name }}.core.served import META, with_labels, without_meta


def served() -> pd.DataFrame:
    """Three served rows (request r1 has two records) with the log's bookkeeping."""
    keys = {"request_id": ["r0", "r1", "r1"], "record": [0, 0, 1]}
    rows = {"size": [1.0, 2.0, 3.0], "prediction": ["a", "b", "a"]}
    bookkeeping = {"model_version": "1", "arm": "champion", "latency_ms": 1.0, "entity": None}
    when = pd.Timestamp("2026-01-01", tz="UTC")
    return pd.DataFrame({**keys, **rows, **bookkeeping, "timestamp": when})


def test_labels_join_by_request_and_record() -> None:
    labels = pd.DataFrame({"request_id": ["r1", "r0"], "record": [1, 0], "label": ["b", "a"]})
    joined = with_labels(served(), labels, "target")
    assert joined["target"].fillna("-").tolist() == ["a", "-", "b"]


def test_without_labels_the_target_is_missing() -> None:
    joined = with_labels(served(), pd.DataFrame(), "target")
    assert joined["target"].isna().all() and len(joined) == 3


def test_without_meta_keeps_inputs_and_outputs() -> None:
    assert list(without_meta(served())) == ["size", "prediction"]
    assert set(META) <= set(served())
