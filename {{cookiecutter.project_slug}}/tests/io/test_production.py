"""monitoring/production and health: the served window from the log, labels, service health."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import LogWindowConfig
from {{ cookiecutter.package_name }}.core.health import service_health
from {{ cookiecutter.package_name }}.io.prediction_log import (
    Entry,
    PredictionLog,
    read_requests,
)
from {{ cookiecutter.package_name }}.io.production import served_rows, with_labels

START = datetime(2026, 1, 1, tzinfo=UTC)


def entry(request_id: str, arm: str, minute: int, records: int = 1, latency: float = 1.0) -> Entry:
    return Entry(
        request_id, START + timedelta(minutes=minute), "toy", "2" if arm == "shadow" else "1",
        arm, [{"size": float(i)} for i in range(records)], ["a"] * records,
        [[0.6, 0.4]] * records, ["a", "b"], latency,
    )  # fmt: skip


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """Ten served requests (the last has two records), each shadowed by a challenger."""
    path = tmp_path / "log.db"
    writer = PredictionLog(path, max_rows=1000, max_age_days=10_000.0, queue_size=1000)
    for minute in range(10):
        records = 2 if minute == 9 else 1
        writer.log(entry(f"r{minute}", "champion", minute, records, latency=float(minute)))
        writer.log(entry(f"r{minute}", "shadow", minute, records))
    writer.close()
    return path


def test_served_rows_leave_out_shadow_and_number_records(log: Path) -> None:
    rows = served_rows(log)
    assert len(rows) == 11 and set(rows["arm"]) == {"champion"}
    assert list(rows[rows["request_id"] == "r9"]["record"]) == [0, 1]


def test_the_window_is_the_last_rows_or_hours(log: Path) -> None:
    assert list(served_rows(log, LogWindowConfig(last_rows=3))["request_id"]) == ["r8", "r9", "r9"]
    now = START + timedelta(minutes=10)
    recent = served_rows(log, LogWindowConfig(last_rows=None, hours=0.05), now=now)
    assert sorted(set(recent["request_id"])) == ["r7", "r8", "r9"]


def test_labels_join_by_request_and_record(log: Path) -> None:
    labels = pd.DataFrame({"request_id": ["r9", "r0"], "record": [1, 0], "label": ["b", "a"]})
    joined = with_labels(served_rows(log), labels, "target")
    assert joined["target"].notna().sum() == 2
    assert (
        joined.loc[(joined["request_id"] == "r9") & (joined["record"] == 1), "target"].item() == "b"
    )


def test_health_is_per_version_and_arm_with_latency_per_request(log: Path) -> None:
    champion, shadow = service_health(read_requests(log))
    assert (champion["model_version"], champion["arm"], champion["requests"], champion["rows"]) == (
        "1", "champion", 10, 11
    )  # fmt: skip
    assert (shadow["model_version"], shadow["arm"], shadow["rows"]) == ("2", "shadow", 11)
    assert champion["latency_ms_p50"] == pytest.approx(4.5)
    assert champion["requests_per_minute"] == pytest.approx(10 / 9)
    assert (champion["error_rate"], champion["rejected_rate"]) == (0.0, 0.0)


def test_health_counts_server_errors_and_refusals_apart() -> None:
    def request(status: int, arm: str = "champion", latency: float = 2.0) -> dict[str, object]:
        return {"request_id": "r", "timestamp": START, "model_version": "1", "arm": arm,
                "status": status, "rows": int(status == 200), "latency_ms": latency}  # fmt: skip

    statuses = [200] * 6 + [500, 422, 422, 413]
    [health] = service_health(pd.DataFrame([request(status) for status in statuses]))
    assert (health["requests"], health["answered"], health["rows"]) == (10, 6, 6)
    assert (health["error_rate"], health["rejected_rate"]) == (0.1, 0.3)
    assert health["latency_ms_p99"] == 2.0
    assert service_health(pd.DataFrame()) == []
