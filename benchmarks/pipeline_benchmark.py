"""Pipeline benchmark: prints figures, asserts nothing (these machines are noisy).

1. Render -> champion, with a warm uv cache: render, `make setup`, `make pipeline`, the first
   `make release` (register + gate, promoted), then `make release` of a retrained challenger
   against that champion; side by side with the template as it was at ``--before`` (a git
   ref), measured in the same run.
2. A no-op `dvc repro` (nothing changed), median of three, for both.
3. Pipeline overhead on a larger synthetic table: `dvc repro` wall time divided by the same
   work (validate, split, fit, evaluate with slices, importance and plots) done in one plain
   Python process with the project's own functions, without DVC, MLflow or files in between;
   then where it goes: each stage's command run on its own, the cost of starting the CLI (a
   process that imports the package and exits), and what `dvc repro` adds around the stages.

Run from the template root:
`uv run python -m benchmarks.pipeline_benchmark [--before REF] [--rows 200000 | --rows 0]`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from cookiecutter.main import cookiecutter
from uv import find_uv_bin

TEMPLATE = Path(__file__).resolve().parent.parent
PACKAGE = "penguins_ml"
# `main` when the speed issue was measured (demo 122 s, `make release` 22 s on its machine).
BEFORE = "468f295"
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


def render(output_dir: Path, template: Path = TEMPLATE) -> Path:
    return Path(
        cookiecutter(str(template), no_input=True, output_dir=str(output_dir), default_config=True)
    )


def template_at(ref: str, workdir: Path) -> Path:
    """The template's files at git ``ref``, extracted into ``workdir`` (never the work tree)."""
    archive = workdir / "before.tar"
    subprocess.run(
        ["git", "archive", "--format=tar", f"--output={archive}", ref], cwd=TEMPLATE, check=True
    )
    target = workdir / "before-template"
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


@dataclass(frozen=True)
class FirstChampion:
    render: float
    setup: float
    pipeline: float
    first_release: float
    challenger_release: float
    noop_repro: float

    @property
    def to_champion(self) -> float:
        return self.render + self.setup + self.pipeline + self.first_release


def first_champion(template: Path, workdir: Path, env: dict[str, str]) -> FirstChampion:
    """Render -> set up -> pipeline -> release, then a challenger's release and no-op repros."""
    warm = render(workdir / "warm", template)  # fills the uv cache: the figures assume it warm
    subprocess.run(["make", "setup"], cwd=warm, env=env, check=True, capture_output=True)
    started = time.perf_counter()
    project = render(workdir / "project", template)
    rendering = time.perf_counter() - started
    setup = timed(["make", "setup"], project, env)
    pipeline = timed(["make", "pipeline"], project, env)
    first_release = timed(["make", "release"], project, env)
    noop = statistics.median(timed(["uv", "run", "dvc", "repro"], project, env) for _ in range(3))
    config = project / "conf" / "config.yaml"
    config.write_text(re.sub(r"(?m)^seed: \d+", "seed: 7", config.read_text()))
    timed(["make", "pipeline"], project, env)
    challenger_release = subprocess_seconds(["make", "release"], project, env)
    return FirstChampion(rendering, setup, pipeline, first_release, challenger_release, noop)


def subprocess_seconds(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall time of a command that may fail on purpose (a gate may reject the challenger)."""
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    return time.perf_counter() - started


def print_first_champion(before: FirstChampion, now: FirstChampion, ref: str) -> None:
    rows = (
        ("render", "render"),
        ("make setup", "setup"),
        ("make pipeline (4 stages)", "pipeline"),
        ("make release (first champion)", "first_release"),
        ("render -> champion", "to_champion"),
        ("make release (challenger vs champion)", "challenger_release"),
        ("no-op dvc repro (median of 3)", "noop_repro"),
    )
    print(f"1. render -> champion, warm uv cache ({ref} = before)")
    print(f"   {'step':40} {'before':>8} {'now':>8} {'ratio':>6}")
    for label, field in rows:
        old, new = getattr(before, field), getattr(now, field)
        print(f"   {label:40} {old:7.1f}s {new:7.1f}s {old / new:5.1f}x")


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
    parser.add_argument("--rows", type=int, default=200_000, help="section 3; 0 skips it")
    parser.add_argument("--before", default=BEFORE, help="git ref of the template to compare")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = f"{Path(find_uv_bin()).parent}{os.pathsep}{env['PATH']}"
    for key, value in (("GIT_AUTHOR_NAME", "bench"), ("GIT_AUTHOR_EMAIL", "bench@example.com")):
        env.setdefault(key, value)
    env.setdefault("GIT_COMMITTER_NAME", "bench")
    env.setdefault("GIT_COMMITTER_EMAIL", "bench@example.com")

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as workdir:
        root = Path(workdir)
        before = first_champion(template_at(args.before, root), root / "before", env)
        now = first_champion(TEMPLATE, root / "now", env)
        print_first_champion(before, now, args.before)
        print(f"2. no-op dvc repro: {now.noop_repro:.2f} s (before {before.noop_repro:.2f} s)")
        if args.rows:
            overhead(render(root / "bench"), args.rows, env)
    return 0


def overhead(project: Path, rows: int, env: dict[str, str]) -> None:
    """Section 3: `dvc repro` on ``rows`` rows against the same work in one process."""
    timed(["make", "setup"], project, env)
    big = project.parent / "penguins_big.csv"
    synthetic_penguins(project / "data" / "raw" / "penguins.csv", rows).to_csv(big, index=False)
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
    start = statistics.median(
        timed(["uv", "run", PACKAGE, "--help"], project, env) for _ in range(3)
    )
    print(f"3. pipeline overhead on {rows:,} rows")
    print(f"   dvc repro (4 stages, MLflow, files)      {big_repro:7.1f} s")
    print(f"   same work in one process (incl. start)   {total_baseline:7.1f} s")
    print(f"   same work in one process (compute only)  {float(in_process.stdout):7.1f} s")
    print(f"   overhead ratio: {big_repro / total_baseline:.2f}x")
    print("   where the time goes (each stage's command on its own):")
    for stage, seconds in stages.items():
        print(f"     {stage:10} {seconds:7.1f} s  (of which starting the CLI ~{start:.1f} s)")
    outside = big_repro - sum(stages.values())
    print(f"     dvc itself (hashing, lock file, stage checks) {outside:7.1f} s")


if __name__ == "__main__":
    sys.exit(main())
