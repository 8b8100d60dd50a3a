"""io.params: composing conf/ with Hydra and keeping params.yaml in step with it."""

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from {{ cookiecutter.package_name }}.core.config import Config, differences
from {{ cookiecutter.package_name }}.core.errors import ConfigError
from {{ cookiecutter.package_name }}.io import params


def test_compose_applies_overrides(project_root: Path) -> None:
    assert params.load(["seed=7"]).seed == 7


def test_compose_rejects_an_unknown_option(project_root: Path) -> None:
    with pytest.raises(ConfigError, match="cannot compose conf/"):
        params.compose(["model=no_such_model"])


def test_compose_outside_the_project_root_says_where_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="project root"):
        params.compose()


def test_params_yaml_equals_composed_conf(project_root: Path, composed: dict[str, Any]) -> None:
    """params.yaml never silently disagrees with conf/: run `make params` if this fails."""
    found = params.read_params()
    assert differences(composed, found) == []
    assert found == composed


def test_load_params_accepts_the_committed_params(
    project_root: Path, project_config: Config
) -> None:
    assert params.load_params() == project_config


@pytest.fixture
def drifted_project(
    project_root: Path, composed: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of conf/ whose params.yaml changed the seed, as `dvc exp run -S seed=...` does."""
    shutil.copytree(project_root / "conf", tmp_path / "conf")
    drifted = copy.deepcopy(composed)
    drifted["seed"] += 1
    (tmp_path / "params.yaml").write_text(params.dump_params(drifted))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_load_params_refuses_params_that_differ_from_conf(drifted_project: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not match conf/ \(differs at: seed\)"):
        params.load_params()


def test_load_params_accepts_params_composed_by_dvc_exp_run(
    drifted_project: Path,
    composed: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DVC_EXP_NAME", "exp-1")
    loaded = params.load_params()
    assert loaded.seed == composed["seed"] + 1
    assert "seed" in capsys.readouterr().out


def test_read_params_explains_a_missing_or_broken_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="make params"):
        params.read_params()
    Path("params.yaml").write_text(yaml.safe_dump(["not", "a", "mapping"]))
    with pytest.raises(ConfigError, match="not a mapping"):
        params.read_params()
