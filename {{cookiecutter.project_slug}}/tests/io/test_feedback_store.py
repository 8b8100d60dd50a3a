"""The feedback store: labels keep their entity's pseudonym, retention holds on every write, and
one entity's labels can be erased; a store from before entities gets the column."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from {{ cookiecutter.package_name }}.core.labels import Label
from {{ cookiecutter.package_name }}.core.timestamps import stamp
from {{ cookiecutter.package_name }}.io.feedback_store import FeedbackStore


def test_labels_keep_the_pseudonym_of_their_entity(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.db")
    store.add([Label("r1", "a"), Label("r2", "b")], {("r1", 0): "pseudonym-1"})
    store.add([Label("r1", "b")])  # a correction without entities keeps the one it had
    stored = store.labels().set_index("request_id")
    assert stored.loc["r1", ["label", "entity"]].tolist() == ["b", "pseudonym-1"]
    assert pd.isna(stored.loc["r2", "entity"])


def test_retention_deletes_old_labels_with_every_write(tmp_path: Path) -> None:
    path = tmp_path / "feedback.db"
    FeedbackStore(path).add([Label("old", "a")])
    two_days_ago = stamp(datetime.now(UTC) - timedelta(days=2))
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE feedback SET received_at = ?", (two_days_ago,))
    FeedbackStore(path).add([Label("kept", "a")])  # no retention: nothing expires
    FeedbackStore(path, max_age_days=1.0).add([Label("new", "b")])
    assert sorted(FeedbackStore(path).labels()["request_id"]) == ["kept", "new"]


def test_erase_deletes_one_entitys_labels_only(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.db")
    assert store.erase("ada") == 0  # no store yet: nothing to erase, none created
    assert not store.path.exists()
    store.add([Label("r1", "a"), Label("r2", "b")], {("r1", 0): "ada", ("r2", 0): "bob"})
    assert store.erase("ada") == 1
    assert store.labels()["request_id"].tolist() == ["r2"]
    assert b"ada" not in store.path.read_bytes()  # overwritten, not only unlinked


def test_a_store_from_before_entities_gets_the_column(tmp_path: Path) -> None:
    path = tmp_path / "feedback.db"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE feedback (request_id TEXT NOT NULL, record INTEGER NOT NULL, "
            "label TEXT NOT NULL, source TEXT NOT NULL, received_at TEXT NOT NULL, "
            "trained_at TEXT, PRIMARY KEY (request_id, record))"
        )
    store = FeedbackStore(path)
    store.add([Label("r1", "a")], {("r1", 0): "ada"})
    assert store.labels()[["request_id", "entity"]].values.tolist() == [["r1", "ada"]]
