"""Pipeline benchmark: prints figures, asserts nothing (these machines are noisy).

1. Time to first model: render -> `make setup` -> `dvc repro`, with a warm uv cache.
2. A no-op `dvc repro` (nothing changed), median of three.
3. Pipeline overhead on a larger synthetic table: `dvc repro` wall time divided by the same
   work (validate, split, fit, evaluate with slices, importance and plots) done in one plain
   Python process with the project's own functions, without DVC, MLflow or files in between;
   then where it goes: each stage's command run on its own, the cost of starting the CLI (a
   process that imports the package and exits), and what `dvc repro` adds around the stages.

Run from the template root: `uv run python -m benchmarks.pipeline_benchmark [--rows 200000]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from cookiecutter.main import cookiecutter
from uv import find_uv_bin

TEMPLATE = Path(__file__).resolve().parent.parent
PACKAGE = "penguins_ml"
STAGES = ("validate", "split", "train", "evaluate")  # dvc.yaml, in order

BASELINE = f"""
import time
started = time.perf_counter()
from pathlib import Path
from {PACKAGE}.core import split, validation
from {PACKAGE}.core.metrics import compute_metrics, slice_metrics
from {PACKAGE}.core.models import features_and_target, predict_with_proba
from {PACKAGE}.io import params, plots
from {PACKAGE}.io.files import read_table
from {PACKAGE}.jobs import evaluate, train

cfg = params.load_params()
frame = read_table(Path(cfg.data.path))
assert not validation.check_frame(frame, cfg.data)
splits = split.split_frame(validation.clean_frame(frame, cfg.data), cfg.data, cfg.split, cfg.seed)
pipeline = train.fit(cfg, splits.train)
train.score(pipeline, splits.valid, cfg)
features, target = features_and_target(splits.test, cfg)
predictions, proba = predict_with_proba(pipeline, features)
classes = list(pipeline.classes_)
compute_metrics(cfg.data.task, target.tolist(), list(predictions), proba, classes)
slice_metrics(cfg.data.task, frame=splits.test, slice_columns=cfg.data.slice_columns,
              y_true=target, y_pred=predictions, proba=proba, classes=classes, min_rows=5)
importance = evaluate.importance_table(pipeline, features, target, cfg)
plots.importance_png(importance, Path("/tmp/bench_importance.png"))
plots.confusion_matrix_png(target.tolist(), list(predictions), Path("/tmp/bench_cm.png"))
print(time.perf_counter() - started)
"""


def render(output_dir: Path) -> Path:
    return Path(
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output_dir), default_config=True)
    )


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started


def synthetic_penguins(raw: Path, rows: int, seed: int = 0) -> pd.DataFrame:
    """Penguins resampled with jitter: same schema and classes, ``rows`` rows."""
    source = pd.read_csv(raw).dropna(subset=["species"])
    rng = np.random.default_rng(seed)
    frame = source.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    for column, low, high in (
        ("bill_length_mm", 25, 70),
        ("bill_depth_mm", 10, 25),
        ("flipper_length_mm", 150, 250),
        ("body_mass_g", 2000, 7000),
    ):
        jitter = rng.normal(0, frame[column].std() * 0.1, rows)
        frame[column] = (frame[column] + jitter).clip(low, high).round(1)
    return frame


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = f"{Path(find_uv_bin()).parent}{os.pathsep}{env['PATH']}"
    for key, value in (("GIT_AUTHOR_NAME", "bench"), ("GIT_AUTHOR_EMAIL", "bench@example.com")):
        env.setdefault(key, value)
    env.setdefault("GIT_COMMITTER_NAME", "bench")
    env.setdefault("GIT_COMMITTER_EMAIL", "bench@example.com")

    with tempfile.TemporaryDirectory() as workdir:
        warm = render(Path(workdir) / "warm")
        subprocess.run(["make", "setup"], cwd=warm, env=env, check=True, capture_output=True)

        started = time.perf_counter()
        project = render(Path(workdir) / "bench")
        rendering = time.perf_counter() - started
        setup = timed(["make", "setup"], project, env)
        repro = timed(["uv", "run", "dvc", "repro"], project, env)
        noops = [timed(["uv", "run", "dvc", "repro"], project, env) for _ in range(3)]
        noop = statistics.median(noops)

        raw = project / "data" / "raw" / "penguins.csv"
        big = Path(workdir) / "penguins_big.csv"
        synthetic_penguins(raw, args.rows).to_csv(big, index=False)
        subprocess.run(
            ["uv", "run", PACKAGE, "data", "init", str(big), "--target", "species",
             "--name", "penguins_big", "--group", "island"],
            cwd=project, env=env, check=True, capture_output=True,
        )  # fmt: skip
        big_repro = timed(["uv", "run", "dvc", "repro"], project, env)
        started = time.perf_counter()
        in_process = subprocess.run(
            ["uv", "run", "python", "-c", BASELINE],
            cwd=project, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        total_baseline = time.perf_counter() - started
        stages = {stage: timed(["uv", "run", PACKAGE, stage], project, env) for stage in STAGES}
        starts = [timed(["uv", "run", PACKAGE, "--help"], project, env) for _ in range(3)]
        start = statistics.median(starts)

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("1. time to first model (warm uv cache)")
    print(f"   render {rendering:6.1f} s | make setup {setup:6.1f} s | dvc repro {repro:6.1f} s")
    print(f"   total  {rendering + setup + repro:6.1f} s")
    print(f"2. no-op dvc repro (median of 3): {noop:.2f} s")
    print(f"3. pipeline overhead on {args.rows:,} rows")
    print(f"   dvc repro (4 stages, MLflow, files)      {big_repro:7.1f} s")
    print(f"   same work in one process (incl. start)   {total_baseline:7.1f} s")
    print(f"   same work in one process (compute only)  {float(in_process.stdout):7.1f} s")
    print(f"   overhead ratio: {big_repro / total_baseline:.2f}x")
    print("   where the time goes (each stage's command on its own):")
    for stage, seconds in stages.items():
        print(f"     {stage:10} {seconds:7.1f} s  (of which starting the CLI ~{start:.1f} s)")
    outside = big_repro - sum(stages.values())
    print(f"     dvc itself (hashing, lock file, stage checks) {outside:7.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
