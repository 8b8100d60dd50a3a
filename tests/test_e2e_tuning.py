"""Distributed tuning, end to end: two `tune` workers share one Optuna study in PostgreSQL.

The project is set up with the `team` extra (psycopg). Its study storage and its MLflow
tracking store are two databases of the session's PostgreSQL server (tests/servers.py), given
as a team would give them: OPTUNA_STORAGE and MLFLOW_TRACKING_URI. Two worker processes start
at once on an empty Optuna database (they race to create its tables and the study); then the
study must hold exactly both workers' trials, each run once, every one an MLflow run nested
under the study's single run; the best trial is written back into conf/ and `make pipeline`
(dvc repro) trains exactly that configuration.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers import DEFAULT_PACKAGE, run
from servers import Postgres

pytestmark = pytest.mark.e2e

TRIALS_EACH = 4
WORKERS = 2
TUNE = [
    f"tune.n_trials={TRIALS_EACH}",
    "tune.cv_folds=3",
    "tune.startup_trials=3",  # the later trials are TPE's, with the running ones "lied" about
]
OPTUNA_DB, MLFLOW_DB = "tuning_optuna", "tuning_mlflow"

# Run in the project's venv: the study as Optuna sees it, and its trials' MLflow runs.
STUDY_REPORT = """
import json, os, optuna, mlflow
[name] = optuna.get_all_study_names(os.environ["OPTUNA_STORAGE"])
study = optuna.load_study(study_name=name, storage=os.environ["OPTUNA_STORAGE"])
parent = study.user_attrs["mlflow_parent_run_id"]
runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
print(json.dumps({
    "name": study.study_name,
    "trials": [[t.number, t.state.name, t.params] for t in study.trials],
    "best": study.best_trial.params,
    "parent": parent,
    "children": [
        [r.data.tags.get("mlflow.parentRunId"), r.data.tags.get("optuna.trial"),
         r.data.tags.get("tune.worker")]
        for r in runs if r.info.run_id != parent and "optuna.trial" in r.data.tags
    ],
}))
"""


def test_two_workers_share_one_study_and_the_pipeline_trains_its_best(
    setup_project, uv_env: dict[str, str], postgres: Postgres, tmp_path: Path
) -> None:
    project = setup_project("tuning", extras="team")
    for database in (OPTUNA_DB, MLFLOW_DB):
        postgres.sql(f"CREATE DATABASE {database}")
    env = {
        **uv_env,
        "OPTUNA_STORAGE": postgres.uri(OPTUNA_DB),
        "MLFLOW_TRACKING_URI": postgres.uri(MLFLOW_DB),
    }
    python = ["uv", "run", "--no-sync", "python", "-c"]
    # MLflow's schema migrations (~1 minute): once, as a team's server would have them done.
    run([*python, "import mlflow; mlflow.MlflowClient().search_experiments()"], project, env=env)
    run(["uv", "run", "--no-sync", "dvc", "repro", "split"], project, env=env)

    logs = [tmp_path / f"worker-{index}.log" for index in range(WORKERS)]
    workers = []
    for log in logs:
        with log.open("w") as sink:
            command = ["uv", "run", "--no-sync", DEFAULT_PACKAGE, "tune", *TUNE]
            workers.append(
                subprocess.Popen(command, cwd=project, env=env, stdout=sink, stderr=sink)
            )
    codes = [worker.wait(timeout=1200) for worker in workers]
    outputs = "\n".join(f"--- {log.name}\n{log.read_text()}" for log in logs)
    assert codes == [0] * WORKERS, outputs

    report = json.loads(run([*python, STUDY_REPORT], project, env=env).stdout)
    trials = report["trials"]
    assert len(trials) == WORKERS * TRIALS_EACH, outputs
    assert sorted(number for number, _, _ in trials) == list(range(len(trials)))
    assert {state for _, state, _ in trials} <= {"COMPLETE", "PRUNED"}, trials
    drawn = [json.dumps(params, sort_keys=True) for _, _, params in trials]
    assert len(set(drawn)) == len(drawn), f"a configuration was tried twice: {drawn}"
    children = report["children"]
    assert sorted(int(number) for _, number, _ in children) == list(range(len(trials)))
    assert {parent for parent, _, _ in children} == {report["parent"]}
    assert len({worker for _, _, worker in children}) == WORKERS  # both worked on it

    tuned = yaml.safe_load((project / "conf" / "model" / "tuned.yaml").read_text())
    best = report["best"]
    model = best.pop("model")
    hyperparameters = {key.removeprefix(f"{model}."): value for key, value in best.items()}
    assert tuned["name"] == "tuned"
    assert {key: tuned[key] for key in hyperparameters} == hyperparameters
    assert "override /model: tuned" in (project / "conf" / "config.yaml").read_text()

    run(["make", "pipeline"], project, env=env)
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    assert lock["stages"]["train"]["params"]["params.yaml"]["model"] == tuned
