"""`tune`: model selection. Search conf/model/'s models and their hyperparameters with Optuna,
track every trial in MLflow, and write the best configuration back into conf/.

One run is one worker of a study: with a shared ``tune.storage`` (or ``OPTUNA_STORAGE``) several
machines run `tune` on the same study, and a second run resumes it. Each trial is an MLflow run
nested under the study's run. The result is conf/model/tuned.yaml, selected in conf/config.yaml
and composed into params.yaml: review it in git; `make pipeline` trains it.
"""

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..core import tuning
from ..core.config import Config, ParamSpace
from ..core.errors import ConfigError, ProjectError
from ..core.metrics import Metric, metric_for
from ..io import lineage, paths, tracking
from ..io import study as studies
from ..io.files import read_table
from ..io.model_choice import model_names, write_model_choice
from ..io.params import load

if TYPE_CHECKING:
    import optuna

WORKER = f"{socket.gethostname()}:{os.getpid()}"
PARENT_WAIT_SECONDS = 60.0  # how long a joining worker waits for the creator to open the run
PRUNER_STARTUP_TRIALS = 5  # finished trials before the pruner judges any


@dataclass(frozen=True)
class TuneResult:
    study_name: str
    model: str  # the best trial's model file
    value: float  # its score, in the metric's unit
    trials: dict[str, int]  # the whole study's trials, per state
    written: list[Path]


def candidates(config: Config, overrides: list[str]) -> dict[str, Config]:
    """The config of each model to try, by model file name: ``tune.models``, or every file of
    conf/model/ (but the tuned one) with an estimator for the task."""
    available = [name for name in model_names() if name != tuning.TUNED]
    wanted = config.tune.models
    for name in [*(wanted or []), *config.tune.spaces]:
        if name not in available:
            raise ConfigError(
                f"tune names model {name!r}, but there is no conf/model/{name}.yaml; "
                f"there are: {', '.join(available)}"
            )
    chosen: dict[str, Config] = {}
    for name in wanted or available:
        candidate = load([*overrides, f"model={name}"])
        reason = tuning.misfit(candidate.model, config.data.task)
        if reason is None:
            chosen[name] = candidate
        elif wanted:
            raise ConfigError(f"tune.models: {reason}")
        else:
            print(f"not tried: {reason}")
    if not chosen:
        raise ConfigError(f"no model of conf/model/ fits the task {config.data.task}")
    tuning.check_spaces(config.tune.spaces, chosen)
    return chosen


def scoring_data(config: Config) -> tuple[pd.DataFrame, tuning.Splits, str]:
    """The rows trials are scored on, their folds, and a hash of the files they come from."""
    needed = [paths.TRAIN] if config.tune.cv_folds else [paths.TRAIN, paths.VALID]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        raise ProjectError(f"{', '.join(missing)} not found: run `dvc repro split` first.")
    data_md5 = "".join(lineage.file_md5(path) for path in needed)
    train = read_table(paths.TRAIN)
    if config.tune.cv_folds:
        return train, tuning.folds(config, train, config.tune.cv_folds), data_md5
    frame, splits = tuning.validation_fold(train, read_table(paths.VALID))
    return frame, splits, data_md5


def describe_scoring(config: Config) -> str:
    folds = config.tune.cv_folds
    return f"{folds}-fold cross-validation of the training split" if folds else "validation split"


@contextmanager
def study_run(config: Config, study: "optuna.Study", created: bool) -> Iterator[str]:
    """The study's MLflow run, open for this worker: made by the worker that created the study,
    resumed by the others (and by later runs), so all trials of a study nest under one run."""
    parent = None
    if not created:
        parent = studies.wait_for_attribute(study, studies.PARENT_RUN, PARENT_WAIT_SECONDS)
    if parent is not None:
        with tracking.resume_run(config.mlflow, parent):
            yield parent
        return
    storage = studies.redacted(config.tune.effective_storage)
    params = {"tune": config.tune.model_dump(exclude={"storage"}), "study": study.study_name}
    tags = {"optuna.study": study.study_name, "optuna.storage": storage, **lineage.git_state()}
    with tracking.start_run(config.mlflow, f"tune {study.study_name}", params, tags) as run_id:
        study.set_user_attr(studies.PARENT_RUN, run_id)
        yield run_id


def trial_objective(
    study_name: str,
    chosen: dict[str, Config],
    data: tuple[pd.DataFrame, tuning.Splits],
    metric: Metric,
    spaces: dict[str, dict[str, ParamSpace]],
) -> "Callable[[optuna.Trial], float]":
    """The function Optuna calls per trial: draw, score fold by fold (prunable), track."""
    import optuna

    frame, splits = data

    def judged(trial: optuna.Trial, fold: int, value: float) -> bool:
        trial.report(value, fold)
        return trial.should_prune()

    def objective(trial: optuna.Trial) -> float:
        model, hyperparameters = tuning.sample(trial, list(chosen), spaces)
        candidate = tuning.with_hyperparameters(chosen[model], hyperparameters)
        tags = {
            "optuna.study": study_name,
            "optuna.trial": str(trial.number),
            "tune.worker": WORKER,
            "model.name": model,
        }
        params = {"model": model, **hyperparameters}
        with tracking.nested_run(f"trial {trial.number}: {model}", params, tags) as run_id:
            trial.set_user_attr("mlflow_run_id", run_id)
            evaluation = tuning.evaluate(
                candidate, frame, splits, metric, lambda fold, value: judged(trial, fold, value)
            )
            tracking.log_metrics({metric.name: evaluation.mean}, "score")
            tracking.set_tags({"optuna.state": "PRUNED" if evaluation.stopped else "COMPLETE"})
        if evaluation.stopped:
            raise optuna.TrialPruned(f"after {len(evaluation.scores)} folds")
        return evaluation.mean

    return objective


