"""monitoring/retrain: triggers, each guardrail, dry-run, and all-or-nothing on failure."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import Config, DataConfig, RetrainConfig
from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.io import paths
from {{ cookiecutter.package_name }}.io.feedback_store import FeedbackStore, Label, log_path, store_path
from {{ cookiecutter.package_name }}.io.lock import exclusive
from {{ cookiecutter.package_name }}.jobs import retrain
from {{ cookiecutter.package_name }}.jobs.retrain import Evidence, decide

SETTINGS = RetrainConfig(min_new_labels=10, cooldown_hours=24.0, max_champion_age_days=90.0)
RECENT = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
DRIFTED = Evidence(
    monitor_report="reports/monitoring/x", monitored_at=RECENT, dataset_drift=True,
    drifted_features=("size",), champion_version="1", champion_age_days=3.0,
    hours_since_newest_version=72.0, new_labels=40,
)  # fmt: skip


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


def test_a_report_older_than_the_newest_model_no_longer_counts() -> None:
    stale = replace(DRIFTED, monitored_at=(datetime.now(UTC) - timedelta(days=4)).isoformat())
    assert decide(stale, SETTINGS).triggers == ()


def test_production_rows_get_every_schema_column_and_the_time_from_the_log(
    classification_data: DataConfig,
) -> None:
    labelled = pd.DataFrame({
        "shop": ["shop1"], "size": [2.0], "amount": [3.0], "label": ["b"], "request_id": ["r1"],
        "timestamp": pd.to_datetime(["2026-03-04T05:06:07Z"], utc=True), "prediction": ["a"],
    })  # fmt: skip
    rows = retrain.production_rows(labelled, classification_data)
    assert list(rows.columns) == list(classification_data.columns)
    assert rows.iloc[0].to_dict() == {
        "label": "b", "shop": "shop1", "size": 2.0, "amount": 3.0,
        "day": pd.Timestamp("2026-03-04T05:06:07Z").value // 10**9,
    }  # fmt: skip


def test_append_keeps_the_csv_bytes_and_adds_lines(tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    raw.write_text("b,a\n1,x\n2,y")  # no newline at the end
    assert retrain.append_rows(raw, pd.DataFrame({"a": ["z"], "b": [3]})) == 2
    assert raw.read_text() == "b,a\n1,x\n2,y\n3,z\n"


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project_config: Config,
    classification_data: DataConfig, make_frame: Any,
) -> tuple[Config, dict[str, str]]:  # fmt: skip
    """A tiny project in tmp_path: raw data, its .dvc file, dvc.lock, 12 new labels, and a
    fake registry (its aliases) in place of MLflow; evidence that calls for a retrain."""
    monkeypatch.chdir(tmp_path)
    data = classification_data.model_copy(update={"path": "data/raw/toy.csv"})
    config = project_config.model_copy(update={"data": data, "retrain": SETTINGS})
    Path("data/raw").mkdir(parents=True)
    make_frame(20).to_csv("data/raw/toy.csv", index=False)
    Path("data/raw/toy.csv.dvc").write_text("outs:\n- md5: before\n")
    Path("dvc.lock").write_text("schema: '2.0'\n")
    labelled = pd.DataFrame({"request_id": [f"r{i}" for i in range(12)]}).assign(
        shop="shop1", size=2.0, amount=3.0, label="b", day=1.0
    )
    monkeypatch.setattr(retrain, "new_labelled", lambda _: (
        labelled.drop(columns="request_id"), [(rid, 0) for rid in labelled["request_id"]]
    ))  # fmt: skip
    FeedbackStore(store_path(log_path(config))).add([Label(f"r{i}", "b") for i in range(12)])
    aliases = {"champion": "1", "challenger": "1"}
    monkeypatch.setattr(retrain, "read_aliases", lambda _: dict(aliases))
    monkeypatch.setattr(retrain, "restore_aliases", lambda _, saved: aliases.update(saved) or [
        aliases.pop(alias) for alias in set(aliases) - set(saved)
    ])  # fmt: skip
    facts = {"champion_version": "1", "champion_age_days": 3.0, "hours_since_newest_version": 72.0}
    monkeypatch.setattr(retrain, "registry_facts", lambda _: facts)
    retrain.write_json({"status": "drift", "created_at": RECENT, "report_dir": "reports/x",
                        "dataset_drift": {"drifted": True, "drifted_features": ["size"]}},
                       paths.MONITORING_LATEST)  # fmt: skip
    return config, aliases


def snapshot() -> dict[str, bytes]:
    files = ["data/raw/toy.csv", "data/raw/toy.csv.dvc", "dvc.lock"]
    return {name: Path(name).read_bytes() for name in files}


def unreachable(_: Config) -> NoReturn:
    raise AssertionError("no release may run here")


def test_dry_run_says_what_it_would_do_and_changes_nothing(
    project: tuple[Config, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    config, aliases = project
    before = snapshot()
    assert retrain.run(config, unreachable, dry_run=True) == "dry_run"
    assert "would retrain" in capsys.readouterr().out
    assert snapshot() == before and aliases == {"champion": "1", "challenger": "1"}
    assert not retrain.REQUEST.exists() and not retrain.LOCK.exists()


def test_a_held_lock_blocks_a_second_retrain(project: tuple[Config, dict[str, str]]) -> None:
    config, _ = project
    with exclusive(retrain.LOCK, stale_after=timedelta(hours=1)):
        assert retrain.run(config, unreachable) == "blocked"
    assert not retrain.REQUEST.exists()


def test_a_retrain_that_fails_midway_leaves_data_registry_and_labels_as_they_were(
    project: tuple[Config, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, aliases = project
    before = snapshot()

    def fake_dvc(*args: str, check: bool = True, quiet: bool = False) -> None:
        if args[0] == "add":
            Path("data/raw/toy.csv.dvc").write_text("outs:\n- md5: after\n")
        if args[0] == "repro":
            Path("dvc.lock").write_text("schema: '2.0'\nstages: {validate: {}}\n")

    def release(_: Config) -> NoReturn:
        aliases["challenger"] = "2"  # registered, then the gate fails
        raise ProjectError("the tracking server went away")

    monkeypatch.setattr(retrain.dvc, "run", fake_dvc)
    with pytest.raises(ProjectError, match="went away"):
        retrain.run(config, release)
    assert snapshot() == before
    assert aliases == {"champion": "1", "challenger": "1"}
    assert FeedbackStore(store_path(log_path(config))).labels(untrained_only=True).shape[0] == 12
    request = json.loads(retrain.REQUEST.read_text())
    assert request["outcome"]["status"] == "failed" and request["decision"]["retrain"]
    assert not retrain.LOCK.exists()
