"""Tuning benchmark: is `tune`'s model as good as the best one found by hand? Prints a table.

For the example data (penguins) and datasets that scikit-learn ships (no download at run
time), in a freshly rendered and set-up project: each dataset is brought in as a user would
(`data init`, then `dvc repro split`), then measured in the project's own venv with its own
code:

- baseline: the majority class (classification) or the training mean (regression);
- default: the model the task selects (conf/task/), with its file's values;
- tuned: `tune` itself (jobs/tune.py: TPE, pruning, MLflow, write-back) on a trial and time
  budget, then the configuration it wrote back;
- by hand: a grid a practitioner would try first (below), the best of it on the test split.

Every model is fitted on the training split and scored on the test split with the task's
primary metric (`release.primary_metric`, the one `tune` optimises by cross-validation of the
training split). Picking the hand-made best on the test split favours it: the comparison is
stricter than a fair one. Asserts nothing; run from the template root:
`uv run python -m benchmarks.tuning_table [--trials 30] [--timeout 300] [--project DIR]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent.parent
PACKAGE = "penguins_ml"
FOREST = [
    ["model.n_estimators=300", f"++model.max_features={features}", f"model.min_samples_leaf={leaf}"]
    for features in ("sqrt", 0.5)
    for leaf in (1, 3)
]
BOOSTING = [
    [f"model.learning_rate={rate}", f"model.max_leaf_nodes={leaves}", "model.max_iter=300"]
    for rate in (0.05, 0.1)
    for leaves in (15, 31)
]
# What a practitioner tries first, per task: the model file, then its overrides.
BY_HAND: dict[str, list[list[str]]] = {
    "classification": [
        *(["model=logistic_regression", f"model.C={c}"] for c in (0.01, 0.1, 1.0, 10.0, 100.0)),
        *(["model=random_forest", *grid] for grid in FOREST),
        *(["model=hist_gradient_boosting", *grid] for grid in BOOSTING),
    ],
    "regression": [
        *(["model=ridge", f"model.alpha={a}"] for a in (0.01, 0.1, 1.0, 10.0, 100.0)),
        *(["model=random_forest", *grid] for grid in FOREST),
        *(["model=hist_gradient_boosting", *grid] for grid in BOOSTING),
    ],
}
FOLDS = 3
DATASETS = ("wine", "breast_cancer", "diabetes", "digits")  # sklearn.datasets.load_<name>


def write_dataset(name: str, project: Path) -> Path:
    """``load_<name>()`` as a CSV file in data/raw: snake_case columns, named classes."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.rename(columns=lambda column: re.sub(r"\W+", "_", column).strip("_"))
    names = getattr(bunch, "target_names", None)
    if name != "diabetes" and names is not None:
        labels = [f"class_{label}" for label in names] if name == "digits" else list(names)
        frame["target"] = [str(labels[int(code)]) for code in frame["target"]]
    path = project / "data" / "raw" / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def measure(trials: int, timeout: float) -> dict[str, Any]:
    """In the project's venv: every score of the table for the selected dataset."""
    import numpy as np
    from penguins_ml.core import tuning
    from penguins_ml.core.config import Config
    from penguins_ml.core.metrics import metric_for, outcome_of
    from penguins_ml.core.models import build_pipeline, features_and_target
    from penguins_ml.io import params, paths
    from penguins_ml.io.files import read_table
    from penguins_ml.io.model_choice import CONFIG_FILE, MODEL_DIR
    from penguins_ml.jobs import tune

    config = params.load()
    task = config.data.task
    metric = metric_for(task, config.tune_metric, "tune.metric")
    train, test = read_table(paths.TRAIN), read_table(paths.TEST)
    folds = tuning.folds(config, train, FOLDS)  # the folds `tune` scores on (same seed)

    def scores(candidate: Config) -> tuple[float, float]:
        """Cross-validated on the training split (how both tune and a person choose), and on
        the test split (how the chosen model does)."""
        never = tuning.evaluate(candidate, train, folds, metric, lambda fold, value: False)
        fitted = build_pipeline(candidate).fit(*features_and_target(train, candidate))
        return never.mean, tuning.score(candidate, fitted, test, metric)

    truth = test[config.data.target].to_numpy()
    if task == "classification":
        constant: Any = train[config.data.target].mode().iloc[0]
    else:
        constant = float(train[config.data.target].mean())
    baseline = metric.function(outcome_of(task, truth, np.full(len(truth), constant, object)))
    default = (config.model.name, *scores(config))

    before = CONFIG_FILE.read_text()
    overrides = [f"tune.n_trials={trials}", f"tune.timeout_seconds={timeout}"]
    overrides.append(f"tune.cv_folds={FOLDS}")
    started = time.perf_counter()
    result = tune.run(params.load(overrides), overrides)
    seconds = time.perf_counter() - started
    tuned = (result.model, *scores(params.load()))
    tuned_file = (MODEL_DIR / "tuned.yaml").read_text()
    # Back to the task's default model, so that the next dataset's `data init` starts clean.
    CONFIG_FILE.write_text(before)
    (MODEL_DIR / "tuned.yaml").unlink()
    params.write_params()

    by_hand = [(" ".join(grid), *scores(params.load(grid))) for grid in BY_HAND[task]]
    sign = 1.0 if metric.greater_is_better else -1.0
    best = max(by_hand, key=lambda row: sign * row[1])  # chosen by cross-validation
    return {
        "dataset": config.data.name,
        "rows": len(read_table(Path(config.data.path))),
        "metric": metric.name,
        "greater_is_better": metric.greater_is_better,
        "baseline": baseline,
        "default": default,
        "tuned": tuned,
        "by_hand": best,
        "seconds": seconds,
        "trials": result.trials,
        "tuned_file": tuned_file,
    }


