"""End to end: the closed loop in a generated project, from drifted traffic to a new champion.

One project, in file order: champion v1 is served; drifted traffic arrives; `monitor` reads the
prediction log and flags drift; the guardrails block a retrain (no labels yet, cool-down);
labels arrive (`POST /feedback`, `feedback import`); a dry run changes nothing; a held lock
blocks; a retrain that fails midway leaves data, registry and aliases as they were; then
`retrain` adds the labelled rows as a new DVC-tracked production batch (the raw data stays as
it was), the gate promotes v2 and the API reloads it; new labelled traffic then reaches the
gate of the next model as its recent window; with no drift and a young champion, `retrain`
has nothing to do.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_e2e_release import aliases, gate_report
from test_e2e_serving import Api

from helpers import DEFAULT_PACKAGE, RECORD, run, set_option

pytestmark = pytest.mark.e2e

FEATURES = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]
TRACKED = ["data/raw/penguins.csv", "data/raw/penguins.csv.dvc", "dvc.lock"]
PRODUCTION = Path("data/production")
REFUSED = 3
RECENT = 60  # labelled requests after the retrain: more than release.recent_window.min_rows


def cli(project: Path, env: dict[str, str], *args: str, check: bool = True):
    return run(["uv", "run", "--no-sync", DEFAULT_PACKAGE, *args], project, env=env, check=check)


def digests(project: Path) -> dict[str, str]:
    """The raw data, its DVC file, dvc.lock and every file under data/production/."""
    production = sorted(p for p in (project / PRODUCTION).rglob("*") if p.is_file())
    names = [*TRACKED, *(str(path.relative_to(project)) for path in production)]
    return {name: hashlib.md5((project / name).read_bytes()).hexdigest() for name in names}


def request_file(project: Path) -> dict[str, Any]:
    return json.loads((project / "reports" / "retrain_request.json").read_text())


@pytest.fixture(scope="module")
def loop(setup_project, uv_env: dict[str, str]) -> Iterator[tuple[Path, dict[str, str], Api]]:
    """Champion v1 released and served; 333 drifted requests answered and logged."""
    project = setup_project("loop")
    env = dict(uv_env)
    run(["make", "pipeline"], project, env=env)
    run(["make", "release"], project, env=env)
    api = Api(project, env, log=False)  # the configured log: `monitor` reads it
    try:
        yield project, env, api
    finally:
        api.stop()


@pytest.fixture(scope="module")
def truth(loop) -> pd.DataFrame:
    """Send drifted traffic (bills measured 8 mm longer, flippers 10 mm shorter); the truth."""
    project, _, api = loop
    rows = pd.read_csv(project / "data" / "raw" / "penguins.csv").dropna()
    rows["bill_length_mm"] = (rows["bill_length_mm"] + 8).clip(upper=70)
    rows["flipper_length_mm"] = (rows["flipper_length_mm"] - 10).clip(lower=150)
    answered = []
    for record in rows[[*FEATURES, "species"]].to_dict("records"):
        status, body = api.predict({name: record[name] for name in FEATURES})
        assert status == 200
        answered.append((body["request_id"], record["species"]))
    for _ in range(REFUSED):  # an upstream bug: a value the schema does not know
        assert api.predict({**RECORD, "island": "Atlantis"})[0] == 422
    return pd.DataFrame(answered, columns=["request_id", "label"])


def test_monitor_reads_the_prediction_log_and_flags_drift(loop, truth) -> None:
    project, env, _ = loop
    time.sleep(1)  # the log writer is asynchronous
    assert run(["make", "monitor"], project, env=env, check=False).returncode != 0
    report = json.loads((project / "reports" / "monitoring" / "latest.json").read_text())
    assert report["status"] in {"drift", "degraded"} and report["dataset_drift"]["drifted"]
    assert "bill_length_mm" in report["dataset_drift"]["drifted_features"]
    health = {entry["arm"]: entry for entry in report["service_health"]}
    champion, refused = health["champion"], health["unrouted"]
    assert (champion["model_version"], champion["requests"]) == ("1", len(truth))
    assert (champion["error_rate"], champion["rejected_rate"]) == (0.0, 0.0)
    assert (refused["requests"], refused["rejected_rate"]) == (REFUSED, 1.0)
    assert report["windows"]["source"].startswith("prediction log")


def test_guardrails_block_without_labels_and_within_the_cooldown(loop) -> None:
    project, env, _ = loop
    out = cli(project, env, "retrain").stdout
    assert "retrain: blocked" in out
    blocked = " ".join(request_file(project)["decision"]["blocked_by"])
    assert "not enough new labels: 0" in blocked and "cool-down" in blocked


def test_feedback_arrives_through_the_api_and_a_file(loop, truth, tmp_path: Path) -> None:
    project, env, api = loop
    first = truth.iloc[0]
    assert api.request("POST", "/feedback", {"request_id": first.request_id,
                                             "label": first.label})[0] == 201  # fmt: skip
    assert api.request("POST", "/feedback", {"request_id": first.request_id,
                                             "label": "Emperor"})[0] == 422  # fmt: skip
    assert api.request("POST", "/feedback", {"request_id": "nope", "label": "Adelie"})[0] == 404
    labels = tmp_path / "labels.csv"
    truth.iloc[1:].to_csv(labels, index=False)
    out = run(["make", "feedback-import", f"LABELS={labels}"], project, env=env).stdout
    assert f"imported {len(truth) - 1} label(s)" in out
    review = tmp_path / "review.json"
    cli(project, env, "feedback", "export-review", "--to", str(review))
    assert json.loads(review.read_text()) == []  # every prediction has its label now


def test_dry_run_changes_nothing_and_a_held_lock_blocks(loop) -> None:
    project, env, api = loop
    set_option(project, env, "retrain/default.yaml", "cooldown_hours", "0.0")
    before, request = digests(project), request_file(project)
    out = cli(project, env, "retrain", "--dry-run").stdout
    assert "would retrain" in out and "dataset drift" in out
    assert digests(project) == before and request_file(project) == request
    lock = project / "reports" / "retrain.lock"
    started = pd.Timestamp.now(tz="UTC").isoformat()  # held by a live process: the API's
    holder = {"pid": api.process.pid, "host": socket.gethostname(), "started_at": started}
    lock.write_text(json.dumps(holder))
    try:
        assert "blocked (lock" in cli(project, env, "retrain").stdout
    finally:
        lock.unlink()
    assert digests(project) == before


def test_a_retrain_failing_midway_leaves_data_registry_and_aliases_as_they_were(loop) -> None:
    project, env, _ = loop
    before, registry = digests(project), aliases(project, env)
    set_option(project, env, "model/logistic_regression.yaml", "max_iter", "-1")  # train fails
    try:
        result = cli(project, env, "retrain", check=False)
    finally:
        set_option(project, env, "model/logistic_regression.yaml", "max_iter", "1000")
    assert result.returncode == 1 and "dvc repro" in result.stderr
    assert "Running stage 'validate'" in result.stdout  # it failed after changing the data
    assert digests(project) == before and aliases(project, env) == registry
    assert request_file(project)["outcome"]["status"] == "failed"


def test_retrain_promotes_a_challenger_and_the_api_reloads_it(loop, truth) -> None:
    project, env, api = loop
    raw = digests(project)["data/raw/penguins.csv"]
    out = run(["make", "retrain"], project, env=env).stdout
    assert "retrain: promoted" in out
    outcome = request_file(project)["outcome"]
    assert (outcome["challenger"], outcome["data"]["rows_added"]) == ("2", len(truth))
    assert digests(project)["data/raw/penguins.csv"] == raw  # raw data is immutable
    assert (project / PRODUCTION / "penguins.dvc").is_file()
    validation = json.loads((project / "reports" / "validation.json").read_text())
    assert validation["production_batches"] == [outcome["data"]["batch"]]  # validate read it
    raw_rows = len(pd.read_csv(project / "data" / "raw" / "penguins.csv"))
    assert validation["rows"] == raw_rows + len(truth)
    assert "recent" not in gate_report(project)["holdouts"]  # its rows are training data now
    assert aliases(project, env)["champion"] == "2"
    status = run(["uv", "run", "--no-sync", "dvc", "status"], project, env=env).stdout
    assert "up to date" in status  # the new data version is tracked and the pipeline ran on it
    code, versions = api.request("POST", "/admin/reload")
    assert code == 200 and versions["after"]["champion"] == "2"
    assert api.predict(RECORD)[1]["model"]["version"] == "2"


def test_new_labelled_traffic_reaches_the_gate_as_its_recent_window(loop) -> None:
    project, env, api = loop
    rows = pd.read_csv(project / "data" / "raw" / "penguins.csv").dropna().head(RECENT)
    labels = []
    for record in rows[[*FEATURES, "species"]].to_dict("records"):
        status, body = api.predict({name: record[name] for name in FEATURES})
        assert status == 200
        labels.append((body["request_id"], record["species"]))
    time.sleep(1)  # the log writer is asynchronous
    file = project / "build" / "recent_labels.csv"
    file.parent.mkdir(exist_ok=True)
    pd.DataFrame(labels, columns=["request_id", "label"]).to_csv(file, index=False)
    cli(project, env, "feedback", "import", str(file))
    set_option(project, env, "model/logistic_regression.yaml", "C", "0.5")
    try:
        run(["make", "pipeline"], project, env=env)
        out = run(["make", "release"], project, env=env, check=False).stdout
    finally:
        set_option(project, env, "model/logistic_regression.yaml", "C", "1.0")
    assert f"also on the recent window, {RECENT} labelled production rows" in out
    report = gate_report(project)
    assert report["holdouts"]["recent"]["rows"] == RECENT
    assert any(rule["rule"].startswith("recent:") for rule in report["rules"])


def test_no_drift_and_a_young_champion_need_no_retrain(loop) -> None:
    project, env, _ = loop
    reference = "data/processed/reference_scored.parquet"
    run(["make", "monitor", f"MONITOR_INPUT={reference}"], project, env=env)
    out = cli(project, env, "retrain").stdout
    assert "retrain: not_needed" in out
