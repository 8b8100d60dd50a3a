"""The feedback store: ground truth per served prediction, durable, in SQLite.

It lives beside the prediction log (``feedback.db`` in the same directory) and is keyed like
it, by request id and record index. A label given twice keeps the later one (a reviewer's
correction wins). ``trained_at`` records when `retrain` added the row to the training data,
so each label is used once.

No personal data: a row holds the label, its keys and the pseudonym of the entity its
prediction was about (``entity``, copied from the log), which is how ``erase`` finds one
person's labels. With a retention (the prediction log's ``max_age_days``), every write also
deletes the labels received longer ago than that.
"""

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from ..core.config import Config, PredictionLogConfig
from ..core.errors import ProjectError
from ..core.labels import Label
from ..core.timestamps import stamp

FEEDBACK_DB = "feedback.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    request_id TEXT NOT NULL,
    record INTEGER NOT NULL,
    label TEXT NOT NULL,
    source TEXT NOT NULL,
    received_at TEXT NOT NULL,
    trained_at TEXT,
    entity TEXT,
    PRIMARY KEY (request_id, record)
);
"""
ENTITY_INDEX = (
    "CREATE INDEX IF NOT EXISTS feedback_entity ON feedback (entity) WHERE entity IS NOT NULL"
)
UPSERT = (
    "INSERT INTO feedback (request_id, record, label, source, received_at, entity) "
    "VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (request_id, record) DO UPDATE SET label = excluded.label, "
    "source = excluded.source, received_at = excluded.received_at, "
    "entity = COALESCE(excluded.entity, feedback.entity)"
)
EXPIRE = "DELETE FROM feedback WHERE received_at < ?"
ERASE = "DELETE FROM feedback WHERE entity = ?"
ALL = "SELECT * FROM feedback ORDER BY received_at"
UNTRAINED = "SELECT * FROM feedback WHERE trained_at IS NULL ORDER BY received_at"


def log_settings(config: Config) -> PredictionLogConfig:
    """The prediction log's settings (its defaults when the project serves no API)."""
    return config.serve.log if config.serve is not None else PredictionLogConfig()


def log_path(config: Config) -> Path:
    """The prediction log the API writes."""
    return Path(log_settings(config).path)


def store_path(prediction_log: Path) -> Path:
    return prediction_log.parent / FEEDBACK_DB


class FeedbackStore:
    """Labels by (request id, record); every call opens and closes its own connection.

    ``max_age_days``: the retention every ``add`` enforces (None: labels are kept).
    """

    def __init__(self, path: Path, *, max_age_days: float | None = None) -> None:
        self.path = path
        self.retention = timedelta(days=max_age_days) if max_age_days is not None else None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(SCHEMA)
        columns = {row[1] for row in connection.execute("PRAGMA table_info(feedback)")}
        if "entity" not in columns:  # a store from before entities were kept
            connection.execute("ALTER TABLE feedback ADD COLUMN entity TEXT")
        connection.execute(ENTITY_INDEX)
        return connection

    def add(
        self,
        labels: Sequence[Label],
        entities: Mapping[tuple[str, int], str | None] | None = None,
    ) -> int:
        """Store labels in one transaction, each with the pseudonym of its prediction's entity
        (``served_entities`` of the log); return how many were written."""
        moment = datetime.now(UTC)
        received, entities = stamp(moment), entities or {}
        rows = [
            (
                item.request_id,
                item.record,
                json.dumps(item.label),
                item.source,
                received,
                entities.get((item.request_id, item.record)),
            )
            for item in labels
        ]
        try:
            connection = self._connect()
            try:
                with connection:
                    connection.executemany(UPSERT, rows)
                    if self.retention is not None:
                        connection.execute(EXPIRE, (stamp(moment - self.retention),))
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

    def erase(self, entity: str) -> int:
        """Delete the labels about ``entity`` (a pseudonym), overwriting them; how many."""
        if not self.path.is_file():
            return 0
        try:
            connection = self._connect()
            try:
                connection.execute("PRAGMA secure_delete = ON")
                with connection:
                    deleted: int = connection.execute(ERASE, (entity,)).rowcount
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
        except (OSError, sqlite3.Error) as error:
            raise ProjectError(
                f"cannot erase from the feedback store {self.path}: {error}"
            ) from error
        return deleted

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