def gap(row: dict[str, Any], column: int) -> float:
    """How much worse tuned is than the best by hand, in % (negative: better); ``column`` 1 is
    the cross-validated score, 2 the test score."""
    tuned, hand = row["tuned"][column], row["by_hand"][column]
    worse = hand - tuned if row["greater_is_better"] else tuned - hand
    return 100.0 * worse / abs(hand)


def shorter(overrides: str) -> str:
    """``model=ridge model.alpha=1.0`` -> ``ridge alpha=1.0``."""
    return re.sub(r"(\+\+)?model[.=]", "", overrides)


def print_table(rows: list[dict[str, Any]], trials: int, timeout: float) -> None:
    print(f"\n`tune`: up to {trials} trials or {timeout:.0f} s; scores: {FOLDS}-fold CV / test")
    print(
        "| dataset | rows | metric | baseline | default | tuned | best by hand "
        "| gap (CV / test) | tune time |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        cells = [
            f"{name} {cv:.4f} / {test:.4f}"
            for name, cv, test in (
                row["default"],
                row["tuned"],
                (shorter(row["by_hand"][0]), *row["by_hand"][1:]),
            )
        ]
        print(
            f"| {row['dataset']} | {row['rows']} | {row['metric']} | {row['baseline']:.4f} "
            f"| {' | '.join(cells)} | {gap(row, 1):+.2f}% / {gap(row, 2):+.2f}% "
            f"| {row['seconds']:.0f} s ({sum(row['trials'].values())} trials) |"
        )


def run(command: list[str], project: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{command} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--project", type=Path, help="a rendered, set-up project to use")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--write", help=argparse.SUPPRESS)
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=DATASETS)
    args = parser.parse_args()
    if args.write:  # inside the project's venv, which has scikit-learn
        print(write_dataset(args.write, Path.cwd()).relative_to(Path.cwd()))
        return
    if args.measure:
        print(json.dumps(measure(args.trials, args.timeout)))
        return

    from uv import find_uv_bin  # the template's venv has it; the project's not

    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env["PATH"] = f"{Path(find_uv_bin()).parent}{os.pathsep}{env['PATH']}"
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("OPTUNA_STORAGE", None)
    project = args.project
    if project is None:
        from cookiecutter.main import cookiecutter

        workdir = Path(tempfile.mkdtemp(prefix="tuning-table-"))
        project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(workdir)))
        run(["make", "setup"], project, env)
    itself = ["uv", "run", "--no-sync", "python", str(Path(__file__).resolve())]
    budget = ["--trials", str(args.trials), "--timeout", str(args.timeout)]
    rows = []
    for name in ("penguins", *args.datasets):
        if name != "penguins":
            path = run([*itself, "--write", name], project, env).strip()
            init = ["uv", "run", "--no-sync", PACKAGE, "data", "init", path, "--target", "target"]
            run(init, project, env)
        run(["uv", "run", "--no-sync", "dvc", "repro", "split"], project, env)
        (project / "optuna.db").unlink(missing_ok=True)  # a new study per measurement
        output = run([*itself, "--measure", *budget], project, env)
        row = json.loads(output.strip().splitlines()[-1])
        rows.append(row)
        print(f"{name}: tuned\n{row['tuned_file']}", file=sys.stderr)
        print_table(rows, args.trials, args.timeout)


if __name__ == "__main__":
    main()
