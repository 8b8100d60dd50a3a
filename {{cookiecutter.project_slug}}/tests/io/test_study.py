"""The study storage of `tune`: opened or created, joined by several workers, errors that say
which database and never its password."""

from pathlib import Path

import optuna
import pytest

from {{ cookiecutter.package_name }}.core.errors import ConfigError, ProjectError
from {{ cookiecutter.package_name }}.io import study as studies


def test_a_password_never_shows(tmp_path: Path) -> None:
    url = "postgresql+psycopg://tuner:s3cret@127.0.0.1:1/optuna"
    assert studies.redacted(url) == "postgresql+psycopg://tuner:***@127.0.0.1:1/optuna"
    with pytest.raises(ProjectError) as raised:  # no driver, or no server: either way, clear
        studies.open_storage(url)
    assert "s3cret" not in str(raised.value) and "127.0.0.1:1/optuna" in str(raised.value)


def test_a_storage_that_is_no_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="is not a database URL"):
        studies.redacted("optuna.db")


def test_the_first_worker_creates_the_study_and_the_next_join_it(tmp_path: Path) -> None:
    storage = studies.open_storage(f"sqlite:///{tmp_path / 'folder' / 'optuna.db'}")

    def join() -> tuple[optuna.Study, bool]:
        sampler, pruner = optuna.samplers.RandomSampler(), optuna.pruners.NopPruner()
        return studies.join("s", storage, "maximize", sampler, pruner)

    first, created = join()
    assert created and studies.best(first) is None
    first.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    second, created_again = join()
    assert not created_again
    assert studies.trials_by_state(second) == {"COMPLETE": 2}
    best = studies.best(second)
    assert best is not None and best.value == max(t.value for t in first.trials)  # type: ignore[type-var]


def test_a_joining_worker_waits_for_the_creators_attribute(tmp_path: Path) -> None:
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert studies.wait_for_attribute(study, studies.PARENT_RUN, timeout=0.1) is None
    study.set_user_attr(studies.PARENT_RUN, "run-1")
    assert studies.wait_for_attribute(study, studies.PARENT_RUN, timeout=0.1) == "run-1"
