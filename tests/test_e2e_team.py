"""End to end on a team stack: MLflow on PostgreSQL, artifacts and DVC data in S3, logins on.

The stack is real and local (tests/servers.py): PostgreSQL from the machine's binaries and
moto's S3 API server for the session, and `mlflow server` with basic authentication run from
the project's own venv (`make setup EXTRAS=team`), all on 127.0.0.1 and stopped by PID. One
project rendered with dvc_remote=s3 runs, in file order: pipeline -> register -> gate ->
promote -> serve the champion from the registry -> batch predict -> monitor -> rollback,
each checked in PostgreSQL and in the bucket, never on local disk; `dvc push` and `dvc pull`
into a fresh clone through the bucket; then faults: the server crashing in the middle of
`gate`, and a wrong password.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from test_e2e_release import BETTER, FIRST, MONITOR_FINDINGS, TEST_SPLIT, train_with_c
from test_e2e_serving import Api

from helpers import DEFAULT_PACKAGE, RECORD, run
from servers import MlflowServer, Postgres, S3Server, Tripwire

pytestmark = pytest.mark.e2e

BUCKET = "team"
ARTIFACTS, DVC_DATA = "mlflow", "dvc"  # where each lives in the bucket
USERNAME, PASSWORD = "admin", "e2e-admin-password"
# The generated registry's tag that holds the aliases while a release moves them.
ALIASES_BEFORE = "release.aliases_before"
# `mlflow server` receiving the request that points `champion` at a version.
SET_CHAMPION = re.compile(
    rb"POST /api/2\.0/mlflow/registered-models/alias HTTP/1\.1\r\n(?:[^\r\n]+\r\n)*\r\n"
    rb'\{[^}]*"alias": ?"champion"'
)


@dataclass
class Team:
    project: Path
    env: dict[str, str]  # a team member's: the server's URI, a login, S3 keys for DVC
    postgres: Postgres
    s3: S3Server
    server: MlflowServer
    database: str

    def cli(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        command = ["uv", "run", "--no-sync", DEFAULT_PACKAGE, *args]
        return run(command, self.project, env={**self.env, **env}, check=check)

    def make(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(["make", *args], self.project, env=self.env)

    def sql(self, query: str) -> list[list[str]]:
        return self.postgres.sql(query, self.database)

    def aliases(self) -> dict[str, str]:
        """The registered model's aliases, as PostgreSQL has them."""
        rows = self.sql(
            f"SELECT alias, version FROM registered_model_aliases WHERE name = '{DEFAULT_PACKAGE}'"
        )
        return dict(rows)  # type: ignore[arg-type]

    def model_tags(self) -> dict[str, str]:
        rows = self.sql(
            f"SELECT key, value FROM registered_model_tags WHERE name = '{DEFAULT_PACKAGE}'"
        )
        return dict(rows)  # type: ignore[arg-type]

    def objects(self, prefix: str) -> list[str]:
        return self.s3.keys(BUCKET, prefix)


@pytest.fixture(scope="module")
def team(
    setup_project, uv_env: dict[str, str], postgres: Postgres, s3_server: S3Server, tmp_path_factory
) -> Iterator[Team]:
    """The project set up with the `team` extra, its MLflow server, a bucket and a DVC remote."""
    project = setup_project("team", extras="team", dvc_remote="s3")
    database, users = "team_mlflow", "team_mlflow_users"
    for name in (database, users):
        postgres.sql(f"CREATE DATABASE {name}")
    s3_server.client().create_bucket(Bucket=BUCKET)
    server = MlflowServer(
        project / ".venv" / "bin" / "mlflow",
        backend=postgres.uri(database),
        auth=postgres.uri(users),
        artifacts=f"s3://{BUCKET}/{ARTIFACTS}",
        s3=s3_server,
        username=USERNAME,
        password=PASSWORD,
        workdir=tmp_path_factory.mktemp("mlflow-server"),
    )
    env = {
        **uv_env,
        **s3_server.credentials,
        "MLFLOW_TRACKING_URI": server.uri,
        "MLFLOW_TRACKING_USERNAME": USERNAME,
        "MLFLOW_TRACKING_PASSWORD": PASSWORD,
    }
    dvc = ["uv", "run", "--no-sync", "dvc", "remote", "modify", "storage"]
    run([*dvc, "url", f"s3://{BUCKET}/{DVC_DATA}"], project, env=env)
    run([*dvc, "endpointurl", s3_server.endpoint], project, env=env)
    try:
        yield Team(project, env, postgres, s3_server, server, database)
    finally:
        server.stop()


def test_pipeline_tracks_runs_in_postgres_and_artifacts_in_the_bucket(team: Team) -> None:
    train_with_c(team.project, team.env, FIRST)
    run_id = json.loads((team.project / "models" / "run.json").read_text())["run_id"]
    [[status, artifact_uri]] = team.sql(
        f"SELECT status, artifact_uri FROM runs WHERE run_uuid = '{run_id}'"
    )
    assert (status, artifact_uri.split(":")[0]) == ("FINISHED", "mlflow-artifacts")
    logged = team.objects(f"{ARTIFACTS}/")
    run_files = {key.split("/artifacts/", 1)[1] for key in logged if f"/{run_id}/" in key}
    assert {"config/resolved.json", "evaluation/reference_scored.parquet"} <= run_files
    assert any(key.endswith("/artifacts/model.skops") for key in logged)
    stores = ("mlflow.db", "mlruns", "mlartifacts")
    on_disk = [name for name in stores if (team.project / name).exists()]
    assert on_disk == [], "the team server's data must stay off the project's disk"


