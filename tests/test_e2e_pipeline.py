"""End to end, both tasks: render -> make setup -> make pipeline, then the pipeline's promises
(DVC's own mechanics on the default task).

Tests in this module share one set-up project per task and run in file order: read-only
checks first, then the ones that change the project (each restores what it changed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import DEFAULT_PACKAGE, run

pytestmark = pytest.mark.e2e

FLOORS = {"classification": ("accuracy", 0.9), "regression": ("r2", 0.7)}
DEFAULT_MODEL = {
    "classification": ("logistic_regression", "C", 0.5),
    "regression": ("ridge", "alpha", 3.0),
}

# What reruns, experiments, remotes and refusing bad data are DVC's mechanics, the same for both
# tasks: they run on the default task only (one option at a time against the defaults). Each
# task still trains, is tracked, is reproducible and switches to the other, below.
DEFAULT_TASK_ONLY = pytest.mark.parametrize("project", ["classification"], indirect=True)

MLFLOW_QUERY = """
import json, mlflow
client = mlflow.MlflowClient("sqlite:///mlflow.db")
experiment = client.get_experiment_by_name("penguins-ml")
runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
print(json.dumps([
    {"params": r.data.params, "metrics": r.data.metrics, "tags": r.data.tags,
     "models": [m.name for m in client.search_logged_models([experiment.experiment_id])
                if m.source_run_id == r.info.run_id]}
    for r in runs
]))
"""


@pytest.fixture(scope="module", params=["classification", "regression"])
def project(
    request: pytest.FixtureRequest, setup_project, uv_env: dict[str, str]
) -> tuple[str, Path, dict[str, str]]:
    task = request.param
    path = setup_project(f"pipeline-{task}", task=task)
    run(["make", "pipeline"], path, env=uv_env)
    return task, path, uv_env


def uv(project: Path, env: dict[str, str], *args: str, check: bool = True):
    return run(["uv", "run", "--no-sync", *args], project, env=env, check=check)


def commit_all(path: Path, env: dict[str, str], message: str) -> None:
    """Commit the work tree (through the project's own pre-commit hooks) if anything changed."""
    run(["git", "add", "--all"], path, env=env)
    if run(["git", "status", "--porcelain"], path, env=env).stdout:
        run(["git", "commit", "--quiet", "-m", message], path, env=env)


def mlflow_runs(project: Path, env: dict[str, str]) -> list[dict]:
    return json.loads(uv(project, env, "python", "-c", MLFLOW_QUERY).stdout)


def test_metrics_beat_the_floor(project) -> None:
    task, path, _ = project
    metrics = json.loads((path / "reports" / "metrics.json").read_text())
    name, floor = FLOORS[task]
    assert metrics["test"][name] > floor
    slices = json.loads((path / "reports" / "slices.json").read_text())
    assert {row["column"] for row in slices} == {"island", "sex"}
    assert any((path / "reports" / "plots").glob("*.png"))
    # The params.yaml the template ships is exactly what `make params` composes from conf/.
    assert run(["git", "status", "--porcelain", "params.yaml"], path).stdout == ""


def test_mlflow_run_has_params_metrics_model_and_lineage(project) -> None:
    task, path, env = project
    runs = mlflow_runs(path, env)
    assert len(runs) == 1
    tracked = runs[0]
    assert tracked["params"]["data.task"] == task
    assert "model._target_" in tracked["params"]
    metric = FLOORS[task][0]
    assert {f"valid.{metric}", f"test.{metric}"} <= set(tracked["metrics"])
    assert any(name.startswith("test.slice.island.") for name in tracked["metrics"])
    assert tracked["models"] == ["model"]
    tags = tracked["tags"]
    head = run(["git", "rev-parse", "HEAD"], path).stdout.strip()
    assert tags["git.commit"] == head
    assert tags["git.dirty"] in {"true", "false"}
    lock = yaml.safe_load((path / "dvc.lock").read_text())
    train_deps = {dep["path"]: dep["md5"] for dep in lock["stages"]["train"]["deps"]}
    assert tags["data.train.md5"] == train_deps["data/processed/train.parquet"]
    assert len(tags["config.hash"]) == 16
    assert tags["version.scikit-learn"]


def test_second_repro_is_a_no_op(project) -> None:
    _, path, env = project
    result = uv(path, env, "dvc", "repro")
    assert "Running stage" not in result.stdout
    assert "Data and pipelines are up to date" in result.stdout


def test_same_config_and_data_give_identical_metrics(project) -> None:
    _, path, env = project
    before = (path / "reports" / "metrics.json").read_text()
    uv(path, env, "dvc", "repro", "--force", "train")
    assert (path / "reports" / "metrics.json").read_text() == before
    first, second = mlflow_runs(path, env)[-2:]
    valid = {k: v for k, v in first["metrics"].items() if k.startswith("valid.")}
    assert valid == {k: v for k, v in second["metrics"].items() if k.startswith("valid.")}


def set_hyperparameter(path: Path, task: str) -> str:
    """Change the default model's main hyperparameter in conf/; return the original text."""
    model, key, value = DEFAULT_MODEL[task]
    config = path / "conf" / "model" / f"{model}.yaml"
    original = config.read_text()
    lines = [
        f"{key}: {value}" if line.startswith(f"{key}:") else line for line in original.splitlines()
    ]
    config.write_text("\n".join(lines) + "\n")
    return original


def restore_hyperparameter(path: Path, task: str, original: str) -> None:
    (path / "conf" / "model" / f"{DEFAULT_MODEL[task][0]}.yaml").write_text(original)


def stages_run(output: str) -> set[str]:
    return {
        s for s in ("validate", "split", "train", "evaluate") if f"Running stage '{s}'" in output
    }


@DEFAULT_TASK_ONLY
def test_edited_conf_without_params_is_refused(project) -> None:
    task, path, env = project
    original = set_hyperparameter(path, task)
    try:
        result = uv(path, env, "dvc", "repro", check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "params.yaml does not match conf/" in output
        assert f"model.{DEFAULT_MODEL[task][1]}" in output
    finally:
        restore_hyperparameter(path, task, original)


@DEFAULT_TASK_ONLY
def test_hyperparameter_change_reruns_only_train_and_evaluate(project) -> None:
    task, path, env = project
    original = set_hyperparameter(path, task)
    try:
        assert stages_run(run(["make", "pipeline"], path, env=env).stdout) == {"train", "evaluate"}
    finally:
        restore_hyperparameter(path, task, original)
        run(["make", "pipeline"], path, env=env)


@DEFAULT_TASK_ONLY
def test_split_change_reruns_split_onward(project) -> None:
    _, path, env = project
    out = run(["make", "pipeline"], path, env=env).stdout
    assert "Running stage" not in out
    config = path / "conf" / "split" / "stratified.yaml"
    original = config.read_text()
    config.write_text(original.replace("test_size: 0.2", "test_size: 0.25"))
    try:
        out = run(["make", "pipeline"], path, env=env).stdout
        assert stages_run(out) == {"split", "train", "evaluate"}
    finally:
        config.write_text(original)
        run(["make", "pipeline"], path, env=env)


def drop_column(name: str):
    return lambda frame, target: frame.drop(columns=[target if name == "<target>" else name])


def set_value(column: str, value: str):
    def change(frame: pd.DataFrame, target: str) -> pd.DataFrame:
        frame = frame.astype({column: object})
        frame.loc[3, column] = value
        return frame

    return change


# case -> (how to break the data, what the error must name)
BAD_DATA = {
    "missing column": (drop_column("bill_depth_mm"), ["bill_depth_mm", "missing_column"]),
    "wrong dtype": (set_value("flipper_length_mm", "tall"), ["flipper_length_mm", "dtype", "tall"]),
    "unknown category": (set_value("island", "Atlantis"), ["island", "categories", "Atlantis"]),
    "empty file": (None, ["penguins.csv", "empty"]),
    "missing target": (drop_column("<target>"), ["<target>", "missing_column"]),
}


@DEFAULT_TASK_ONLY
@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_stops_at_validate_and_keeps_outputs(project, case: str) -> None:
    task, path, env = project
    target = "species" if task == "classification" else "body_mass_g"
    change, expected = BAD_DATA[case]
    raw = path / "data" / "raw" / "penguins.csv"
    broken = None if change is None else change(pd.read_csv(raw), target)
    kept = {
        p: p.read_bytes()
        for p in (path / "data/interim/validated.parquet", path / "models/model.joblib")
    }
    raw.unlink()  # the workspace file may be linked to the DVC cache: never write through it
    if broken is None:
        raw.write_text("")
    else:
        broken.to_csv(raw, index=False)
    try:
        result = uv(path, env, "dvc", "repro", check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "failed to reproduce 'validate'" in output
        assert "Running stage 'split'" not in output
        for text in expected:
            assert text.replace("<target>", target) in output
        for kept_path, content in kept.items():
            assert kept_path.read_bytes() == content, f"{kept_path} changed"
    finally:
        # `dvc repro` recorded the broken file as a new version: go back to the committed one.
        raw.unlink()
        run(["git", "checkout", "--", "data/raw/penguins.csv.dvc"], path, env=env)
        uv(path, env, "dvc", "checkout", "--force", "data/raw/penguins.csv.dvc")
    # Restored data: validate runs again (its report changed) and nothing downstream does.
    assert stages_run(run(["make", "pipeline"], path, env=env).stdout) <= {"validate"}


@DEFAULT_TASK_ONLY
def test_dvc_experiment_with_hydra_overrides(project) -> None:
    task, path, env = project
    commit_all(path, env, "Pipeline outputs")
    uv(path, env, "dvc", "exp", "run", "-S", "model=random_forest", "-S", "model.n_estimators=50")
    shown = json.loads(uv(path, env, "dvc", "exp", "show", "--json").stdout)
    text = json.dumps(shown)
    assert "random_forest" in text and "n_estimators" in text
    assert FLOORS[task][0] in text
    params = yaml.safe_load((path / "params.yaml").read_text())
    assert params["model"]["name"] == "random_forest"  # -S values stay in the workspace
    check = uv(path, env, DEFAULT_PACKAGE, "params", "--check", check=False)
    assert check.returncode != 0  # ...and the check says where they differ from conf/
    assert "model._target_" in check.stderr
    assert stages_run(run(["make", "pipeline"], path, env=env).stdout) == {"train", "evaluate"}
    # DVC's autostage put the experiment's dvc.lock in the index: reset to HEAD, not the index.
    run(["git", "reset", "--hard", "--quiet"], path, env=env)
    uv(path, env, "dvc", "checkout", "--force")
    assert "up to date" in uv(path, env, "dvc", "status").stdout


@DEFAULT_TASK_ONLY
def test_push_then_pull_into_a_fresh_clone(project, tmp_path: Path) -> None:
    _, path, env = project
    commit_all(path, env, "Pipeline outputs")
    storage = tmp_path / "storage"
    uv(path, env, "dvc", "remote", "modify", "--local", "storage", "url", str(storage))
    uv(path, env, "dvc", "push")
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", str(path), str(clone)], tmp_path, env=env)
    assert not (clone / "data" / "raw" / "penguins.csv").exists()
    run(["uv", "sync", "--quiet"], clone, env=env)
    # What CI does: the example data comes from the in-repo `sample` remote, no credentials.
    run(["make", "data"], clone, env=env)
    assert (clone / "data/raw/penguins.csv").is_file()
    uv(clone, env, "dvc", "remote", "modify", "--local", "storage", "url", str(storage))
    uv(clone, env, "dvc", "pull")
    assert (clone / "data/raw/penguins.csv").read_bytes() == (
        path / "data/raw/penguins.csv"
    ).read_bytes()
    assert (clone / "models/model.joblib").is_file()
    status = uv(clone, env, "dvc", "status")
    assert "up to date" in status.stdout


def make_second_dataset(task: str, rows: int = 600, seed: int = 7) -> pd.DataFrame:
    """A dataset that is not penguins: customers with a region, a signup date and a label."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 60, rows).astype(float)
    spend = rng.gamma(2.0, 50.0, rows)
    region = rng.choice(["north", "south", "east", "west"], rows)
    plan = rng.choice(["basic", "plus", "pro"], rows, p=[0.5, 0.3, 0.2])
    score = 0.04 * tenure + 0.01 * spend + (plan == "pro") * 1.5 + rng.normal(0, 0.5, rows)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(rows)],
            "signup_date": pd.date_range("2024-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
            "region": region,
            "plan": plan,
            "tenure_months": tenure,
            "monthly_spend": spend,
        }
    )
    frame.loc[rng.choice(rows, 20, replace=False), "monthly_spend"] = np.nan
    if task == "classification":
        frame["churned"] = np.where(score > np.median(score), "yes", "no")
    else:
        frame["lifetime_value"] = score * 100.0
    return frame


def test_data_init_switches_the_task_without_other_edits(project, tmp_path: Path) -> None:
    """A dataset of the other task: its config selects that task's model, split and metrics."""
    task = {"classification": "regression", "regression": "classification"}[project[0]]
    _, path, env = project
    target = "churned" if task == "classification" else "lifetime_value"
    source = tmp_path / "customers.csv"
    make_second_dataset(task).to_csv(source, index=False)
    src_before = run(["git", "status", "--porcelain", "src"], path, env=env).stdout
    out = uv(
        path,
        env,
        DEFAULT_PACKAGE,
        "data",
        "init",
        str(source),
        "--target",
        target,
        "--task",
        task,
        "--group",
        "region",
        "--time",
        "signup_date",
    ).stdout
    assert "conf/data/customers.yaml" in out
    schema = yaml.safe_load((path / "conf" / "data" / "customers.yaml").read_text())
    assert {"/task": task} in schema["defaults"]
    assert schema["columns"]["customer_id"]["feature"] is False
    assert schema["columns"]["signup_date"]["type"] == "datetime"
    assert (path / "data" / "raw" / "customers.csv.dvc").is_file()
    uv(path, env, "dvc", "repro")
    metrics = json.loads((path / "reports" / "metrics.json").read_text())
    assert metrics["test"][FLOORS[task][0]] is not None
    slices = json.loads((path / "reports" / "slices.json").read_text())
    assert {row["column"] for row in slices} == {"region"}
    assert run(["git", "status", "--porcelain", "src"], path, env=env).stdout == src_before
    changed = run(["git", "status", "--porcelain", "conf"], path, env=env).stdout.splitlines()
    assert sorted(line[3:] for line in changed) == ["conf/config.yaml", "conf/data/customers.yaml"]
