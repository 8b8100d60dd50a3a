"""paths and dvc.yaml: the code writes exactly where DVC expects, and reads what DVC tracks."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from {{ cookiecutter.package_name }}.io import paths

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["validate", "split", "train", "evaluate"]

# What each stage reads (data deps, not code) and writes (outs, metrics and plots), per paths.py.
READS = {
    "validate": {paths.PRODUCTION_DIR},
    "split": {paths.VALIDATED},
    "train": {paths.TRAIN, paths.VALID},
    "evaluate": {paths.MODEL, paths.TRAIN_RUN, paths.TRAIN, paths.TEST, paths.REFERENCE},
}
WRITES = {
    "validate": {paths.VALIDATED, paths.VALIDATION_REPORT},
    "split": {paths.TRAIN, paths.VALID, paths.TEST, paths.REFERENCE},
    "train": {paths.MODEL, paths.TRAIN_RUN, paths.TRAIN_METRICS},
    "evaluate": {
        paths.SCORED_REFERENCE,
        paths.SLICES,
        paths.FAIRNESS,
        paths.PLOTS_DIR,
        paths.METRICS,
    },
}


@pytest.fixture(scope="module")
def dvc() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def entries(stage: dict[str, Any], *kinds: str) -> set[Path]:
    """Paths of a stage's entries: plain strings or one-key mappings with options."""
    found = set()
    for kind in kinds:
        for entry in stage.get(kind, []):
            found.add(Path(entry if isinstance(entry, str) else next(iter(entry))))
    return found


def data_deps(stage: dict[str, Any]) -> set[Path]:
    """Deps other than source code and the raw file named by params (``${data.path}``)."""
    return {
        path
        for path in entries(stage, "deps")
        if path.parts[0] != "src" and not str(path).startswith("${")
    }


def test_stages_in_pipeline_order(dvc: dict[str, Any]) -> None:
    assert [name for name in dvc["stages"] if name in STAGES] == STAGES


def test_every_stage_output_is_named_in_paths_module(dvc: dict[str, Any]) -> None:
    """Later stages too: code and dvc.yaml share one spelling of every path."""
    declared = {value for value in vars(paths).values() if isinstance(value, Path)}
    for name, stage in dvc["stages"].items():
        assert entries(stage, "outs", "metrics", "plots") <= declared, name


@pytest.mark.parametrize("name", STAGES)
def test_stage_outputs_are_the_paths_module(dvc: dict[str, Any], name: str) -> None:
    assert entries(dvc["stages"][name], "outs", "metrics", "plots") == WRITES[name]


@pytest.mark.parametrize("name", STAGES)
def test_stage_data_deps_are_the_paths_module(dvc: dict[str, Any], name: str) -> None:
    assert data_deps(dvc["stages"][name]) == READS[name]


@pytest.mark.parametrize("name", STAGES)
def test_stage_code_deps_exist(dvc: dict[str, Any], name: str) -> None:
    code = [path for path in entries(dvc["stages"][name], "deps") if path.parts[0] == "src"]
    assert code, f"stage {name} declares no source file"
    assert all((ROOT / path).is_file() for path in code)


@pytest.mark.parametrize("name", STAGES)
def test_stage_runs_its_cli_command(dvc: dict[str, Any], name: str) -> None:
    assert dvc["stages"][name]["cmd"].split()[1:] == [name]


def test_raw_data_dep_comes_from_params(dvc: dict[str, Any]) -> None:
    assert "${data.path}" in dvc["stages"]["validate"]["deps"]


@pytest.mark.parametrize("name", STAGES)
def test_stage_params_exist_in_params_yaml(dvc: dict[str, Any], name: str) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for key in dvc["stages"][name]["params"]:
        node = params
        for part in key.split("."):
            assert isinstance(node, dict), f"{name}: params key {key} does not exist"
            assert part in node, f"{name}: params key {key} does not exist"
            node = node[part]


def test_no_path_is_written_by_two_stages(dvc: dict[str, Any]) -> None:
    written = [
        path
        for stage in dvc["stages"].values()
        for path in entries(stage, "outs", "metrics", "plots")
    ]
    assert len(written) == len(set(written))


def test_plots_are_inside_the_evaluate_plots_dir(dvc: dict[str, Any]) -> None:
    plots = entries(dvc, "plots")
    assert {paths.PREDICTIONS_PLOT, paths.IMPORTANCE_PLOT} <= plots
    assert all(paths.PLOTS_DIR in path.parents for path in plots)
