"""The prediction log and personal data: what a stored row holds (read with SQL, not through the
log's readers), retention on every write, erasing one entity, and logs from before entities."""

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from {{ cookiecutter.package_name }}.core.privacy import Privacy
from {{ cookiecutter.package_name }}.io.prediction_log import (
    Entry,
    PredictionLog,
    erase,
    read_window,
    served_entities,
)

from .test_prediction_log import entry, open_log

KEY = b"a test key, not a secret: 32 bytes+"
PII = Privacy(frozenset({"shop"}), "hash", KEY)


def query(path: Path, sql: str, *parameters: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql, parameters).fetchall()


def file_bytes(folder: Path) -> bytes:
    """Everything SQLite keeps on disk for the logs in ``folder`` (database, WAL, journal)."""
    return b"".join(path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file())


def about(request_id: str, entity_id: str | None, *, arm: str = "champion") -> Entry:
    return replace(entry(request_id, arm=arm), entity_id=entity_id)


def test_a_stored_row_holds_pseudonyms_never_the_raw_values(tmp_path: Path) -> None:
    log = open_log(tmp_path / "log.db", privacy=PII)
    log.log(about("r1", "ada@example.com"))
    log.close()
    [(features, entity)] = query(tmp_path / "log.db", "SELECT features, entity FROM predictions")
    assert json.loads(str(features)) == {
        "shop": PII.pseudonym("shop1"),
        "size": None,
        "amount": 2.5,
    }
    assert entity == PII.pseudonym("ada@example.com")
    stored = file_bytes(tmp_path)
    assert b"ada@example.com" not in stored and b"shop1" not in stored


def test_dropped_pii_columns_are_not_stored_and_no_key_stores_no_entity(tmp_path: Path) -> None:
    dropping = Privacy(frozenset({"shop"}), "drop", KEY)
    log = open_log(tmp_path / "drop.db", privacy=dropping)
    log.log(about("r1", "ada@example.com"))
    log.close()
    [(features,)] = query(tmp_path / "drop.db", "SELECT features FROM predictions")
    assert json.loads(str(features)) == {"size": None, "amount": 2.5}
    no_key = open_log(tmp_path / "plain.db")  # no PII columns, no key: entity ids are dropped
    no_key.log(about("r1", "ada@example.com"))
    no_key.close()
    assert query(tmp_path / "plain.db", "SELECT entity FROM predictions") == [(None,)]
    assert b"ada@example.com" not in file_bytes(tmp_path)


def test_retention_deletes_old_rows_with_every_write(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    keeping = open_log(path, max_age_days=10_000.0)
    keeping.log(entry("old", when=datetime.now(UTC) - timedelta(days=2)))
    keeping.close()
    log = open_log(path, max_age_days=1.0)  # far below max_rows: only age can delete "old"
    log.log(entry("new"))
    assert log.sync(timeout=10)  # written, not closed: the write itself applied the retention
    assert query(path, "SELECT request_id FROM predictions") == [("new",)]
    log.close()


def test_erase_deletes_every_row_of_the_entitys_requests_and_overwrites_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log.db"
    log = open_log(path, privacy=PII)
    log.log(about("r1", "ada"))
    log.log(about("r1", None, arm="shadow"))  # the shadow copy of ada's request
    log.log(about("r2", "bob"))
    log.close()
    ada = PII.pseudonym("ada")
    assert served_entities(path, [("r1", 0), ("r2", 0), ("r3", 0)]) == {
        ("r1", 0): ada,
        ("r2", 0): PII.pseudonym("bob"),
    }
    assert erase(path, ada) == 2
    assert query(path, "SELECT request_id, arm FROM predictions") == [("r2", "champion")]
    assert ada.encode() not in file_bytes(tmp_path)  # not even in free pages or the WAL
    assert erase(path, ada) == 0
    assert erase(tmp_path / "absent.db", ada) == 0


def test_a_log_from_before_entities_gets_the_column_and_reads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    log = open_log(path)
    log.log(entry("r1"))
    log.close()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP INDEX predictions_entity")
        connection.execute("ALTER TABLE predictions DROP COLUMN entity")
    assert read_window(path)["entity"].isna().all()  # read-only: an old log reads as it is
    again = PredictionLog(path, max_rows=10, max_age_days=1.0, queue_size=10, privacy=PII)
    again.log(about("r2", "ada"))
    again.close()
    entities = read_window(path)["entity"]
    assert entities.isna().tolist() == [True, False]
    assert entities.iloc[1] == PII.pseudonym("ada")
