"""The feedback store: ground truth per served prediction, durable, in SQLite.

It lives beside the prediction log (``feedback.db`` in the same directory) and is keyed like
it, by request id and record index. A label given twice keeps the later one (a reviewer's
correction wins). ``trained_at`` records when `retrain` added the row to the training data,
so each label is used once.
"""

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from ..core.config import Config, PredictionLogConfig
from ..core.errors import ProjectError
from ..core.labels import Label
from ..core.timestamps import now

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


def log_path(config: Config) -> Path:
    """The prediction log the API writes (its default when the project serves no API)."""
    settings = config.serve.log if config.serve is not None else PredictionLogConfig()
    return Path(settings.path)


def store_path(prediction_log: Path) -> Path:
    return prediction_log.parent / FEEDBACK_DB


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
        try:
            connection = self._connect()
            try:
                with connection:
                    connection.executemany(UPSERT, rows)
            finally:
                connection.close()
        except (OSError, sqlite3.Error) as error:
            raise ProjectError(f"cannot write the feedback store {self.path}: {error}") from error
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

    def mark_trained(self, keys: Iterable[tuple[str, int]], when: str | None) -> None:
        """Record that these labels are now part of the training data (``None``: not any more)."""
        connection = self._connect()
        try:
            with connection:
                connection.executemany(
                    "UPDATE feedback SET trained_at = ? WHERE request_id = ? AND record = ?",
                    [(when, request_id, record) for request_id, record in keys],
                )
        finally:
            connection.close()
