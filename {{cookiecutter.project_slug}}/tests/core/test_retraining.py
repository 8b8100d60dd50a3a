"""core/retraining: triggers, each guardrail, when a report counts, production rows."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import DataConfig, RetrainConfig
from {{ cookiecutter.package_name }}.core.retraining import Evidence, decide, production_rows

SETTINGS = RetrainConfig(min_new_labels=10, cooldown_hours=24.0, max_champion_age_days=90.0)
RECENT = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
DRIFTED = Evidence(
    monitor_report="reports/monitoring/x",
    monitored_at=RECENT,
    dataset_drift=True,
    drifted_features=("size",),
    champion_version="1",
    champion_age_days=3.0,
    hours_since_newest_version=72.0,
    new_labels=40,
)


def test_drift_with_enough_labels_after_the_cooldown_retrains() -> None:
    decision = decide(DRIFTED, SETTINGS)
    assert decision.retrain and decision.triggers[0].startswith("dataset drift")


@pytest.mark.parametrize(
    ("change", "guardrail"),
    [
        ({"new_labels": 9}, "not enough new labels"),
        ({"hours_since_newest_version": 2.0}, "cool-down"),
    ],
)
def test_each_guardrail_blocks(change: dict[str, Any], guardrail: str) -> None:
    decision = decide(replace(DRIFTED, **change), SETTINGS)
    assert not decision.retrain and decision.blocked_by[0].startswith(guardrail)


def test_no_drift_and_a_young_champion_need_nothing() -> None:
    decision = decide(replace(DRIFTED, dataset_drift=False, performance_drop=0.01), SETTINGS)
    assert (decision.retrain, decision.triggers, decision.blocked_by) == (False, (), ())


def test_a_performance_drop_or_an_old_champion_triggers() -> None:
    quiet = replace(DRIFTED, dataset_drift=False)
    assert "performance drop" in decide(replace(quiet, performance_drop=0.2), SETTINGS).triggers[0]
    assert "days old" in decide(replace(quiet, champion_age_days=120.0), SETTINGS).triggers[0]


def test_a_report_that_names_no_model_counts_until_a_newer_version() -> None:
    stale = replace(DRIFTED, monitored_at=(datetime.now(UTC) - timedelta(days=4)).isoformat())
    assert stale.stale_report is not None and "predates" in stale.stale_report
    assert decide(stale, SETTINGS).triggers == ()


def test_a_report_on_the_champion_counts_however_many_challengers_came_since() -> None:
    days_ago = (datetime.now(UTC) - timedelta(days=4)).isoformat()
    on_champion = replace(DRIFTED, monitored_at=days_ago, monitored_version="1")
    assert on_champion.stale_report is None
    assert decide(on_champion, SETTINGS).retrain


def test_a_report_on_another_version_does_not_count() -> None:
    elsewhere = replace(DRIFTED, monitored_version="2")
    assert elsewhere.stale_report is not None and "not the champion" in elsewhere.stale_report
    assert decide(elsewhere, SETTINGS).triggers == ()


def test_production_rows_get_every_schema_column_and_the_time_from_the_log(
    classification_data: DataConfig,
) -> None:
    labelled = pd.DataFrame(
        {
            "shop": ["shop1"],
            "size": [2.0],
            "amount": [3.0],
            "label": ["b"],
            "request_id": ["r1"],
            "timestamp": pd.to_datetime(["2026-03-04T05:06:07Z"], utc=True),
            "prediction": ["a"],
        }
    )
    rows = production_rows(labelled, classification_data)
    assert list(rows.columns) == list(classification_data.columns)
    assert rows.iloc[0].to_dict() == {
        "label": "b",
        "shop": "shop1",
        "size": 2.0,
        "amount": 3.0,
        "day": pd.Timestamp("2026-03-04T05:06:07Z").value // 10**9,
    }
