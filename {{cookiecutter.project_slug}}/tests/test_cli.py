"""Every command as a user runs it, through `main()`: its exit code and what it says.

The error paths run in a fresh copy of the project (no pipeline outputs, an empty registry);
the rest in one copy where the CLI has run the pipeline and the release, once per module.
A test checks that every command of the app appears in one of the two tables below.
"""

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.core.privacy import KEY_VARIABLE
from {{ cookiecutter.package_name }}.io import params, paths
from {{ cookiecutter.package_name }}.io.files import read_table, write_table

WorkspaceAt = Callable[[Path], AbstractContextManager[Path]]  # the conftest fixture


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def invoke(*args: str) -> Result:
    """Run the console script with ``args``; its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["{{ cookiecutter.package_name }}", *args]
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        patch.setattr(sys, "argv", argv)
        patch.setenv("COLUMNS", "200")  # usage errors are boxed to the terminal width
        try:
            main()
        except SystemExit as exited:
            code = exited.code if isinstance(exited.code, int) else int(exited.code is not None)
        else:
            code = 0
    return Result(code, out.getvalue(), err.getvalue())


# --- Error paths, each in a fresh copy of the project (the `workspace` fixture).


def drift_params() -> None:
    """params.yaml no longer what conf/ composes to: the seed was edited by hand."""
    document = yaml.safe_load(params.PARAMS_FILE.read_text())
    document["seed"] += 1
    params.PARAMS_FILE.write_text(params.dump_params(document))


def drop_target_column() -> None:
    config = params.load_params()
    raw = Path(config.data.path)
    write_table(read_table(raw).drop(columns=[config.data.target]), raw)


def occupy_build_dir() -> None:
    Path("build/model").mkdir(parents=True)
    Path("build/model/keep.txt").write_text("not a bundle\n")


def write_bad_labels() -> None:
    pd.DataFrame({"request_id": ["r1"], "label": ["no such label"]}).to_csv("labels.csv")


def unset_pii_key() -> None:
    os.environ.pop(KEY_VARIABLE, None)  # erasure finds an entity by its keyed hash


Prepare = Callable[[], None] | None
ERRORS: list[tuple[str, Prepare, int, str]] = [
    ("params --check", drift_params, 2, "params.yaml does not match conf/ (differs at: seed)"),
    ("validate", drop_target_column, 1, "Data validation failed for"),
    ("split", None, 1, f"{paths.VALIDATED}: file not found."),
    ("train", None, 1, f"{paths.TRAIN}: file not found."),
    ("train no_such_group=x", None, 2, "cannot compose conf/"),
    ("tune", None, 1, f"{paths.TRAIN} not found: run `dvc repro split` first."),
    ("evaluate", None, 1, f"{paths.TRAIN_RUN}: not found; run the stage that writes it first"),
    ("register", None, 1, f"{paths.TRAIN_RUN}: not found; run the stage that writes it first"),
    ("release", None, 1, f"{paths.TRAIN_RUN}: not found; run the stage that writes it first"),
    ("gate", None, 1, "version of {model}: run `register` first."),
    ("promote --version 1 --reason ok", None, 1, "confirm with --approve."),
    ("promote --approve --reason ok", None, 1, "name the version to promote"),
    ("rollback", None, 1, "nothing to roll back to"),
    ("lineage models:/elsewhere@champion", None, 1, "expected models:/{model}@<alias>"),
    ("export --to build/model", occupy_build_dir, 1, "is not empty: choose another directory"),
{%- if cookiecutter.include_api == 'yes' %}
    ("serve serve=no_such_mode", None, 2, "cannot compose conf/"),
{%- endif %}
    ("predict --input in.csv --output out.csv --model conf", None, 1, "conf is not a model bundle"),
    ("predict --input in.csv --output out.csv --master local[2]", None, 1, "--master only applies"),
    ("data init no_such.csv --target x", None, 1, "no_such.csv: file not found."),
    ("data init data/raw/x.csv --target x --task ranking", None, 1, "--task must be"),
    ("monitor --current no_such.csv", None, 1, "no_such.csv: file not found."),
    ("feedback import labels.csv", write_bad_labels, 1, "nothing was imported"),
    ("feedback export-review --to review.json --format xml", None, 1, "--format must be"),
    ("feedback forget --entity-id e1", unset_pii_key, 2, f"{KEY_VARIABLE} is not set"),
]


@pytest.mark.parametrize(
    ("command", "prepare", "code", "message"), ERRORS, ids=[row[0] for row in ERRORS]
)
def test_an_error_is_one_message_and_an_exit_code(
    workspace: Path, command: str, prepare: Prepare, code: int, message: str
) -> None:
    model = params.load_params().mlflow.registered_model_name
    if prepare is not None:
        prepare()

    result = invoke(*command.split())

    errors = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert (result.code, result.out, len(errors)) == (code, "", 1), result
    assert message.format(model=model) in errors[0]


def test_params_composes_conf_into_params_yaml(workspace: Path) -> None:
    params.PARAMS_FILE.unlink()
    assert "run `make params`" in invoke("params", "--check").err

    assert invoke("params").out == "params.yaml updated from conf/\n"
    assert invoke("params").out == "params.yaml already matches conf/\n"
    assert invoke("params", "--check") == Result(0, "params.yaml matches conf/\n", "")


def test_a_usage_error_names_the_option() -> None:
    result = invoke("predict", "--output", "out.csv")

    assert result.code == 2
    assert "--input" in result.err


# --- The pipeline and the release through the CLI, once; then every other command on it.

STAGES = ["validate", "split", "train", "evaluate", "register", "gate"]


@dataclass(frozen=True)
class Released:
    root: Path
    stages: dict[str, Result]
    model: str


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory, workspace_at: WorkspaceAt) -> Released:
    """A copy of the project where the CLI ran every stage, `register` and `gate`."""
    with workspace_at(tmp_path_factory.mktemp("released")) as root:
        stages = {stage: invoke(stage) for stage in STAGES}
        model = params.load_params().mlflow.registered_model_name
    return Released(root, stages, model)


@pytest.fixture
def in_released(released: Released, workspace_at: WorkspaceAt) -> Iterator[Released]:
    with workspace_at(released.root):
        yield released


def test_the_stages_and_the_release_run_from_the_cli(in_released: Released) -> None:
    failed = {stage: result for stage, result in in_released.stages.items() if result.code}
    assert not failed, failed
    assert "promoted version 1 to 'champion'" in in_released.stages["gate"].out
    assert "inference: onnx, batch: " in in_released.stages["register"].out  # compiled once


AFTER_RELEASE: list[tuple[str, int, str]] = [
    ("history", 0, "status=champion"),
    ("lineage models:/{model}@champion", 0, "lineage of models:/{model}@champion"),
    ("export --to build/model", 0, "exported {model} version 1 ('champion') to build/model"),
    (f"predict --input {paths.TEST} --output build/scored.csv", 0, ""),
    (f"monitor --current {paths.REFERENCE}", 0, ""),  # the training sample, against itself
    ("gate", 1, "already the champion: nothing to gate"),
    ("promote --version 1 --approve --reason again", 1, "already the champion"),
    ("rollback", 1, "nothing to roll back to"),
    ("retrain --dry-run", 0, "would not retrain"),
    ("train seed=1", 0, "models/ was left untouched"),
]


@pytest.mark.parametrize(
    ("command", "code", "message"), AFTER_RELEASE, ids=[row[0] for row in AFTER_RELEASE]
)
def test_a_command_on_a_released_model(
    in_released: Released, command: str, code: int, message: str
) -> None:
    result = invoke(*command.format(model=in_released.model).split())

    assert result.code == code, result
    assert message.format(model=in_released.model) in result.out + result.err


def test_monitor_exits_with_its_status(in_released: Released) -> None:
    """0 ok, 4 degraded, 5 not enough data: what a scheduler acts on (3 is drift)."""
    config = params.load_params()
    reference = read_table(paths.REFERENCE)
    bounded = [name for name in config.data.feature_columns if config.data.columns[name].max]
    assert bounded, "the test needs a numeric feature with a `max` in conf/data"
    above = config.data.columns[bounded[0]].max + 1  # type: ignore[operator]
    windows = {
        0: reference,
        4: reference.assign(**{bounded[0]: above}),  # every value out of range: data quality
        5: reference.head(config.monitor.min_window_rows - 1),
    }
    for status, window in windows.items():
        path = Path(f"build/window_{status}.parquet")
        write_table(window, path)
        result = invoke("monitor", "--current", str(path))
        assert result.code == status, result


def test_every_command_is_tested_here(cli_commands: dict[str, object]) -> None:
    tested = {command for command, *_ in [*ERRORS, *AFTER_RELEASE]} | set(STAGES)
    untested = {
        name
        for name in cli_commands
        if not any(run == name or run.startswith(f"{name} ") for run in tested)
    }
    assert not untested, f"add an error path (ERRORS) or a run (AFTER_RELEASE) for {untested}"
