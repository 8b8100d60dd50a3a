"""End to end: faults around the registry and the stores, in a generated project.

One project tracks to a real `mlflow server` (SQLite, one worker) on 127.0.0.1, started here
and stopped or crashed by its PID; champion v2 and previous v1 are released first. Then, in
file order:

- `rollback` with the server stopped: one clear error naming the server, nothing moved;
- the server crashing in the middle of `rollback` (after the champion moved, before
  `previous` was dropped): a clear error; the next command puts every alias back as it was
  and says so; the one after rolls back;
- the server crashing in the middle of `register` (the version made, its alias not yet
  set): a clear error, no alias moved; registering again finishes the job;
- `monitor` (twice), `retrain`, `retrain --dry-run` and five `feedback import`s at once on
  the same prediction log and feedback store: no label lost or stored twice, each label
  used for training once, every report and model whole.

The API's own faults (SIGTERM and SIGKILL under load, a full disk, a broken bundle) are the
generated project's tests/jobs/serving/test_faults.py, run by its `make test`.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from test_e2e_loop import FEATURES
from test_e2e_release import (
    BETTER,
    FIRST,
    LATER,
    TrackingServer,
    aliases,
    released_on_a_server,
    train_with_c,
)
from test_e2e_serving import Api

from helpers import DEFAULT_PACKAGE, run, set_option
from servers import Tripwire

pytestmark = pytest.mark.e2e

# Requests `mlflow server` receives: dropping an alias (rollback drops `previous` after it
# moved `champion`), and pointing `challenger` at a version (the last step of `register`).
DROP_ALIAS = re.compile(rb"DELETE /api/2\.0/mlflow/registered-models/alias")
SET_CHALLENGER = re.compile(
    rb"POST /api/2\.0/mlflow/registered-models/alias HTTP/1\.1\r\n(?:[^\r\n]+\r\n)*\r\n"
    rb'\{[^}]*"alias": ?"challenger"'
)
LABEL_FILES = 4  # imported at once, plus the first again
MONITOR_FINDINGS = {0, 3, 4, 5}  # ok, drift, degraded, not enough data: judgements


def cli(project: Path, env: dict[str, str], *args: str, check: bool = True):
    return run(["uv", "run", "--no-sync", DEFAULT_PACKAGE, *args], project, env=env, check=check)


def start(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    command = ["uv", "run", "--no-sync", DEFAULT_PACKAGE, *args]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.Popen(command, cwd=project, env=env, text=True, **pipes)


def assert_clear_outage(result: subprocess.CompletedProcess[str], uri: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"the MLflow tracking server at {uri} is not reachable" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def released(
    setup_project, uv_env: dict[str, str], tmp_path_factory
) -> Iterator[tuple[Path, dict[str, str], TrackingServer]]:
    """Champion v2 and previous v1 on a tracking server the tests stop and crash."""
    project = setup_project("faults")
    folder = tmp_path_factory.mktemp("mlflow")
    with released_on_a_server(project, uv_env, folder, (FIRST, BETTER)) as (_, env, server):
        found = aliases(project, env)
        assert (found["champion"], found["previous"]) == ("2", "1")
        yield project, env, server


def test_rollback_with_the_server_stopped_fails_fast_and_moves_nothing(released) -> None:
    project, env, server = released
    before = aliases(project, env)
    server.stop()
    try:
        started = time.monotonic()
        result = cli(project, env, "rollback", "--reason", "outage", check=False)
        elapsed = time.monotonic() - started
    finally:
        server.start()
    assert_clear_outage(result, server.uri)
    assert elapsed < 60, f"an outage should fail fast, took {elapsed:.0f} s"
    assert aliases(project, env) == before


def test_a_crash_in_the_middle_of_rollback_is_undone_by_the_next_command(released) -> None:
    project, env, server = released
    before = aliases(project, env)
    assert server.server is not None
    tripwire = Tripwire(server.server, DROP_ALIAS)
    through = {**env, "MLFLOW_TRACKING_URI": tripwire.uri}
    try:
        crashed = cli(project, through, "rollback", "--reason", "crash", check=False)
    finally:
        tripwire.close()
    assert tripwire.tripped.is_set(), crashed.stdout + crashed.stderr
    assert_clear_outage(crashed, tripwire.uri)
    server.server.start()  # back, with the champion moved and `previous` still set
    assert aliases(project, env) == {**before, "champion": before["previous"]}
    recovered = cli(project, env, "rollback", "--reason", "retry", check=False)
    assert recovered.returncode == 1 and "stopped half-way" in recovered.stderr
    assert aliases(project, env) == before  # exactly as before the crash
    cli(project, env, "rollback", "--reason", "now for real")
    expected = {alias: v for alias, v in before.items() if alias != "previous"}
    assert aliases(project, env) == {**expected, "champion": before["previous"]}


def test_a_crash_in_the_middle_of_registration_moves_no_alias(released) -> None:
    project, env, server = released
    before = aliases(project, env)
    train_with_c(project, env, LATER)  # a new run, not yet registered: version 3
    assert server.server is not None
    tripwire = Tripwire(server.server, SET_CHALLENGER)
    through = {**env, "MLFLOW_TRACKING_URI": tripwire.uri}
    try:
        crashed = cli(project, through, "register", check=False)
    finally:
        tripwire.close()
    assert tripwire.tripped.is_set(), crashed.stdout + crashed.stderr
    assert_clear_outage(crashed, tripwire.uri)
    server.server.start()
    assert aliases(project, env) == before
    out = cli(project, env, "register").stdout  # the version made before the crash is reused
    assert "version 3 as 'challenger'" in out
    assert aliases(project, env) == {**before, "challenger": "3"}


@pytest.fixture(scope="module")
def served(released) -> tuple[Path, dict[str, str], pd.DataFrame]:
    """Every labelled raw row answered by the API, into the configured log; the truth."""
    project, env, _ = released
    rows = pd.read_csv(project / "data" / "raw" / "penguins.csv").dropna()
    api = Api(project, env, log=False)  # the configured log: monitor and retrain read it
    try:
        answered = []
        for record in rows[[*FEATURES, "species"]].to_dict("records"):
            status, body = api.predict({name: record[name] for name in FEATURES})
            assert status == 200
            answered.append((body["request_id"], record["species"]))
    finally:
        api.stop()  # drains the log
    return project, env, pd.DataFrame(answered, columns=["request_id", "label"])


def test_monitor_retrain_and_imports_at_once_lose_and_duplicate_nothing(
    served, tmp_path: Path
) -> None:
    project, env, truth = served
    # The champion counts as old: `retrain` goes ahead as soon as it has enough labels.
    set_option(project, env, "retrain/default.yaml", "max_champion_age_days", "0.00001")
    set_option(project, env, "retrain/default.yaml", "cooldown_hours", "0.0")
    first, rest = truth.iloc[:80], truth.iloc[80:]
    files = [tmp_path / "first.csv"] + [tmp_path / f"part-{i}.csv" for i in range(LABEL_FILES)]
    first.to_csv(files[0], index=False)
    for part in range(LABEL_FILES):
        rest.iloc[part::LABEL_FILES].to_csv(files[part + 1], index=False)
    cli(project, env, "feedback", "import", str(files[0]))  # enough new labels for a retrain
    commands = [
        ["monitor"],
        ["monitor"],
        ["retrain"],
        ["retrain", "--dry-run"],
        *(["feedback", "import", str(path)] for path in files),  # the first file again
    ]
    processes = [start(project, env, *command) for command in commands]
    reports = []
    for command, process in zip(commands, processes, strict=True):
        out, err = process.communicate(timeout=900)
        allowed = MONITOR_FINDINGS if command == ["monitor"] else {0, 3}  # 3: gate rejected
        assert process.returncode in allowed, f"{command} exited {process.returncode}:\n{out}{err}"
        assert "Traceback" not in err, err
        reports += re.findall(r"^report: (\S+)/report\.html$", out, re.MULTILINE)
    with sqlite3.connect(project / "data" / "predictions" / "feedback.db") as store:
        stored = store.execute("SELECT request_id, record, label, trained_at FROM feedback")
        labels = pd.DataFrame(
            stored.fetchall(), columns=["request_id", "record", "label", "trained"]
        )
    assert len(labels) == len(truth)  # none lost, none twice
    assert set(labels["record"]) == {0}
    expected = dict(zip(truth["request_id"], truth["label"], strict=True))
    stored_labels = zip(labels["request_id"], labels["label"].map(json.loads), strict=True)
    assert dict(stored_labels) == expected
    request = json.loads((project / "reports" / "retrain_request.json").read_text())
    outcome = request["outcome"]
    assert outcome["status"] in {"promoted", "rejected"}, outcome
    assert outcome["data"]["rows_added"] == labels["trained"].notna().sum()  # each used once
    assert len(set(reports)) == 2  # one folder per monitor run, each whole
    for folder in map(project.joinpath, reports):
        json.loads((folder / "report.json").read_text())
        assert (folder / "report.html").read_text().rstrip().endswith("</html>")
        assert "# TYPE" in (folder / "metrics.prom").read_text()
    json.loads((project / "reports" / "monitoring" / "latest.json").read_text())
    model = "import joblib; joblib.load('models/model.joblib')"
    run(["uv", "run", "--no-sync", "python", "-c", model], project, env=env)
