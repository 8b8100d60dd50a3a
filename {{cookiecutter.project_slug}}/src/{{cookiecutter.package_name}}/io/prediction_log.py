"""The prediction log: every served prediction, durably; the only module that knows its tables.

SQLite in WAL mode, two tables: ``predictions``, one row per scored record, and ``failures``,
one row per request (or model call) that got no prediction: refused by validation (4xx), or a
model that raised (5xx; a canary or shadow challenger's error counts here too, even though the
champion answered the caller). Together they give service health its error rates.

Writing: the response path only puts an entry on ``PredictionLog``'s bounded queue (never
blocks, never raises: a full queue drops the entry and counts it); one background thread
serialises entries to JSON and writes them in batches, one transaction per batch; the same
transaction deletes the rows older than ``max_age_days`` and those beyond ``max_rows``, so the
retention policy holds after every write.

Personal data (docs: Responsible ML): the writer stores a record as ``Privacy.record`` gives it
(``pii: true`` columns hashed or left out) and the request's entity id only as its keyed hash
(``entity``), which is how ``erase`` finds one person's rows. Inputs outside the model's schema
never get here: the request model refuses them, and a refusal stores its rule, not the value.

What can be lost, and when (docs: Reliability):
- a clean shutdown (``close``, SIGTERM) drains the queue: nothing;
- a killed process loses the entries not yet committed: those queued in the last
  ``FLUSH_SECONDS`` plus the batch being written, never more than ``queue_size``; what was
  committed stays (WAL: the file is consistent after a crash; only a power cut can also lose
  the transactions since the last checkpoint, with ``synchronous=NORMAL``);
- a write the database refuses (disk full, read-only file) loses that batch: counted in
  ``failed``, ``error`` says why until a write succeeds again; the API keeps answering.

Reading (read-only connections; a missing log reads as empty): ``read_window`` (predictions as
a table), ``served_rows`` (what callers were answered with, by feedback key), ``read_requests``
(one row per request and arm, answered or not), ``logged_keys`` (which keys were served) and
``served_entities`` (their entities).
"""

import json
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from ..core.columns import PREDICTION, PROBA_PREFIX
from ..core.config import LogWindowConfig
from ..core.errors import ProjectError
from ..core.privacy import Privacy
from ..core.served import META, SHADOW
from ..core.timestamps import stamp

MAX_BATCH = 10_000
FLUSH_SECONDS = 0.05
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
    latency_ms REAL NOT NULL,
    entity TEXT
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
# After the schema (a log written before entities were kept gets the column first).
ENTITY_INDEX = (
    "CREATE INDEX IF NOT EXISTS predictions_entity ON predictions (entity) WHERE entity IS NOT NULL"
)
# A batch goes in as one JSON array of rows, in one statement per table: `executemany` would
# take the GIL back after every row and, under load, wait for it each time (the writer then
# lags the requests, and a crash loses several times more).
INSERT = (
    "INSERT INTO predictions (request_id, record, timestamp, model_name, model_version, arm, "
    "features, prediction, probabilities, latency_ms, entity) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]'), "
    "json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]'), "
    "json_extract(value, '$[8]'), json_extract(value, '$[9]'), json_extract(value, '$[10]') "
    "FROM json_each(?)"
)
INSERT_FAILURE = (
    "INSERT INTO failures (request_id, timestamp, model_version, arm, status, reason, latency_ms) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]'), "
    "json_extract(value, '$[5]'), json_extract(value, '$[6]') FROM json_each(?)"
)
# Retention, per table, with every write: rows older than a timestamp, then rows beyond the
# newest N (both by index: cheap when there is nothing to delete).
PRUNE = (
    "DELETE FROM predictions WHERE timestamp < :oldest",
    "DELETE FROM predictions WHERE id <= (SELECT MAX(id) FROM predictions) - :keep",
    "DELETE FROM failures WHERE timestamp < :oldest",
    "DELETE FROM failures WHERE id <= (SELECT MAX(id) FROM failures) - :keep",
)
# Readers: fixed statements, every value bound (:since and :until bound a window).
EARLIEST, LATEST = "", "9999-12-31T23:59:59.999999Z"  # before and after every timestamp
WINDOW = (
    "SELECT * FROM predictions WHERE timestamp >= :since AND timestamp < :until "
    "AND (:arm IS NULL OR arm = :arm) ORDER BY id LIMIT :limit"
)
ANSWERED = (
    "SELECT request_id, MIN(timestamp) AS timestamp, model_version, arm, 200 AS status, "
    "COUNT(*) AS rows, MAX(latency_ms) AS latency_ms FROM predictions "
    "WHERE timestamp >= :since AND timestamp < :until GROUP BY request_id, model_version, arm"
)
FAILED = (
    "SELECT request_id, timestamp, model_version, arm, status, 0, latency_ms FROM failures "
    "WHERE timestamp >= :since AND timestamp < :until"
)
# Served rows per request id, for ids given as one JSON array (any number, one statement).
SERVED_COUNTS = (
    "SELECT request_id, COUNT(*), MAX(entity) FROM predictions WHERE arm != ? "
    "AND request_id IN (SELECT value FROM json_each(?)) GROUP BY request_id"
)
# Erasure: every row of the requests about one entity (their shadow rows have no entity).
ENTITY_REQUESTS = "SELECT DISTINCT request_id FROM predictions WHERE entity = ?"
ERASE = (
    "DELETE FROM predictions WHERE request_id IN (SELECT value FROM json_each(:ids))",
    "DELETE FROM failures WHERE request_id IN (SELECT value FROM json_each(:ids))",
)


