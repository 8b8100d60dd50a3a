"""Model selection, the pure part: what a trial draws, what it is scored on, what is written back.

A trial picks one model file of conf/model/ (``model``) and draws that model's hyperparameters
from ``tune.spaces`` (named ``<model>.<hyperparameter>``, so two models never share a range).
It is scored on the folds of the training split, or on the validation split, with the metric of
the registry; its running mean after each fold is what a pruner judges. Optuna, MLflow and the
files are `jobs/tune.py`'s; a trial here is anything with Optuna's ``suggest_*`` methods.
"""

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
import yaml
from sklearn.base import is_classifier, is_regressor
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, TimeSeriesSplit

from .config import CategoricalSpace, Config, FloatSpace, ModelConfig, ParamSpace
from .errors import ConfigError
from .metrics import Metric, outcome_of
from .models import build_estimator, build_pipeline, estimator_class, features_and_target
from .task import Task

MODEL_PARAM = "model"  # the trial parameter that picks the model file
TUNED = "tuned"  # conf/model/tuned.yaml: the best configuration, written back by `tune`
Choice = str | bool | int | float | None
Splits = list[tuple[np.ndarray, np.ndarray]]


class Trial(Protocol):
    """What a trial offers to draw values from (an ``optuna.Trial`` is one)."""

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int: ...

    def suggest_categorical(self, name: str, choices: Sequence[Choice]) -> Choice: ...


def draw(trial: Trial, name: str, space: ParamSpace) -> Choice:
    """One value of ``space``, recorded in the trial as ``name``."""
    if isinstance(space, FloatSpace):
        return trial.suggest_float(name, space.low, space.high, log=space.log)
    if isinstance(space, CategoricalSpace):
        return trial.suggest_categorical(name, space.choices)
    return trial.suggest_int(name, space.low, space.high, step=space.step, log=space.log)


def sample(
    trial: Trial, models: Sequence[str], spaces: Mapping[str, Mapping[str, ParamSpace]]
) -> tuple[str, dict[str, Choice]]:
    """The model a trial tries and its hyperparameters (only those with a declared range)."""
    model = str(trial.suggest_categorical(MODEL_PARAM, list(models)))
    ranges = spaces.get(model, {})
    return model, {name: draw(trial, f"{model}.{name}", space) for name, space in ranges.items()}


def hyperparameters_of(params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The model and hyperparameters of a finished trial's ``params`` (the inverse of `sample`)."""
    model = str(params[MODEL_PARAM])
    prefix = f"{model}."
    drawn = {name.removeprefix(prefix): value for name, value in params.items()}
    return model, {name: value for name, value in drawn.items() if name != MODEL_PARAM}


def with_hyperparameters(config: Config, hyperparameters: Mapping[str, Any]) -> Config:
    """``config`` whose model has ``hyperparameters`` instead of its file's values."""
    document = {**config.model.model_dump(by_alias=True), **hyperparameters}
    return config.model_copy(update={"model": ModelConfig.model_validate(document)})


def misfit(model: ModelConfig, task: Task) -> str | None:
    """Why ``model`` has no estimator for ``task`` (a regressor, for a classification), or None.

    A model file that cannot be imported is an error, not a model to skip.
    """
    try:
        target = model.target_for(task)
    except ValueError as error:
        return str(error)
    estimator = estimator_class(target)()
    kind = "classifier" if task == "classification" else "regressor"
    fits = is_classifier(estimator) if task == "classification" else is_regressor(estimator)
    return None if fits else f"model={model.name} ({target}) is not a {kind}"


def check_spaces(
    spaces: Mapping[str, Mapping[str, ParamSpace]], candidates: Mapping[str, Config]
) -> None:
    """Every range names a candidate model and one of its estimator's hyperparameters."""
    for model, ranges in spaces.items():
        if model not in candidates:
            continue  # a range of a model this run does not try (other task, not in tune.models)
        config = candidates[model]
        valid = build_estimator(config.model, config.data.task, config.seed).get_params()
        unknown = sorted(set(ranges) - set(valid))
        if unknown:
            raise ConfigError(
                f"tune.spaces.{model}.{unknown[0]} is not a hyperparameter of model={model}; "
                f"valid ones: {', '.join(sorted(valid))} (conf/tune/)"
            )


def folds(config: Config, frame: pd.DataFrame, count: int) -> Splits:
    """``count`` folds of ``frame`` cut the way the split is: by group, by time, or at random
    (stratified for a classification), so a cross-validated score means what the test one does."""
    data, strategy = config.data, config.split.strategy
    target = frame[data.target]
    if strategy == "group" and data.group_column:
        groups = frame[data.group_column].astype("string").fillna("<missing>")
        if groups.nunique() < count:
            raise ConfigError(
                f"tune.cv_folds={count}, but the training split has {groups.nunique()} groups "
                f"of {data.group_column}: lower tune.cv_folds, or 0 for the validation split"
            )
        return [(a, b) for a, b in GroupKFold(count).split(frame, target, groups)]
    if strategy == "time" and data.time_column:
        order = np.argsort(frame[data.time_column].to_numpy(), kind="stable")
        return [(order[a], order[b]) for a, b in TimeSeriesSplit(count).split(order)]
    if data.task == "classification":
        smallest = int(target.value_counts().min())
        if smallest < count:
            raise ConfigError(
                f"tune.cv_folds={count}, but a class of {data.target} has only {smallest} "
                "training rows: lower tune.cv_folds, or 0 for the validation split"
            )
        splitter: StratifiedKFold | KFold = StratifiedKFold(
            count, shuffle=True, random_state=config.seed
        )
    else:
        splitter = KFold(count, shuffle=True, random_state=config.seed)
    return [(a, b) for a, b in splitter.split(frame, target)]


def validation_fold(train: pd.DataFrame, valid: pd.DataFrame) -> tuple[pd.DataFrame, Splits]:
    """The validation split as the one fold of ``train`` + ``valid``."""
    frame = pd.concat([train, valid], ignore_index=True)
    rows = np.arange(len(frame))
    return frame, [(rows[: len(train)], rows[len(train) :])]


def score(config: Config, fitted: Any, frame: pd.DataFrame, metric: Metric) -> float:
    """``metric`` of a fitted pipeline on ``frame``, in the metric's own unit."""
    features, target = features_and_target(frame, config)
    proba = fitted.predict_proba(features) if metric.needs_probabilities else None
    classes = getattr(fitted, "classes_", ())
    outcome = outcome_of(config.data.task, target, fitted.predict(features), proba, classes)
    return float(metric.function(outcome))


@dataclass(frozen=True)
class Evaluation:
    """The fold scores of a trial; ``stopped`` when the pruner ended it early."""

    scores: tuple[float, ...]
    stopped: bool

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))


