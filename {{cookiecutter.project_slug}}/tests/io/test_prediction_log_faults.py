"""The prediction log under faults: a database that refuses writes costs those rows only (counted
and reported, never raised at the caller), and it recovers by itself; a log that cannot be
opened is one clear error; ``sync`` waits for what was logged. (Disk full and crashes with a
real server process: tests/jobs/serving/test_faults.py.)"""

import sqlite3
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.io import prediction_log
from {{ cookiecutter.package_name }}.io.prediction_log import PredictionLog, logged_keys

from .test_prediction_log import entry, open_log


def test_a_read_only_database_drops_and_counts_rows_then_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[sqlite3.Connection] = []
    connect = prediction_log.connect

    def read_only_after_setup(path: Path) -> sqlite3.Connection:
        connection = connect(path)
        connection.execute("PRAGMA query_only = ON")  # SQLite's error for a read-only file
        opened.append(connection)
        return connection

    monkeypatch.setattr(prediction_log, "connect", read_only_after_setup)
    log = open_log(tmp_path / "log.db")
    for index in range(5):
        log.log(entry(f"lost-{index}"))
    assert log.sync(timeout=10)
    assert (log.failed, log.written) == (5, 0)
    assert log.error is not None and "readonly" in log.error
    opened[0].execute("PRAGMA query_only = OFF")  # writable again
    log.log(entry("kept"))
    assert log.sync(timeout=10)
    assert (log.failed, log.written, log.error) == (5, 1, None)
    log.close()
    assert logged_keys(tmp_path / "log.db", [("kept", 0), ("lost-0", 0)]) == {("kept", 0)}


def test_a_log_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "taken"
    folder.write_text("a file where the log's folder should be")
    with pytest.raises(ProjectError, match=r"cannot open the prediction log .*serve\.log\.path"):
        open_log(folder / "log.db")


def test_sync_returns_once_everything_logged_is_readable(tmp_path: Path) -> None:
    log: PredictionLog = open_log(tmp_path / "log.db")
    for index in range(100):
        log.log(entry(str(index)))
    assert log.sync(timeout=10)
    assert len(logged_keys(tmp_path / "log.db", [(str(i), 0) for i in range(100)])) == 100
    log.close()