@dataclass(frozen=True)
class Entry:
    """One request's predictions, as the response path hands them over (no serialising yet).

    ``records`` and ``entity_id`` are raw: the writer stores them as ``Privacy`` allows.
    """

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
    entity_id: str | None = None


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


def rows(entry: Entry, privacy: Privacy) -> list[tuple[Any, ...]]:
    """The table rows of one entry, one per record, as ``privacy`` allows them to be stored."""
    when = stamp(entry.timestamp)
    entity = privacy.entity(entry.entity_id)
    found = []
    for index, (record, prediction) in enumerate(
        zip(entry.records, entry.predictions, strict=True)
    ):
        probabilities = None
        if entry.probabilities is not None and entry.classes is not None:
            values = zip(entry.classes, entry.probabilities[index], strict=True)
            probabilities = orjson.dumps({str(label): float(p) for label, p in values}).decode()
        found.append(
            (
                entry.request_id,
                index,
                when,
                entry.model_name,
                entry.model_version,
                entry.arm,
                orjson.dumps(privacy.record(record)).decode(),
                orjson.dumps(prediction).decode(),
                probabilities,
                entry.latency_ms,
                entity,
            )
        )
    return found


def failure_row(failure: Failure) -> tuple[Any, ...]:
    return (
        failure.request_id,
        stamp(failure.timestamp),
        failure.model_version,
        failure.arm,
        failure.status,
        failure.reason,
        failure.latency_ms,
    )


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; fast in WAL
    connection.executescript(SCHEMA)
    columns = {row[1] for row in connection.execute("PRAGMA table_info(predictions)")}
    if "entity" not in columns:
        connection.execute("ALTER TABLE predictions ADD COLUMN entity TEXT")
    connection.execute(ENTITY_INDEX)
    return connection


def read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write, for the readers (the writer may be live)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


