"""The prediction log: every served prediction, durably, for monitoring and feedback.

SQLite in WAL mode, two tables: ``predictions``, one row per scored record, and ``failures``,
one row per request (or model call) that got no prediction: refused by validation (4xx), or a
model that raised (5xx; a canary or shadow challenger's error counts here too, even though the
champion answered the caller). Together they give service health its error rates.

The response path only puts an entry on a bounded queue (never blocks, never raises: a full
queue drops the entry and counts it); one background thread serialises entries to JSON and
writes them in batches, one transaction per batch. ``close`` drains the queue, so a clean
shutdown loses nothing; a crash loses at most the last ``FLUSH_SECONDS`` of entries. Old rows
are pruned by age and count as the writer goes. ``read_window`` (predictions) and
``read_requests`` (one row per request and arm, answered or not) are the readers monitoring uses.
"""

import json
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

PROBA_PREFIX = "proba_"
MAX_BATCH = 10_000
FLUSH_SECONDS = 0.05
PRUNE_EVERY_SECONDS = 60.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    record INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    arm TEXT NOT NULL,
    features TEXT NOT NULL,
    prediction TEXT NOT NULL,
    probabilities TEXT,
    latency_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS predictions_timestamp ON predictions (timestamp);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    model_version TEXT NOT NULL,
    arm TEXT NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    latency_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_timestamp ON failures (timestamp);
"""
INSERT = (
    "INSERT INTO predictions (request_id, record, timestamp, model_name, model_version, arm, "
    "features, prediction, probabilities, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_FAILURE = (
    "INSERT INTO failures (request_id, timestamp, model_version, arm, status, reason, latency_ms)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
TABLES = ("predictions", "failures")
UNROUTED = "unrouted"  # the arm of a request refused before it was routed (bad input)


@dataclass(frozen=True)
class Entry:
    """One request's predictions, as the response path hands them over (no serialising yet)."""

    request_id: str
    timestamp: datetime
    model_name: str
    model_version: str
    arm: str
    records: Sequence[dict[str, Any]]
    predictions: Sequence[Any]
    probabilities: Sequence[Sequence[float]] | None
    classes: Sequence[Any] | None
    latency_ms: float


@dataclass(frozen=True)
class Failure:
    """A request, or one arm's model call, that produced no prediction.

    ``status`` is the HTTP status the caller got for it (500 for a challenger that failed while
    the champion answered); ``reason`` is the broken rule or ``model_error``.
    """

    request_id: str
    timestamp: datetime
    model_version: str
    arm: str
    status: int
    reason: str
    latency_ms: float


