"""End to end: the release process in a generated project, on SQLite and on a tracking server.

One project per store runs the whole story in file order: first champion, a worse challenger
rejected (monitoring still judges against the champion), a better one promoted, rollback,
history, lineage, export (a bundle monitored offline), manual approval. The
server is a real `mlflow server` on 127.0.0.1, started here and stopped by its PID.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers import DEFAULT_PACKAGE, run, set_option
from servers import ServerProcess, free_port

pytestmark = pytest.mark.e2e

# Logistic regression strength -> a model that clears the floor, a worse and a better one.
FIRST, WORSE, BETTER, LATER = 0.015, 0.0005, 1.0, 0.3
TEST_SPLIT = "data/processed/test.parquet"  # labelled rows to monitor
MONITOR_FINDINGS = {0, 3, 4}  # ok, drift, degraded: a judgement, not an error


class TrackingServer:
    """`mlflow server` with a SQLite backend and one worker, owned by the test."""

    def __init__(self, python: Path, workdir: Path) -> None:
        self.python, self.workdir, self.port = python, workdir, free_port()
        self.server: ServerProcess | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [str(self.python), "-m", "mlflow", "server", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", "1",
                   "--backend-store-uri", f"sqlite:///{self.workdir / 'server.db'}"]  # fmt: skip
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.server = ServerProcess(
            command, cwd=self.workdir, env=env, port=self.port, probe="/health"
        )

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(timeout=20)
        self.server = None


# Steps whose outcome depends on no store (approval, lineage, monitoring a rejection) run on
# SQLite only; the tracking server gets the story's registry and artifact traffic.
SQLITE_ONLY = pytest.mark.parametrize("released", ["sqlite"], indirect=True)


def without_latency_rule(project: Path, env: dict[str, str]) -> None:
    """Single-row p95 latency on a shared 2-core runner is noise at a few milliseconds, so the
    gate's latency rule would decide these promotions by chance. It is tested where its inputs
    are controlled (the generated tests/core/test_gate.py); here it must not decide."""
    for mode in ("auto", "manual"):
        set_option(project, env, f"release/{mode}.yaml", "latency_factor", "1000")


@pytest.fixture(scope="module", params=["sqlite", "server"])
def released(
    request: pytest.FixtureRequest, setup_project, uv_env: dict[str, str], tmp_path_factory
) -> Iterator[tuple[Path, dict[str, str], TrackingServer | None]]:
    project = setup_project(f"release-{request.param}")
    env = dict(uv_env)
    without_latency_rule(project, env)
    server = None
    if request.param == "server":
        server = TrackingServer(
            project / ".venv" / "bin" / "python", tmp_path_factory.mktemp("mlflow")
        )
        server.start()
        env["MLFLOW_TRACKING_URI"] = server.uri
    try:
        yield project, env, server
    finally:
        if server is not None:
            server.stop()


def cli(project: Path, env: dict[str, str], *args: str, check: bool = True):
    return run(["uv", "run", "--no-sync", DEFAULT_PACKAGE, *args], project, env=env, check=check)


def train_with_c(project: Path, env: dict[str, str], strength: float) -> None:
    config = project / "conf" / "model" / "logistic_regression.yaml"
    lines = [
        f"C: {strength}" if line.startswith("C:") else line
        for line in config.read_text().splitlines()
    ]
    config.write_text("\n".join(lines) + "\n")
    run(["make", "pipeline"], project, env=env)


def release(project: Path, env: dict[str, str], check: bool = True):
    return run(["make", "release"], project, env=env, check=check)


def aliases(project: Path, env: dict[str, str]) -> dict[str, str]:
    script = (
        "import json, os, mlflow\n"
        "c = mlflow.MlflowClient(os.environ.get('MLFLOW_TRACKING_URI', 'sqlite:///mlflow.db'))\n"
        f"print(json.dumps(c.get_registered_model('{DEFAULT_PACKAGE}').aliases))"
    )
    out = run(["uv", "run", "--no-sync", "python", "-c", script], project, env=env).stdout
    return {alias: str(version) for alias, version in json.loads(out).items()}


def gate_report(project: Path) -> dict:
    return json.loads((project / "reports" / "gate.json").read_text())


def test_first_model_becomes_champion(released) -> None:
    project, env, _ = released
    train_with_c(project, env, FIRST)
    out = release(project, env).stdout
    assert "no champion yet" in out
    assert aliases(project, env) == {"challenger": "1", "staging": "1", "champion": "1"}
    assert gate_report(project)["passed"] is True
    card = (project / "reports" / "model_card.md").read_text()
    assert "## Metrics per slice" in card and "island=" in card


def test_worse_challenger_is_rejected_naming_the_rule(released) -> None:
    project, env, _ = released
    train_with_c(project, env, WORSE)
    result = release(project, env, check=False)
    assert result.returncode != 0
    report = gate_report(project)
    assert report["passed"] is False
    failed = {rule["rule"] for rule in report["rules"] if not rule["passed"]}
    assert "primary_metric" in failed
    assert "primary_metric" in result.stdout
    assert aliases(project, env)["champion"] == "1"


@SQLITE_ONLY
def test_monitoring_after_the_rejection_judges_against_the_champion(released) -> None:
    """The workspace now holds the rejected challenger's model and metrics; `monitor` loads
    the champion and its own reference and baseline from the registry."""
    project, env, _ = released
    monitored = cli(project, env, "monitor", "--current", TEST_SPLIT, check=False)
    assert monitored.returncode in MONITOR_FINDINGS, monitored.stderr
    report = json.loads((project / "reports" / "monitoring" / "latest.json").read_text())
    assert report["model"]["version"] == "1" and report["model"]["source"].endswith("@champion")
    performance = report["performance"]
    metric = performance["metric"]
    champion = gate_report(project)["holdouts"]["test"]["champion"][metric]  # v1, same rows
    rejected = json.loads((project / "reports" / "metrics.json").read_text())["test"][metric]
    assert performance["baseline"] == pytest.approx(champion) and champion != rejected


def test_better_challenger_is_promoted_and_old_champion_becomes_previous(released) -> None:
    project, env, _ = released
    train_with_c(project, env, BETTER)
    release(project, env)
    assert gate_report(project)["passed"] is True
    found = aliases(project, env)
    assert (found["champion"], found["previous"]) == ("3", "1")


def test_rollback_restores_the_previous_champion(released) -> None:
    project, env, _ = released
    run(["make", "rollback", "REASON=e2e rollback"], project, env=env)
    found = aliases(project, env)
    assert found["champion"] == "1"
    assert "previous" not in found
    history = cli(project, env, "history").stdout
    for action in ("register", "gate", "promote", "demote", "rollback", "restore"):
        assert action in history
    assert "e2e rollback" in history


@SQLITE_ONLY
def test_lineage_prints_the_whole_chain(released) -> None:
    project, env, _ = released
    out = cli(project, env, "lineage", f"models:/{DEFAULT_PACKAGE}@champion").stdout
    for section in ("data:", "code:", "config:", "run:", "model version:", "aliases:"):
        assert section in out
    assert "data.raw.md5" in out and "data.train.md5" in out
    assert run(["git", "rev-parse", "HEAD"], project).stdout.strip() in out
    assert "champion" in out.split("aliases:")[1]


def test_export_writes_a_bundle_that_serves_without_the_registry(released, tmp_path: Path) -> None:
    project, env, _ = released
    bundle = tmp_path / "bundle"
    cli(project, env, "export", "--alias", "champion", "--to", str(bundle))
    metadata = json.loads((bundle / "metadata.json").read_text())
    assert (metadata["version"], metadata["alias"], metadata["task"]) == (
        "1",
        "champion",
        "classification",
    )
    assert "island" in metadata["columns"] and metadata["schema_version"] == 1
    assert (bundle / "MODEL_CARD.md").is_file()
    reference = {path.name for path in (bundle / "reference").iterdir()}
    assert reference == {"reference_scored.parquet", "metrics.json", "slices.json"}
    check = (
        "import mlflow.sklearn, pandas as pd\n"
        f"model = mlflow.sklearn.load_model('{bundle / 'model'}')\n"
        "rows = pd.read_parquet('data/processed/test.parquet').head(3)\n"
        f"print(list(model.predict(rows[{metadata['feature_columns']!r}])))"
    )
    offline = {**env, "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}  # nothing listens there
    out = run(["uv", "run", "--no-sync", "python", "-c", check], project, env=offline).stdout
    assert "Adelie" in out or "Gentoo" in out or "Chinstrap" in out
    args = ["monitor", "--current", TEST_SPLIT, "--model", str(bundle)]
    assert cli(project, offline, *args, check=False).returncode in MONITOR_FINDINGS
    report = json.loads((project / "reports" / "monitoring" / "latest.json").read_text())
    assert report["model"] == {"name": DEFAULT_PACKAGE, "version": "1", "source": str(bundle)}
    refused = cli(project, env, "export", "--alias", "champion", "--to", str(bundle), check=False)
    assert refused.returncode != 0 and "not empty" in refused.stderr


@SQLITE_ONLY
def test_manual_mode_waits_for_approval(released) -> None:
    project, env, _ = released
    config = project / "conf" / "config.yaml"
    config.write_text(config.read_text().replace("- release: auto", "- release: manual"))
    train_with_c(project, env, LATER)
    out = release(project, env).stdout
    assert "awaiting approval" in out
    version = gate_report(project)["challenger"]
    assert aliases(project, env)["champion"] == "1"
    refused = cli(project, env, "promote", "--version", version, "--reason", "ok", check=False)
    assert refused.returncode != 0 and "--approve" in refused.stderr
    cli(
        project,
        env,
        "promote",
        "--version",
        version,
        "--approve",
        "--reason",
        "reviewed by ML lead",
    )
    assert aliases(project, env)["champion"] == version
    assert "reviewed by ML lead" in cli(project, env, "history").stdout


@contextmanager
def released_on_a_server(
    project: Path, uv_env: dict[str, str], folder: Path, strengths: tuple[float, ...]
) -> Iterator[tuple[Path, dict[str, str], TrackingServer]]:
    """``project`` on its own tracking server, with one model trained and released per
    regularisation strength; the server is stopped on exit (tests may stop it before)."""
    without_latency_rule(project, uv_env)
    server = TrackingServer(project / ".venv" / "bin" / "python", folder)
    server.start()
    env = {**uv_env, "MLFLOW_TRACKING_URI": server.uri}
    try:
        for strength in strengths:
            train_with_c(project, env, strength)
            release(project, env)
        yield project, env, server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server_project(
    setup_project, uv_env: dict[str, str], tmp_path_factory
) -> Iterator[tuple[Path, dict[str, str], TrackingServer]]:
    """A project whose last training run is on a tracking server that is about to go away."""
    project = setup_project("release-outage")
    with released_on_a_server(project, uv_env, tmp_path_factory.mktemp("mlflow"), (FIRST,)) as up:
        yield up


def test_server_stopped_before_registration_fails_clearly_and_leaves_no_live_alias(
    server_project,
) -> None:
    project, env, server = server_project
    before = aliases(project, env)
    train_with_c(project, env, BETTER)
    server.stop()
    started = time.monotonic()
    result = cli(project, env, "register", check=False)
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "not reachable" in result.stderr and server.uri in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 120, f"an outage should fail fast, took {elapsed:.0f} s"
    server.start()
    assert aliases(project, env) == before  # no new version got the challenger alias
