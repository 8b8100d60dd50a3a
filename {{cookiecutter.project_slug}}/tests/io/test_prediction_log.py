"""The prediction log: nothing lost under concurrent writers, drained on close, bounded; and
its readers: the window, the served rows by feedback key, requests per arm, logged keys."""

import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.core.config import LogWindowConfig
from {{ cookiecutter.package_name }}.core.health import service_health
from {{ cookiecutter.package_name }}.core.privacy import Privacy
from {{ cookiecutter.package_name }}.io.prediction_log import (
    Entry,
    Failure,
    PredictionLog,
    describe,
    logged_keys,
    read_requests,
    read_window,
    served_rows,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


def entry(request_id: str, *, arm: str = "champion", when: datetime | None = None) -> Entry:
    return Entry(
        request_id=request_id,
        timestamp=when or datetime.now(UTC),
        model_name="toy",
        model_version="1",
        arm=arm,
        records=[{"shop": "shop1", "size": None, "amount": 2.5}],
        predictions=["a"],
        probabilities=[[0.75, 0.25]],
        classes=["a", "b"],
        latency_ms=0.4,
    )


def open_log(path: Path, privacy: Privacy | None = None, **limits: float) -> PredictionLog:
    settings = {"max_rows": 1_000_000, "max_age_days": 30.0, "queue_size": 100_000, **limits}
    return PredictionLog(path, privacy=privacy, **settings)  # type: ignore[arg-type]


def test_concurrent_writers_lose_nothing_and_close_drains(tmp_path: Path) -> None:
    log = open_log(tmp_path / "log.db")

    def write(worker: int) -> None:
        for index in range(500):
            log.log(entry(f"{worker}-{index}"))

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    window = read_window(tmp_path / "log.db")
    assert (len(window), window["request_id"].nunique(), log.dropped) == (4000, 4000, 0)


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    log = open_log(tmp_path / "log.db", queue_size=1)
    for index in range(2000):
        log.log(entry(str(index)))  # returns at once even though the writer lags behind
    log.close()
    assert log.dropped > 0
    assert len(read_window(tmp_path / "log.db")) == 2000 - log.dropped


def test_rows_are_bounded_by_count_and_age(tmp_path: Path) -> None:
    log = open_log(tmp_path / "log.db", max_rows=10, max_age_days=1.0)
    log.log(entry("old", when=datetime.now(UTC) - timedelta(days=2)))
    for index in range(25):
        log.log(entry(f"new-{index}"))
    log.close()
    window = read_window(tmp_path / "log.db")
    assert list(window["request_id"]) == [f"new-{index}" for index in range(15, 25)]


def test_read_window_expands_features_and_probabilities_and_filters(tmp_path: Path) -> None:
    log = open_log(tmp_path / "log.db")
    start = datetime.now(UTC)
    log.log(entry("early", when=start - timedelta(hours=1)))
    log.log(entry("champion"))
    log.log(entry("shadow", arm="shadow"))
    log.close()
    window = read_window(tmp_path / "log.db", since=start, arm="champion")
    assert list(window["request_id"]) == ["champion"]
    row = window.iloc[0]
    assert (row["shop"], row["amount"], row["prediction"], row["proba_a"]) == (
        "shop1",
        2.5,
        "a",
        0.75,
    )
    assert str(window["timestamp"].dt.tz) == "UTC"
    assert read_window(tmp_path / "absent.db").empty


def test_read_requests_has_one_row_per_request_and_arm_answered_or_failed(tmp_path: Path) -> None:
    log = open_log(tmp_path / "log.db")
    two_records = Entry(
        **{
            **vars(entry("r1")),
            "records": [{}, {}],
            "predictions": ["a", "b"],
            "probabilities": [[1.0, 0.0], [0.0, 1.0]],
        }
    )
    log.log(two_records)
    log.log(entry("r1", arm="shadow"))
    log.log(Failure("r2", datetime.now(UTC), "1", "unrouted", 422, "categories", 0.1))
    log.log(Failure("r3", datetime.now(UTC), "2", "challenger", 500, "model_error", 3.0))
    log.close()
    requests = read_requests(tmp_path / "log.db")
    found = requests[["request_id", "arm", "status", "rows"]].to_records(index=False).tolist()
    assert found == [
        ("r1", "champion", 200, 2),
        ("r1", "shadow", 200, 1),
        ("r2", "unrouted", 422, 0),
        ("r3", "challenger", 500, 0),
    ]
    assert str(requests["timestamp"].dt.tz) == "UTC"
    assert read_window(tmp_path / "log.db")["request_id"].tolist() == ["r1", "r1", "r1"]


def test_failures_are_bounded_like_predictions(tmp_path: Path) -> None:
    log = open_log(tmp_path / "log.db", max_rows=5, max_age_days=1.0)
    old = datetime.now(UTC) - timedelta(days=2)
    log.log(Failure("old", old, "1", "champion", 500, "model_error", 1.0))
    for index in range(8):
        log.log(Failure(f"new-{index}", datetime.now(UTC), "1", "champion", 500, "x", 1.0))
    log.close()
    assert read_requests(tmp_path / "log.db")["request_id"].tolist() == [
        f"new-{index}" for index in range(3, 8)
    ]


def test_read_requests_reads_a_log_written_before_failures_were_recorded(tmp_path: Path) -> None:
    log = open_log(tmp_path / "log.db")
    log.log(entry("r1"))
    log.close()
    with sqlite3.connect(tmp_path / "log.db") as connection:
        connection.execute("DROP TABLE failures")
    requests = read_requests(tmp_path / "log.db")
    assert requests[["request_id", "status"]].to_records(index=False).tolist() == [("r1", 200)]


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """Ten served requests a minute apart (the last has two records), each shadowed."""
    log = open_log(tmp_path / "served.db", max_age_days=10_000.0)
    for minute in range(10):
        records = 2 if minute == 9 else 1
        champion = Entry(
            request_id=f"r{minute}",
            timestamp=START + timedelta(minutes=minute),
            model_name="toy",
            model_version="1",
            arm="champion",
            records=[{"size": float(i)} for i in range(records)],
            predictions=["a"] * records,
            probabilities=[[0.6, 0.4]] * records,
            classes=["a", "b"],
            latency_ms=float(minute),
        )
        log.log(champion)
        log.log(replace(champion, model_version="2", arm="shadow", latency_ms=1.0))
    log.close()
    return tmp_path / "served.db"


def test_served_rows_leave_out_shadow_and_number_records(served: Path) -> None:
    rows = served_rows(served)
    assert len(rows) == 11 and set(rows["arm"]) == {"champion"}
    assert list(rows[rows["request_id"] == "r9"]["record"]) == [0, 1]
    assert served_rows(served.with_name("absent.db")).empty


def test_the_window_is_the_last_rows_or_hours(served: Path) -> None:
    last = LogWindowConfig(last_rows=3)
    assert list(served_rows(served, last)["request_id"]) == ["r8", "r9", "r9"]
    now = START + timedelta(minutes=10)
    recent = served_rows(served, LogWindowConfig(last_rows=None, hours=0.05), now=now)
    assert sorted(set(recent["request_id"])) == ["r7", "r8", "r9"]
    assert describe(served, last) == f"prediction log {served} (last 3 rows)"


def test_logged_keys_are_the_served_records(served: Path) -> None:
    asked = [("r9", 0), ("r9", 1), ("r9", 2), ("r0", 0), ("never", 0)]
    assert logged_keys(served, asked) == {("r9", 0), ("r9", 1), ("r0", 0)}
    assert logged_keys(served.with_name("absent.db"), asked) == set()


def test_health_is_per_version_and_arm_with_latency_per_request(served: Path) -> None:
    champion, shadow = service_health(read_requests(served))
    found = (champion["model_version"], champion["arm"], champion["requests"], champion["rows"])
    assert found == ("1", "champion", 10, 11)
    assert (shadow["model_version"], shadow["arm"], shadow["rows"]) == ("2", "shadow", 11)
    assert champion["latency_ms_p50"] == pytest.approx(4.5)
    assert champion["requests_per_minute"] == pytest.approx(10 / 9)
    assert (champion["error_rate"], champion["rejected_rate"]) == (0.0, 0.0)