def progress(metric: Metric) -> "Callable[[optuna.Study, optuna.trial.FrozenTrial], None]":
    """One line per finished trial: its model, score, and the study's best so far."""

    def show(study: "optuna.Study", trial: "optuna.trial.FrozenTrial") -> None:
        model = trial.params.get(tuning.MODEL_PARAM, "?")
        if trial.state.name == "PRUNED":
            value = f" after {len(trial.intermediate_values)} folds"
        else:
            value = "" if trial.value is None else f" {metric.name}={trial.value:.4f}"
        best = studies.best(study)
        shown = "" if best is None else f" (best {best.value:.4f}, trial {best.number})"
        print(f"trial {trial.number} {trial.state.name.lower()}: {model}{value}{shown}")

    return show


def best_or_error(study: "optuna.Study") -> tuple["optuna.trial.FrozenTrial", float]:
    """The study's best completed trial and its score; an error (nothing written) if none."""
    best = studies.best(study)
    if best is None or best.value is None:
        counts = studies.trials_by_state(study)
        raise ProjectError(
            f"no trial of study {study.study_name} completed ({counts}): nothing written. "
            "Raise tune.n_trials or tune.timeout_seconds, or see the failed runs in MLflow."
        )
    return best, best.value


def tuned_text(
    study: "optuna.Study", chosen: dict[str, Config], metric: Metric, config: Config
) -> str:
    """conf/model/tuned.yaml from the study's best trial so far (all workers' trials)."""
    best, value = best_or_error(study)
    model, hyperparameters = tuning.hyperparameters_of(best.params)
    finished = sum(studies.trials_by_state(study).get(state, 0) for state in ("COMPLETE", "PRUNED"))
    comment = [
        f"Written by `tune` (conf/tune/): the best of {finished} finished trials of study",
        f"{study.study_name} ({studies.redacted(config.tune.effective_storage)}): trial "
        f"{best.number}, model={model},",
        f"{metric.name} {value:.4f} by {describe_scoring(config)}.",
        "conf/config.yaml selects it (`override /model: tuned`); `make pipeline` trains it.",
    ]
    return tuning.render(tuning.tuned_model(chosen[model], hyperparameters), comment)


def run(config: Config, overrides: list[str] | None = None) -> TuneResult:
    """Add ``tune.n_trials`` trials (or ``tune.timeout_seconds`` of them) to the study, then
    write its best configuration back; a study that fails or completes no trial writes nothing."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is ours
    tune = config.tune
    frame, splits, data_md5 = scoring_data(config)
    chosen = candidates(config, overrides or [])
    metric = metric_for(config.data.task, config.tune_metric, "tune.metric")
    name = f"{tune.study_name or config.data.name}-{tuning.study_key(config, chosen, data_md5)}"
    storage = studies.open_storage(tune.effective_storage)
    # Unseeded: workers, and a resumed run, must not redraw each other's random first trials.
    sampler = optuna.samplers.TPESampler(n_startup_trials=tune.startup_trials)
    pruner: optuna.pruners.BasePruner = (
        optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS)
        if tune.prune
        else optuna.pruners.NopPruner()
    )
    direction = "maximize" if metric.greater_is_better else "minimize"
    study, created = studies.join(name, storage, direction, sampler, pruner)
    before = sum(studies.trials_by_state(study).values())
    print(
        f"study {name} in {studies.redacted(tune.effective_storage)}: "
        f"{'new' if created else f'resumed with {before} trials'}; models {', '.join(chosen)}; "
        f"{direction} {metric.name} by {describe_scoring(config)}"
    )
    objective = trial_objective(name, chosen, (frame, splits), metric, dict(tune.spaces))
    with study_run(config, study, created):
        study.optimize(
            objective,
            n_trials=tune.n_trials,
            timeout=tune.timeout_seconds,
            catch=(ValueError,),  # an invalid combination fails its trial, not the study
            callbacks=[progress(metric)],
        )
        best = studies.best(study)
        if best is not None and best.value is not None:
            tracking.log_metrics({metric.name: best.value}, "best")
            tracking.set_tags({"tune.best_trial": str(best.number)})
    written = write_model_choice(tuning.TUNED, lambda: tuned_text(study, chosen, metric, config))
    final, value = best_or_error(study)
    trials = studies.trials_by_state(study)
    model = str(final.params[tuning.MODEL_PARAM])
    print(
        f"best: trial {final.number}, model={model}, {metric.name} {value:.4f} "
        f"({trials}); wrote {', '.join(map(str, written))}. Next: `make pipeline`."
    )
    return TuneResult(name, model, value, trials, written)
