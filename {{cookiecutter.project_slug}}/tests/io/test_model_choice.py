"""A model choice written into conf/: three files change together, or none does."""

from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.core.errors import ConfigError
from {{ cookiecutter.package_name }}.io import model_choice, params

TUNED = """\
name: tuned
_target_:
  classification: sklearn.ensemble.RandomForestClassifier
  regression: sklearn.ensemble.RandomForestRegressor
n_estimators: 7
"""


def snapshot() -> dict[Path, str | None]:
    files = (model_choice.MODEL_DIR / "tuned.yaml", model_choice.CONFIG_FILE, params.PARAMS_FILE)
    return {path: path.read_text() if path.is_file() else None for path in files}


def test_the_model_files_are_listed_by_name(workspace: Path) -> None:
    names = model_choice.model_names()
    assert {"random_forest", "hist_gradient_boosting"} <= set(names)
    assert names == sorted(names)


def test_a_choice_is_written_selected_and_composed(workspace: Path) -> None:
    written = model_choice.write_model_choice("tuned", lambda: TUNED)

    assert (model_choice.MODEL_DIR / "tuned.yaml").read_text() == TUNED
    assert set(written) == set(snapshot())
    composed = yaml.safe_load(params.PARAMS_FILE.read_text())
    assert composed["model"]["n_estimators"] == 7
    assert params.load().model.name == "tuned"  # params.yaml matches conf/ again


def test_a_failed_write_back_leaves_every_file_as_it_was(workspace: Path) -> None:
    before = snapshot()

    def fails() -> str:
        raise RuntimeError("the study went away")

    with pytest.raises(RuntimeError):
        model_choice.write_model_choice("tuned", fails)
    assert snapshot() == before
    with pytest.raises(ConfigError):  # conf/ that no longer composes into a valid config
        model_choice.write_model_choice("tuned", lambda: "name: tuned\n_target_: {}\n")
    assert snapshot() == before
    assert not model_choice.WRITE_LOCK.exists()