def evaluate(
    config: Config,
    frame: pd.DataFrame,
    splits: Splits,
    metric: Metric,
    stop: Callable[[int, float], bool],
) -> Evaluation:
    """Fit and score ``config``'s pipeline on each fold; after each, ``stop(fold, running mean)``
    may end it (pruning). An undefined score (NaN) is an error: the trial fails, the study goes on.
    """
    scores: list[float] = []
    for fold, (fit_rows, score_rows) in enumerate(splits):
        fitted = build_pipeline(config).fit(*features_and_target(frame.iloc[fit_rows], config))
        value = score(config, fitted, frame.iloc[score_rows], metric)
        if not np.isfinite(value):
            raise ValueError(
                f"{metric.name} is undefined on fold {fold} (too few rows of a class?)"
            )
        scores.append(value)
        if fold < len(splits) - 1 and stop(fold, float(np.mean(scores))):
            return Evaluation(tuple(scores), stopped=True)
    return Evaluation(tuple(scores), stopped=False)


def study_key(config: Config, candidates: Mapping[str, Config], data_md5: str) -> str:
    """A short hash of everything that makes two trials' scores comparable: the data, task,
    features, folds, metric, and each candidate model with its ranges. Change one of them and
    `tune` starts a new study instead of mixing scores that mean different things."""
    tune = config.tune
    what = {
        "data": data_md5,
        "target": config.data.target,
        "task": config.data.task,
        "seed": config.seed,
        "split": config.split.model_dump(),
        "features": config.features.model_dump(),
        "metric": config.tune_metric,
        "cv_folds": tune.cv_folds,
        "models": {
            name: {
                "model": candidate.model.model_dump(by_alias=True),
                "space": {
                    key: space.model_dump() for key, space in tune.spaces.get(name, {}).items()
                },
            }
            for name, candidate in sorted(candidates.items())
        },
    }
    canonical = json.dumps(what, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def tuned_model(candidate: Config, hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """conf/model/tuned.yaml: the candidate's class for this task and all its hyperparameters."""
    model = candidate.model
    return {
        "name": TUNED,
        "_target_": model.target_for(candidate.data.task),
        **model.hyperparameters,
        **hyperparameters,
    }


DEFAULTS_ENTRY = re.compile(r"^(\s*)- (?:override )?/?model\s*:.*$")
SELF_ENTRY = re.compile(r"^(\s*)- _self_\s*(#.*)?$")


def select_model(config_text: str, name: str) -> str:
    """conf/config.yaml with ``model: name`` selected in its defaults list, comments kept.

    The dataset's task selects a model (conf/task/); an ``override /model:`` entry before
    ``_self_`` in the primary config replaces that choice.
    """
    entry = f"- override /model: {name}  # written by `tune` (conf/tune/)"
    lines = config_text.splitlines()
    for index, line in enumerate(lines):
        if found := DEFAULTS_ENTRY.match(line):
            lines[index] = found.group(1) + entry
            return "\n".join(lines) + "\n"
    for index, line in enumerate(lines):
        if found := SELF_ENTRY.match(line):
            lines.insert(index, found.group(1) + entry)
            return "\n".join(lines) + "\n"
    raise ConfigError(
        "conf/config.yaml has no `- _self_` entry in its defaults list: add "
        f"`{entry.partition('  #')[0]}` to it by hand"
    )


def render(document: Mapping[str, Any], comment: Sequence[str]) -> str:
    """A conf/ YAML file: ``comment`` lines on top (why it exists), then ``document``."""
    header = "".join(f"# {line}\n" for line in comment)
    return header + yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True)
