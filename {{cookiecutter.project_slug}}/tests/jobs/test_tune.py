"""`tune` for real, in process, on a slice of the project's data: a tiny study picks a model,
writes it back into conf/, the train stage trains exactly that; a second run resumes the study;
a study with no completed trial writes nothing."""

from pathlib import Path

import joblib
import optuna
import pytest
import yaml
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.core import tuning
from {{ cookiecutter.package_name }}.core.config import Config
from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.io import params, paths
from {{ cookiecutter.package_name }}.io.study import PARENT_RUN
from {{ cookiecutter.package_name }}.jobs import split, train, tune, validate

ENSEMBLE_SIZE = {"random_forest": "n_estimators", "hist_gradient_boosting": "max_iter"}
TINY = [  # a tiny budget and small ensembles: what costs time and proves nothing here
    "tune.n_trials=3",
    "tune.cv_folds=2",
    "tune.startup_trials=2",
    *(
        f"tune.spaces.{model}.{key}.{bound}"
        for model, key in ENSEMBLE_SIZE.items()
        for bound in ("low=10", "high=30")
    ),
]
TUNED_FILE = Path("conf/model/tuned.yaml")


def prepared(overrides: list[str]) -> Config:
    config = params.load(overrides)
    validate.run(config)
    split.run(config)
    return config


def trial_runs(config: Config, parent: str) -> list[int]:
    """The trial numbers of the MLflow runs nested under the study's run ``parent``."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name(config.mlflow.experiment_name)
    assert experiment is not None
    runs = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'"
    )
    return sorted(int(run.data.tags["optuna.trial"]) for run in runs)


def test_a_tiny_study_is_written_back_trained_and_resumed(workspace: Path) -> None:
    config = prepared(TINY)
    result = tune.run(config, TINY)

    study = optuna.load_study(study_name=result.study_name, storage=config.tune.storage)
    model, hyperparameters = tuning.hyperparameters_of(study.best_trial.params)
    assert (result.model, result.value) == (model, study.best_value)
    written = yaml.safe_load(TUNED_FILE.read_text())
    assert written["name"] == tuning.TUNED
    assert {key: written[key] for key in hyperparameters} == hyperparameters

    selected = params.load()  # params.yaml was recomposed: it matches conf/ and selects it
    assert selected.model.name == tuning.TUNED
    train.run(selected, persist=True)
    estimator = joblib.load(paths.MODEL).named_steps["model"]
    assert (
        f"{type(estimator).__module__.split('._')[0]}.{type(estimator).__name__}"
        == (written["_target_"])
    )
    assert {key: estimator.get_params()[key] for key in hyperparameters} == hyperparameters

    parent = study.user_attrs[PARENT_RUN]
    assert trial_runs(config, parent) == [0, 1, 2]

    again = tune.run(params.load(TINY), TINY)
    assert again.study_name == result.study_name
    assert sum(again.trials.values()) == 6
    assert trial_runs(config, parent) == list(range(6))  # the same study run, resumed


def test_a_study_without_a_completed_trial_writes_nothing(workspace: Path) -> None:
    task = params.load().data.task
    model, name = ("logistic_regression", "C") if task == "classification" else ("ridge", "alpha")
    space = f"tune.spaces.{model}.{name}"
    invalid = [  # a negative regularisation: every trial fails
        *TINY,
        f"tune.models=[{model}]",
        *(f"{space}.{key}" for key in ("log=false", "low=-2.0", "high=-1.0")),
    ]
    config = prepared(invalid)
    before = {path: path.read_text() for path in (Path("conf/config.yaml"), params.PARAMS_FILE)}

    with pytest.raises(ProjectError, match=r"completed .*'FAIL': 3.*nothing written"):
        tune.run(config, invalid)
    assert not TUNED_FILE.exists()
    assert {path: path.read_text() for path in before} == before
