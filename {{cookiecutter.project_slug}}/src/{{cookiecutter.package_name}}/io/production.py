"""Production windows: served predictions from the prediction log, joined with feedback labels.

``served_rows`` reads the log (the rows callers were answered with: shadow rows are left
out) and numbers each request's records, which is how feedback addresses them. The joins and
splits after it are pure.
"""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from ..core.config import LogWindowConfig
from .prediction_log import read_window

SHADOW = "shadow"
KEYS = ["request_id", "record"]
META = [*KEYS, "model_version", "arm", "latency_ms", "timestamp"]


def _start_of_last_rows(path: Path, rows: int) -> datetime | None:
    """The timestamp of the ``rows``-th most recent served row (None: the log has fewer)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
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
    if window.last_rows is not None:
        starts.append(_start_of_last_rows(path, window.last_rows))
    return max((start for start in starts if start is not None), default=None)


def served_rows(
    path: Path, window: LogWindowConfig | None = None, *, now: datetime | None = None
) -> pd.DataFrame:
    """Served rows of the log (all, or the configured window), with a ``record`` index."""
    if not path.is_file():
        return pd.DataFrame(columns=META)
    window = window or LogWindowConfig(last_rows=None)
    frame = read_window(path, since=window_start(path, window, now=now))
    if frame.empty:
        return pd.DataFrame(columns=META)
    frame = frame[frame["arm"] != SHADOW].reset_index(drop=True)
    frame["record"] = frame.groupby("request_id").cumcount()  # rows are logged in record order
    return frame.tail(window.last_rows) if window.last_rows is not None else frame


def with_labels(served: pd.DataFrame, labels: pd.DataFrame, target: str) -> pd.DataFrame:
    """The served rows with the target column: the feedback label, or missing (NaN/None)."""
    if labels.empty:
        return served.assign(**{target: None})
    known = labels[[*KEYS, "label"]].rename(columns={"label": target})
    return served.merge(known, on=KEYS, how="left")


def without_meta(frame: pd.DataFrame) -> pd.DataFrame:
    """What `monitor` judges: inputs, outputs and target, without the log's bookkeeping."""
    return frame.drop(columns=[name for name in META if name in frame.columns])


def describe(path: Path, window: LogWindowConfig) -> str:
    """The window's source as the report names it."""
    limits = [f"last {window.last_rows} rows"] if window.last_rows is not None else []
    limits += [f"last {window.hours:g} hours"] if window.hours is not None else []
    return f"prediction log {path} ({', '.join(limits) or 'all rows'})"
