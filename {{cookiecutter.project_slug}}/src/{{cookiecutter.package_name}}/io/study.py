"""The Optuna study of `tune`: where it is stored, and how a worker creates or joins it.

The storage is an Optuna RDB URL: a SQLite file in the project by default, or a team database
(``postgresql+psycopg://...``) that several machines share, each running `tune` as a worker on
the same study. This is the only module that opens that storage. Optuna is imported lazily.
"""

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import ConfigError, ProjectError

if TYPE_CHECKING:
    import optuna

# The study's user attribute naming the MLflow run every trial is nested under.
PARENT_RUN = "mlflow_parent_run_id"
RETRY_DELAYS = (1.0, 2.0)  # seconds before opening the storage again


class StudyStorageError(ProjectError):
    """The study storage cannot be opened or reached; no trial ran."""


def redacted(url: str) -> str:
    """``url`` with its password hidden, for messages, logs and MLflow params."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError as error:
        raise ConfigError(
            "tune.storage (or OPTUNA_STORAGE) is not a database URL, e.g. sqlite:///optuna.db "
            "or postgresql+psycopg://user@host:5432/optuna (the value is not shown: it may "
            "hold a password)"
        ) from error


def open_storage(url: str) -> "optuna.storages.RDBStorage":
    """The storage at ``url``: a SQLite file (its folder made), or a database server.

    Workers starting together on an empty database race to create Optuna's tables: the loser
    finds them made when it tries again.
    """
    from sqlalchemy.engine import make_url

    redacted(url)  # a clear error for what is no URL at all
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    for delay in RETRY_DELAYS:
        try:
            return _rdb_storage(url)
        except StudyStorageError:
            time.sleep(delay)
    return _rdb_storage(url)


def _rdb_storage(url: str) -> "optuna.storages.RDBStorage":
    import optuna
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    try:
        # pool_pre_ping: a worker that waited on a long trial reconnects instead of failing.
        return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
    except ImportError as error:
        raise ConfigError(
            f"the study storage {redacted(url)} needs the database driver "
            f"{make_url(url).get_driver_name()!r}, which is not installed: for PostgreSQL, "
            "`make setup EXTRAS=team` (psycopg)"
        ) from error
    except (SQLAlchemyError, optuna.exceptions.StorageInternalError) as error:
        raise StudyStorageError(
            f"cannot open the study storage {redacted(url)}: {error.__class__.__name__}: "
            f"{error}. Is the database up, and are the login (PGPASSWORD) and URL right?"
        ) from error


def join(
    name: str,
    storage: "optuna.storages.RDBStorage",
    direction: str,
    sampler: "optuna.samplers.BaseSampler",
    pruner: "optuna.pruners.BasePruner",
) -> tuple["optuna.Study", bool]:
    """The study ``name``, and True when this worker created it.

    Creating is atomic in the database (the name is unique): of several workers starting at
    once exactly one creates it, the others load it. A second run resumes it the same way.
    """
    import optuna

    try:
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            direction=direction,  # type: ignore[arg-type]
            sampler=sampler,
            pruner=pruner,
        )
    except optuna.exceptions.DuplicatedStudyError:
        return optuna.load_study(
            study_name=name, storage=storage, sampler=sampler, pruner=pruner
        ), False
    return study, True


def wait_for_attribute(study: "optuna.Study", key: str, timeout: float) -> str | None:
    """The study's user attribute ``key``, waiting up to ``timeout`` s for the worker that created
    the study to set it; None if it never does (that worker died before)."""
    deadline = time.monotonic() + timeout
    while True:
        value = study.user_attrs.get(key)
        if value is not None or time.monotonic() >= deadline:
            return None if value is None else str(value)
        time.sleep(0.5)


def trials_by_state(study: "optuna.Study") -> dict[str, int]:
    """How many trials the study holds, per state (COMPLETE, PRUNED, FAIL, RUNNING)."""
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def best(study: "optuna.Study") -> "optuna.trial.FrozenTrial | None":
    """The best completed trial of every worker so far, or None before the first completes."""
    try:
        return study.best_trial
    except ValueError:  # Optuna's "no trials are completed yet"
        return None