def stamp(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds: sorts as text, readable in any SQLite client."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rows(entry: Entry) -> list[tuple[Any, ...]]:
    """The table rows of one entry, one per record."""
    when = stamp(entry.timestamp)
    found = []
    for index, (record, prediction) in enumerate(
        zip(entry.records, entry.predictions, strict=True)
    ):
        probabilities = None
        if entry.probabilities is not None and entry.classes is not None:
            values = zip(entry.classes, entry.probabilities[index], strict=True)
            probabilities = json.dumps({str(label): float(p) for label, p in values})
        found.append((
            entry.request_id, index, when, entry.model_name, entry.model_version, entry.arm,
            json.dumps(record), json.dumps(prediction), probabilities, entry.latency_ms,
        ))  # fmt: skip
    return found


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; fast in WAL
    connection.executescript(SCHEMA)
    return connection


class PredictionLog:
    """A bounded queue in front of one SQLite writer thread."""

    def __init__(self, path: Path, *, max_rows: int, max_age_days: float, queue_size: int) -> None:
        self.path, self.max_rows, self.max_age = path, max_rows, timedelta(days=max_age_days)
        self.dropped = 0  # entries refused because the queue was full
        self._dropped_lock = threading.Lock()  # the request path and the shadow thread count
        self.failed = 0  # rows the database refused (e.g. disk full); reported on stderr
        self.written = 0
        self._queue: queue.Queue[Entry | Failure | None] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._write_forever, name="prediction-log")
        self._connection = connect(path)
        self._thread.start()

    def log(self, entry: Entry | Failure) -> None:
        """Hand an entry to the writer; never blocks and never raises."""
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            with self._dropped_lock:
                self.dropped += 1

    def close(self) -> None:
        """Write everything queued so far, then stop the writer (a clean shutdown)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _write_forever(self) -> None:
        last_prune = 0.0
        done = False
        while not done:
            batch = [self._queue.get()]  # an idle server: wait here, no polling
            # Let entries gather: one wake-up and one transaction per interval, not per
            # request, so the writer does not contend for the GIL with the request path.
            time.sleep(FLUSH_SECONDS)
            while len(batch) < MAX_BATCH and batch[-1] is not None:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            done = None in batch
            self._write([entry for entry in batch if entry is not None])
            if time.monotonic() - last_prune > PRUNE_EVERY_SECONDS or done:
                self._prune()
                last_prune = time.monotonic()
        self._connection.close()

    def _write(self, entries: list[Entry | Failure]) -> None:
        values = [row for entry in entries if isinstance(entry, Entry) for row in rows(entry)]
        failures = [
            (f.request_id, stamp(f.timestamp), f.model_version, f.arm, f.status, f.reason,
             f.latency_ms)
            for f in entries if isinstance(f, Failure)
        ]  # fmt: skip
        count = len(values) + len(failures)
        try:
            with self._connection:
                self._connection.executemany(INSERT, values)
                self._connection.executemany(INSERT_FAILURE, failures)
            self.written += count
        except (sqlite3.Error, TypeError, ValueError) as error:
            self.failed += count
            print(f"prediction log: {count} rows not written: {error}", file=sys.stderr)

    def _prune(self) -> None:
        oldest = stamp(datetime.now(UTC) - self.max_age)
        try:
            with self._connection:
                for table in TABLES:  # constants: no user text reaches these statements
                    newest = f"SELECT MAX(id) FROM {table}"  # noqa: S608
                    delete = f"DELETE FROM {table} WHERE"  # noqa: S608
                    self._connection.execute(f"{delete} timestamp < ?", (oldest,))
                    self._connection.execute(f"{delete} id <= ({newest}) - ?", (self.max_rows,))
        except sqlite3.Error as error:
            print(f"prediction log: pruning failed: {error}", file=sys.stderr)


def _where(
    since: datetime | None, until: datetime | None, arm: str | None = None
) -> tuple[str, list[str]]:
    """The WHERE clause (or nothing) and its parameters for a time window and an arm."""
    clauses, parameters = [], []
    for clause, value in (
        ("timestamp >= ?", stamp(since) if since else None),
        ("timestamp < ?", stamp(until) if until else None),
        ("arm = ?", arm),
    ):
        if value is not None:
            clauses.append(clause)
            parameters.append(value)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), parameters


def read_requests(
    path: Path, *, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """One row per request and arm in [since, until), answered or not: what health is made of.

    Columns: ``request_id``, ``timestamp`` (UTC), ``model_version``, ``arm``, ``status`` (200
    for an answer), ``rows`` (records scored), ``latency_ms``. No JSON is parsed: it is cheap.
    """
    where, parameters = _where(since, until)
    answered = (
        "SELECT request_id, MIN(timestamp) AS timestamp, model_version, arm, 200 AS status, "
        "COUNT(*) AS rows, MAX(latency_ms) AS latency_ms FROM predictions"
    )
    failed = "SELECT request_id, timestamp, model_version, arm, status, 0, latency_ms FROM failures"
    query = f"{answered}{where} GROUP BY request_id, model_version, arm"
    if not path.is_file():
        return pd.DataFrame()
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        if "failures" in tables:  # a log from before failures were recorded has none
            query, parameters = f"{query} UNION ALL {failed}{where}", [*parameters, *parameters]
        table = pd.read_sql_query(query, connection, params=parameters)
    table["timestamp"] = pd.to_datetime(table["timestamp"], utc=True, format="ISO8601")
    return table.sort_values("timestamp", kind="stable", ignore_index=True)


def read_window(
    path: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    arm: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Logged predictions in [since, until) as a table monitoring can assess.

    One row per record: the features as columns, ``prediction``, ``proba_<class>`` for a
    classifier, and ``request_id``, ``timestamp`` (UTC), ``model_version``, ``arm`` and
    ``latency_ms``. Pass ``arm="champion"`` for what callers were actually served.
    """
    where, parameters = _where(since, until, arm)
    query = f"SELECT * FROM predictions{where} ORDER BY id"  # noqa: S608 (placeholders only)
    query += f" LIMIT {int(limit)}" if limit is not None else ""
    if not path.is_file():
        return pd.DataFrame()
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        raw = pd.read_sql_query(query, connection, params=parameters)
    if raw.empty:
        return raw
    features = pd.json_normalize([json.loads(text) for text in raw["features"]], max_level=0)
    table = features.assign(prediction=[json.loads(text) for text in raw["prediction"]])
    if raw["probabilities"].notna().any():
        probabilities = pd.DataFrame(
            [json.loads(text) if text else {} for text in raw["probabilities"]]
        ).add_prefix(PROBA_PREFIX)
        table = pd.concat([table, probabilities], axis=1)
    meta = raw[["request_id", "model_version", "arm", "latency_ms"]]
    table = pd.concat([table, meta], axis=1)
    table["timestamp"] = pd.to_datetime(raw["timestamp"], utc=True, format="ISO8601")
    return table
