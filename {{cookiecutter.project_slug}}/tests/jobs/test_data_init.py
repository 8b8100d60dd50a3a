"""data init: a dataset of either task becomes the pipeline's, with no other edit of conf/."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.core.errors import ConfigError, ProjectError
from {{ cookiecutter.package_name }}.core.task import Task
from {{ cookiecutter.package_name }}.io import params
from {{ cookiecutter.package_name }}.jobs import data_init

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TARGETS: dict[Task, str] = {"classification": "churned", "regression": "lifetime_value"}


@pytest.fixture
def conf_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root holding a copy of this project's conf/ (no DVC: nothing gets tracked)."""
    shutil.copytree(PROJECT_ROOT / params.CONF_DIR, tmp_path / params.CONF_DIR)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    return tmp_path


def customers(path: Path, rows: int = 60, seed: int = 0) -> Path:
    """A dataset that is not penguins, with a target for each task."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 60, rows).astype(float)
    frame = pd.DataFrame(
        {
            "region": rng.choice(["north", "south"], rows),
            "tenure_months": tenure,
            "churned": np.where(tenure > 30, "yes", "no"),
            "lifetime_value": tenure * 12.5,
        }
    )
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("first", "then"), [("classification", "regression"), ("regression", "classification")]
)
def test_data_init_switches_the_task(conf_copy: Path, first: Task, then: Task) -> None:
    for number, task in enumerate([first, then]):
        source = customers(conf_copy / f"customers_{number}.csv")
        written = data_init.run(
            source, target=TARGETS[task], name=None, task=task, group=None, time=None
        )
        config = params.load_params()  # params.yaml, recomposed and checked against conf/
        assert (config.data.name, config.data.task) == (f"customers_{number}", task)
        task_defaults = yaml.safe_load((conf_copy / "conf" / "task" / f"{task}.yaml").read_text())
        assert {"/model": config.model.name} in task_defaults["defaults"]
        assert config.release.primary_metric == task_defaults["release"]["primary_metric"]
        assert (
            config.monitor.performance.metric == task_defaults["monitor"]["performance"]["metric"]
        )
        assert {"/task": task} in yaml.safe_load(written.read_text())["defaults"]
    assert (conf_copy / "data" / "raw" / "customers_1.csv").is_file()


def test_a_text_target_cannot_be_a_regression_target(conf_copy: Path) -> None:
    source = customers(conf_copy / "customers.csv")
    with pytest.raises(ProjectError, match="'churned' holds boolean values"):
        data_init.run(source, target="churned", name=None, task="regression", group=None, time=None)
    assert not (conf_copy / "conf" / "data" / "customers.yaml").exists()


def test_a_dataset_whose_config_is_invalid_is_not_selected(conf_copy: Path) -> None:
    """The whole config is checked with the new dataset before conf/config.yaml selects it."""
    task_file = conf_copy / "conf" / "task" / "regression.yaml"
    task_file.write_text(
        task_file.read_text().replace("primary_metric: rmse", "primary_metric: accuracy")
    )
    before = (conf_copy / "conf" / "config.yaml").read_text()
    source = customers(conf_copy / "customers.csv")
    with pytest.raises(ConfigError, match=r"primary_metric='accuracy' is not a regression"):
        data_init.run(
            source, target="lifetime_value", name=None, task="regression", group=None, time=None
        )
    assert (conf_copy / "conf" / "config.yaml").read_text() == before


def test_personal_data_and_sensitive_attributes_are_proposed_for_review(
    conf_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dataset with e-mail and phone columns: both flagged, kept out of the features; the
    sensitive attribute is proposed in a comment and printed, never filled in."""
    source = conf_copy / "members.csv"
    frame = pd.read_csv(customers(conf_copy / "base.csv"))
    frame["contact"] = [f"member{i}@example.com" for i in range(len(frame))]
    frame["phone"] = [f"+44 20 7946 {i:04d}" for i in range(len(frame))]
    frame["gender"] = np.where(np.arange(len(frame)) % 2, "female", "male")
    frame.to_csv(source, index=False)

    written = data_init.run(source, target="churned", name=None, task=None, group=None, time=None)

    text = written.read_text()
    columns = yaml.safe_load(text)["columns"]
    for name in ("contact", "phone"):
        assert (columns[name]["pii"], columns[name]["feature"]) == (True, False)
    comments = text.replace("\n  # ", " ").replace("\n# ", " ")  # wrapped comments as one line
    assert "'contact' looks like e-mail (100% of sampled values match)" in comments
    assert "e.g. sensitive_columns: [gender]\nsensitive_columns: []" in comments
    config = params.load_params()
    assert config.data.sensitive_columns == []
    assert {"contact", "phone"}.isdisjoint(config.data.feature_columns)
    printed = capsys.readouterr().out
    assert "review: personal data: 'phone' looks like phone" in printed
    assert "review: sensitive attributes proposed, not applied: gender" in printed
