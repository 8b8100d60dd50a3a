"""The feedback store: ground truth per served prediction, durable, in SQLite.

It lives beside the prediction log (``feedback.db`` in the same directory) and is keyed like
it, by request id and record index. A label given twice keeps the later one (a reviewer's
correction wins). ``trained_at`` records when `retrain` added the row to the training data,
so each label is used once.
"""

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ..core.config import Config, PredictionLogConfig
from ..core.labels import Label

FEEDBACK_DB = "feedback.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    request_id TEXT NOT NULL,
    record INTEGER NOT NULL,
    label TEXT NOT NULL,
    source TEXT NOT NULL,
    received_at TEXT NOT NULL,
    trained_at TEXT,
    PRIMARY KEY (request_id, record)
);
"""
UPSERT = (
    "INSERT INTO feedback (request_id, record, label, source, received_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (request_id, record) DO UPDATE SET label = excluded.label, "
    "source = excluded.source, received_at = excluded.received_at"
)
ALL = "SELECT * FROM feedback ORDER BY received_at"
UNTRAINED = "SELECT * FROM feedback WHERE trained_at IS NULL ORDER BY received_at"
CHUNK = 500  # SQLite's limit on bound parameters is far above 2 x 500


def log_path(config: Config) -> Path:
    """The prediction log the API writes (its default when the project serves no API)."""
    settings = config.serve.log if config.serve is not None else PredictionLogConfig()
    return Path(settings.path)


def store_path(prediction_log: Path) -> Path:
    return prediction_log.parent / FEEDBACK_DB


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def logged_keys(prediction_log: Path, keys: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
    """The (request id, record) pairs that the prediction log holds a served prediction for.

    Rows of one request are written together in record order, so a record's index is its rank
    among the request's served (non-shadow) rows.
    """
    wanted = sorted(set(keys))
    if not wanted or not prediction_log.is_file():
        return set()
    found: set[tuple[str, int]] = set()
    ids = sorted({request_id for request_id, _ in wanted})
    with sqlite3.connect(f"file:{prediction_log}?mode=ro", uri=True) as connection:
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            marks = ",".join("?" * len(part))
            counts = connection.execute(
                f"SELECT request_id, COUNT(*) FROM predictions "  # noqa: S608 (only '?' marks)
                f"WHERE arm != 'shadow' AND request_id IN ({marks}) GROUP BY request_id",
                part,
            ).fetchall()
            found.update((rid, record) for rid, n in counts for record in range(int(n)))
    return found & set(wanted)


class FeedbackStore:
    """Labels by (request id, record); every call opens and closes its own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(SCHEMA)
        return connection

    def add(self, labels: Sequence[Label]) -> int:
        """Store labels in one transaction; return how many were written."""
        received = now()
        rows = [
            (item.request_id, item.record, json.dumps(item.label), item.source, received)
            for item in labels
        ]
        connection = self._connect()
        try:
            with connection:
                connection.executemany(UPSERT, rows)
        finally:
            connection.close()
        return len(rows)

    def labels(self, *, untrained_only: bool = False) -> pd.DataFrame:
        """Every label as a table: request_id, record, label, source, received_at, trained_at."""
        query = UNTRAINED if untrained_only else ALL
        connection = self._connect()
        try:
            table = pd.read_sql_query(query, connection)
        finally:
            connection.close()
        table["label"] = [json.loads(text) for text in table["label"]]
        return table

    def mark_trained(self, keys: Iterable[tuple[str, int]], when: str) -> None:
        """Record that these labels are now part of the training data."""
        connection = self._connect()
        try:
            with connection:
                connection.executemany(
                    "UPDATE feedback SET trained_at = ? WHERE request_id = ? AND record = ?",
                    [(when, request_id, record) for request_id, record in keys],
                )
        finally:
            connection.close()