class PredictionLog:
    """A bounded queue in front of one SQLite writer thread.

    ``privacy`` says how records and entity ids are stored; opening the log checks that it can
    store them (a PII column and no key is a ``PseudonymKeyError``, before the first request).
    """

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int,
        max_age_days: float,
        queue_size: int,
        privacy: Privacy | None = None,
    ) -> None:
        self.path, self.max_rows, self.max_age = path, max_rows, timedelta(days=max_age_days)
        self.privacy = privacy or Privacy()
        self.privacy.check_can_store()
        self.dropped = 0  # entries refused because the queue was full
        self._dropped_lock = threading.Lock()  # the request path and the shadow thread count
        self.failed = 0  # rows the database refused (e.g. disk full); reported on stderr
        self.written = 0
        self.error: str | None = None  # why the last write failed; None once one succeeds
        # Entries, markers `sync` waits on, and None: the end.
        self._queue: queue.Queue[Entry | Failure | threading.Event | None] = queue.Queue(
            maxsize=queue_size
        )
        self._thread = threading.Thread(target=self._write_forever, name="prediction-log")
        try:
            self._connection = connect(path)
        except (OSError, sqlite3.Error) as error:
            raise ProjectError(
                f"cannot open the prediction log {path}: {error}. Point serve.log.path at a "
                "writable file (a volume, in a container)."
            ) from error
        self._thread.start()

    def log(self, entry: Entry | Failure) -> None:
        """Hand an entry to the writer; never blocks and never raises."""
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            with self._dropped_lock:
                self.dropped += 1

    def sync(self, timeout: float) -> bool:
        """Wait until every entry logged so far is written (or refused); False on timeout.

        For a reader that must see a prediction just served (a label for it, say).
        """
        marker = threading.Event()
        try:
            self._queue.put(marker, timeout=timeout)
        except queue.Full:
            return False
        return marker.wait(timeout)

    def close(self) -> None:
        """Write everything queued so far, then stop the writer (a clean shutdown)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _write_forever(self) -> None:
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
            self._write([entry for entry in batch if isinstance(entry, Entry | Failure)])
            for marker in batch:
                if isinstance(marker, threading.Event):
                    marker.set()
        self._connection.close()

    def _write(self, entries: list[Entry | Failure]) -> None:
        values = [
            row
            for entry in entries
            if isinstance(entry, Entry)
            for row in rows(entry, self.privacy)
        ]
        failures = [failure_row(entry) for entry in entries if isinstance(entry, Failure)]
        count = len(values) + len(failures)
        limits = {"oldest": stamp(datetime.now(UTC) - self.max_age), "keep": self.max_rows}
        try:
            with self._connection:
                self._connection.execute(INSERT, (orjson.dumps(values).decode(),))
                self._connection.execute(INSERT_FAILURE, (orjson.dumps(failures).decode(),))
                for statement in PRUNE:
                    self._connection.execute(statement, limits)
            self.written += count
            self.error = None
        except (sqlite3.Error, TypeError, ValueError) as error:
            self.failed += count
            self.error = f"{count} rows not written: {error}"
            print(f"prediction log: {self.error}", file=sys.stderr)


def _window(since: datetime | None, until: datetime | None) -> dict[str, str]:
    """The parameters of a [since, until) window; an open end takes the extreme value."""
    return {
        "since": stamp(since) if since else EARLIEST,
        "until": stamp(until) if until else LATEST,
    }


def read_requests(
    path: Path, *, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """One row per request and arm in [since, until), answered or not: what health is made of.

    Columns: ``request_id``, ``timestamp`` (UTC), ``model_version``, ``arm``, ``status`` (200
    for an answer), ``rows`` (records scored), ``latency_ms``. No JSON is parsed: it is cheap.
    """
    if not path.is_file():
        return pd.DataFrame()
    with read_only(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        # A log from before failures were recorded has no failures table.
        query = " UNION ALL ".join((ANSWERED, FAILED)) if "failures" in tables else ANSWERED
        table = pd.read_sql_query(query, connection, params=_window(since, until))
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
    if not path.is_file():
        return pd.DataFrame()
    parameters = {**_window(since, until), "arm": arm, "limit": -1 if limit is None else limit}
    with read_only(path) as connection:
        raw = pd.read_sql_query(WINDOW, connection, params=parameters)
    if raw.empty:
        return raw
    features = pd.json_normalize([json.loads(text) for text in raw["features"]], max_level=0)
    table = features.assign(**{PREDICTION: [json.loads(text) for text in raw["prediction"]]})
    if raw["probabilities"].notna().any():
        probabilities = pd.DataFrame(
            [json.loads(text) if text else {} for text in raw["probabilities"]]
        ).add_prefix(PROBA_PREFIX)
        table = pd.concat([table, probabilities], axis=1)
    # A log written before entities were kept has no entity column: reindex gives it one.
    meta = raw.reindex(columns=["request_id", "model_version", "arm", "latency_ms", "entity"])
    table = pd.concat([table, meta], axis=1)
    table["timestamp"] = pd.to_datetime(raw["timestamp"], utc=True, format="ISO8601")
    return table


def _start_of_last_rows(path: Path, rows: int) -> datetime | None:
    """The timestamp of the ``rows``-th most recent served row (None: the log has fewer)."""
    with read_only(path) as connection:
        found = connection.execute(
            "SELECT timestamp FROM predictions WHERE arm != ? ORDER BY id DESC LIMIT 1 OFFSET ?",
            (SHADOW, rows - 1),
        ).fetchone()
    return datetime.fromisoformat(found[0]) if found else None


def window_start(
    path: Path, window: LogWindowConfig, *, now: datetime | None = None
) -> datetime | None:
    """Where the configured window begins (None: the whole log)."""
    starts: list[datetime | None] = []
    if window.hours is not None:
        starts.append((now or datetime.now(UTC)) - timedelta(hours=window.hours))
    if window.last_rows is not None and path.is_file():
        starts.append(_start_of_last_rows(path, window.last_rows))
    return max((start for start in starts if start is not None), default=None)


def served_rows(
    path: Path, window: LogWindowConfig | None = None, *, now: datetime | None = None
) -> pd.DataFrame:
    """What callers were answered with (no shadow rows), all or the window, with ``record``.

    ``record`` numbers each request's rows (they are logged in record order): with the
    request id, it is the key feedback labels address a row by.
    """
    window = window or LogWindowConfig(last_rows=None)
    frame = read_window(path, since=window_start(path, window, now=now))
    if frame.empty:
        return pd.DataFrame(columns=META)
    frame = frame[frame["arm"] != SHADOW].reset_index(drop=True)
    frame["record"] = frame.groupby("request_id").cumcount()
    return frame.tail(window.last_rows) if window.last_rows is not None else frame


def served_entities(
    path: Path, keys: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], str | None]:
    """The (request id, record) pairs among ``keys`` that the log holds a served prediction
    for, each with its entity's pseudonym (None: the request named no entity).

    Rows of one request are written together in record order, so a record's index is its rank
    among the request's served (non-shadow) rows.
    """
    wanted = set(keys)
    if not wanted or not path.is_file():
        return {}
    ids = json.dumps(sorted({request_id for request_id, _ in wanted}))
    with read_only(path) as connection:
        counts = connection.execute(SERVED_COUNTS, (SHADOW, ids)).fetchall()
    found = {(rid, record): entity for rid, n, entity in counts for record in range(int(n))}
    return {key: entity for key, entity in found.items() if key in wanted}


def logged_keys(path: Path, keys: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
    """The (request id, record) pairs among ``keys`` that the log holds a served prediction for."""
    return set(served_entities(path, keys))


def erase(path: Path, entity: str) -> int:
    """Delete every row of the requests about ``entity`` (a pseudonym); the rows deleted.

    Deleted content is overwritten (``secure_delete``) and the write-ahead log is emptied into
    the file, so the rows do not linger in free pages either. A live server should write its
    queue first (``sync``): the admin route does.
    """
    if not path.is_file():
        return 0
    try:
        connection = connect(path)
        try:
            connection.execute("PRAGMA secure_delete = ON")
            with connection:
                found = connection.execute(ENTITY_REQUESTS, (entity,)).fetchall()
                ids = json.dumps([request_id for (request_id,) in found])
                deleted = sum(connection.execute(sql, {"ids": ids}).rowcount for sql in ERASE)
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()
    except (OSError, sqlite3.Error) as error:
        raise ProjectError(f"cannot erase from the prediction log {path}: {error}") from error
    return deleted


def describe(path: Path, window: LogWindowConfig) -> str:
    """The window's source as the monitoring report names it."""
    limits = [f"last {window.last_rows} rows"] if window.last_rows is not None else []
    limits += [f"last {window.hours:g} hours"] if window.hours is not None else []
    return f"prediction log {path} ({', '.join(limits) or 'all rows'})"
