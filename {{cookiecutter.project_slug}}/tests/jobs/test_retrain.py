"""The `retrain` job: dry run, the lock, a new production batch (raw data untouched), and all
or nothing on failure. The decision itself is tested in tests/core/test_retraining.py."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import Config, DataConfig, RetrainConfig
from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.core.gate import Decision as GateDecision
from {{ cookiecutter.package_name }}.core.labels import Label
from {{ cookiecutter.package_name }}.io import paths
from {{ cookiecutter.package_name }}.io.feedback_store import FeedbackStore, log_path, store_path
from {{ cookiecutter.package_name }}.io.files import read_table, write_json
from {{ cookiecutter.package_name }}.io.labelled import Labelled
from {{ cookiecutter.package_name }}.io.lock import exclusive
from {{ cookiecutter.package_name }}.io.registry import Version
from {{ cookiecutter.package_name }}.jobs import retrain

SETTINGS = RetrainConfig(min_new_labels=10, cooldown_hours=24.0, max_champion_age_days=90.0)
RECENT = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
LABELS = 12
PRODUCTION = Path("data/production")


@pytest.fixture
def project(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    project_config: Config,
    classification_data: DataConfig,
    make_frame: Any,
) -> tuple[Config, dict[str, str]]:
    """A tiny project in tmp_path: raw data, its .dvc file, dvc.lock, 12 new labels, and a
    fake registry (its aliases) in place of MLflow; evidence that calls for a retrain."""
    monkeypatch.chdir(tmp_path)
    data = classification_data.model_copy(update={"path": "data/raw/toy.csv"})
    config = project_config.model_copy(update={"data": data, "retrain": SETTINGS})
    Path("data/raw").mkdir(parents=True)
    make_frame(20).to_csv("data/raw/toy.csv", index=False)
    Path("data/raw/toy.csv.dvc").write_text("outs:\n- md5: before\n")
    Path("dvc.lock").write_text("schema: '2.0'\n")
    keys = [(f"r{i}", 0) for i in range(LABELS)]
    row = {"label": "b", "shop": "shop1", "size": 2.0, "amount": 3.0, "day": 1.0}
    rows = pd.DataFrame([row] * LABELS)
    monkeypatch.setattr(retrain, "untrained", lambda _: Labelled(rows, keys))
    FeedbackStore(store_path(log_path(config))).add([Label(rid, "b") for rid, _ in keys])
    aliases = {"champion": "1", "challenger": "1"}
    monkeypatch.setattr(retrain, "read_aliases", lambda _: dict(aliases))

    def restore_aliases(_: Config, saved: dict[str, str]) -> None:
        aliases.clear()
        aliases.update(saved)

    monkeypatch.setattr(retrain, "restore_aliases", restore_aliases)
    facts = {"champion_version": "1", "champion_age_days": 3.0, "hours_since_newest_version": 72.0}
    monkeypatch.setattr(retrain, "registry_facts", lambda _: facts)
    report = {
        "status": "drift",
        "created_at": RECENT,
        "report_dir": "reports/x",
        "model": {"name": "toy", "version": "1", "source": "models:/toy@champion"},
        "dataset_drift": {"drifted": True, "drifted_features": ["size"]},
    }
    write_json(report, paths.MONITORING_LATEST)
    return config, aliases


def snapshot() -> dict[str, bytes]:
    """The raw data, its DVC file, dvc.lock and everything under data/production/."""
    files = [Path("data/raw/toy.csv"), Path("data/raw/toy.csv.dvc"), Path("dvc.lock")]
    files += sorted(path for path in PRODUCTION.rglob("*") if path.is_file())
    return {str(path): path.read_bytes() for path in files}


def untrained_labels(config: Config) -> int:
    return len(FeedbackStore(store_path(log_path(config))).labels(untrained_only=True))


def fake_dvc(*args: str, check: bool = True, quiet: bool = False) -> None:
    """`dvc add` writes the folder's .dvc file and .gitignore; `dvc repro` the lock file."""
    if args[0] == "add":
        folder = Path(args[1])
        assert folder.parent == PRODUCTION and any(folder.glob("*.parquet"))
        folder.with_name(f"{folder.name}.dvc").write_text("outs:\n- md5: after.dir\n")
        (folder.parent / ".gitignore").write_text(f"/{folder.name}\n")
    if args[0] == "repro":
        Path("dvc.lock").write_text("schema: '2.0'\nstages: {validate: {}}\n")


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


def test_a_retrain_adds_a_production_batch_and_leaves_raw_data_as_it_was(
    project: tuple[Config, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = project
    raw = Path("data/raw/toy.csv").read_bytes()

    def release(_: Config) -> tuple[Version, GateDecision]:
        assert untrained_labels(config) == 0  # the gate never judges on rows trained on
        version = Version("toy", "2", "run-2", "models:/m-2", {}, ("challenger",), 0.0)
        return version, GateDecision(True, "passed: better", [])

    monkeypatch.setattr(retrain.dvc, "run", fake_dvc)
    assert retrain.run(config, release) == "promoted"
    assert Path("data/raw/toy.csv").read_bytes() == raw
    batches = list((PRODUCTION / "toy").glob("*.parquet"))
    assert len(batches) == 1 and len(read_table(batches[0])) == LABELS
    assert Path("data/production/toy.dvc").is_file()
    outcome = json.loads(retrain.REQUEST.read_text())["outcome"]
    added = {"raw": "data/raw/toy.csv", "batch": str(batches[0]), "rows_added": LABELS}
    assert outcome["data"] == added
    assert outcome["challenger"] == "2" and untrained_labels(config) == 0


def test_a_retrain_that_fails_midway_leaves_data_registry_and_labels_as_they_were(
    project: tuple[Config, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, aliases = project
    before = snapshot()

    def release(_: Config) -> NoReturn:
        aliases["challenger"] = "2"  # registered, then the gate fails
        raise ProjectError("the tracking server went away")

    monkeypatch.setattr(retrain.dvc, "run", fake_dvc)
    with pytest.raises(ProjectError, match="went away"):
        retrain.run(config, release)
    assert snapshot() == before and not (PRODUCTION / "toy").exists()
    assert aliases == {"champion": "1", "challenger": "1"}
    assert untrained_labels(config) == LABELS
    request = json.loads(retrain.REQUEST.read_text())
    assert request["outcome"]["status"] == "failed" and request["decision"]["retrain"]
    assert not retrain.LOCK.exists()


def test_a_report_on_another_model_than_the_champion_triggers_nothing(
    project: tuple[Config, dict[str, str]],
) -> None:
    config, _ = project
    report = json.loads(paths.MONITORING_LATEST.read_text())
    report["model"]["version"] = "2"  # e.g. `monitor --model` on a challenger
    write_json(report, paths.MONITORING_LATEST)
    assert retrain.run(config, unreachable) == "not_needed"
    detail = json.loads(retrain.REQUEST.read_text())["outcome"]["detail"]
    assert "judged version 2, not the champion" in detail