def test_release_registers_gates_and_promotes_in_postgres(team: Team) -> None:
    team.make("release")  # register + gate; release mode auto: the first model is champion
    assert team.aliases() == {"challenger": "1", "staging": "1", "champion": "1"}
    train_with_c(team.project, team.env, BETTER)
    team.cli("register")
    team.cli("gate", "--hold")  # passes, waits for approval on 'staging'
    assert team.aliases() == {"challenger": "2", "staging": "2", "champion": "1"}
    team.make("promote-staging", "REASON=approved by the e2e test")
    assert team.aliases() == {"challenger": "2", "staging": "2", "champion": "2", "previous": "1"}
    versions = team.sql(
        "SELECT version, status, storage_location FROM model_versions "
        f"WHERE name = '{DEFAULT_PACKAGE}' ORDER BY version"
    )
    assert [(number, status) for number, status, _ in versions] == [("1", "READY"), ("2", "READY")]
    for _, _, location in versions:  # mlflow-artifacts:/<experiment>/models/<id>/artifacts
        files = team.objects(f"{ARTIFACTS}/{location.split(':/', 1)[1]}/")
        assert {"MLmodel", "model.skops"} <= {key.rsplit("/", 1)[1] for key in files}
    audit = team.sql(
        f"SELECT key FROM model_version_tags WHERE name = '{DEFAULT_PACKAGE}' AND version = 2"
    )
    assert any(key.endswith(".promote") for [key] in audit)


def test_the_api_serves_the_champion_from_the_team_registry(team: Team) -> None:
    api = Api(team.project, team.env)  # champion: models:/<name>@champion, via the server
    try:
        status, body = api.predict(RECORD)
    finally:
        api.stop()
    assert (status, body["model"]["version"], body["arm"]) == (200, "2", "champion")


def test_batch_predict_and_monitor_use_the_champion_from_the_team_registry(team: Team) -> None:
    output = team.project / "build" / "predictions.csv"
    printed = team.make("predict", f"OUTPUT={output}").stdout
    [(scored, rows)] = re.findall(r"scored (\d+) of (\d+) rows", printed)
    assert int(scored) == int(rows) == len(pd.read_csv(output))
    monitored = run(
        ["make", "monitor", f"MONITOR_INPUT={TEST_SPLIT}"], team.project, env=team.env, check=False
    )
    assert monitored.returncode in MONITOR_FINDINGS, monitored.stderr
    report = json.loads((team.project / "reports" / "monitoring" / "latest.json").read_text())
    assert report["model"]["version"] == "2"


def test_rollback_restores_the_previous_champion_in_postgres(team: Team) -> None:
    team.make("rollback", "REASON=e2e rollback")
    assert team.aliases() == {"challenger": "2", "staging": "2", "champion": "1"}


def test_dvc_push_and_pull_into_a_fresh_clone_through_the_bucket(team: Team, tmp_path) -> None:
    project = team.project
    run(["git", "add", "--all"], project, env=team.env)
    run(["git", "commit", "--quiet", "--no-verify", "-m", "Team remote"], project, env=team.env)
    run(["uv", "run", "--no-sync", "dvc", "push"], project, env=team.env)
    assert team.objects(f"{DVC_DATA}/files/md5/")
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(project), str(clone)], tmp_path, env=team.env)
    run([str(project / ".venv" / "bin" / "dvc"), "pull"], clone, env=team.env)
    tracked = ["models/model.joblib", *(f"data/processed/{s}.parquet" for s in ("train", "test"))]
    for path in tracked:
        assert (clone / path).read_bytes() == (project / path).read_bytes(), path


def test_a_server_crash_in_the_middle_of_gate_moves_no_alias(team: Team) -> None:
    before = team.aliases()  # version 2 is challenger again, and better than champion 1
    tripwire = Tripwire(team.server, SET_CHAMPION)
    try:
        crashed = team.cli("gate", check=False, MLFLOW_TRACKING_URI=tripwire.uri)
    finally:
        tripwire.close()
    assert tripwire.tripped.is_set(), crashed.stdout + crashed.stderr
    assert crashed.returncode == 1
    assert f"the MLflow tracking server at {tripwire.uri} is not reachable" in crashed.stderr
    assert "Traceback" not in crashed.stderr
    team.server.start()  # the server is back
    assert team.aliases()["champion"] == before["champion"]  # production never moved
    assert json.loads(team.model_tags()[ALIASES_BEFORE]) == before
    retried = team.cli("gate", check=False)  # puts the aliases back, then stops
    assert retried.returncode == 1 and "stopped half-way" in retried.stderr
    assert "Traceback" not in retried.stderr
    assert team.aliases() == before
    assert ALIASES_BEFORE not in team.model_tags()
    team.cli("gate")  # run again, the release goes through
    assert team.aliases() == {**before, "champion": "2", "previous": "1"}


@pytest.mark.parametrize("command", [["history"], ["train"]])
def test_a_wrong_password_is_a_clear_error(team: Team, command: list[str]) -> None:
    result = team.cli(*command, check=False, MLFLOW_TRACKING_PASSWORD="not-the-password")
    assert result.returncode == 1
    assert f"the MLflow tracking server at {team.server.uri} did not accept the login" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
