"""Monitoring benchmark: prints figures, asserts nothing (these machines are noisy).

Renders the template, installs the project's environment, then in the project's venv builds a
synthetic reference of 1M rows x 20 columns (12 numeric, 8 categorical, plus the target and
the model's outputs) and windows of 10k and 1M rows (a few features drifted), and times:

1. drift: every per-feature statistic and decision, and prediction drift (pure functions);
2. assess: drift + data quality + performance on the labelled window, i.e. all of `monitor`
   except reading the files and scoring the window with the model.

Times are the best of three runs (the machine is shared). Each window runs in a fresh
process; peak memory is the peak RSS above the RSS the process had with the data already
built (Linux: /proc/self/clear_refs resets the peak). Target: under 10 s on 2 cores.

Run from the template root: `uv run python -m benchmarks.monitor_benchmark [--rows 1000000]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cookiecutter.main import cookiecutter
from uv import find_uv_bin

TEMPLATE = Path(__file__).resolve().parent.parent
PACKAGE = "penguins_ml"
WINDOWS = (10_000, 1_000_000)

MEASURE = f"""
import json, sys, time
from pathlib import Path
import numpy as np
import pandas as pd
from {PACKAGE}.core import config, drift
from {PACKAGE}.core.config import ColumnSpec, DataConfig
from {PACKAGE}.io import params
from {PACKAGE}.jobs import monitor

reference_rows, window_rows = int(sys.argv[1]), int(sys.argv[2])
NUMERIC, CATEGORICAL = 12, 8
CATEGORIES = [f"c{{i}}" for i in range(12)]


def frame(rows, seed, drifted):
    rng = np.random.default_rng(seed)
    columns = {{}}
    for index in range(NUMERIC):
        shift = 0.5 if drifted and index < 2 else 0.0
        values = rng.normal(10.0 * index + shift, 1.0 + index, rows)
        values[rng.random(rows) < 0.02] = np.nan
        columns[f"num{{index}}"] = values
    mix = np.linspace(1.0, 2.0, len(CATEGORIES))
    for index in range(CATEGORICAL):
        weights = mix[::-1] if drifted and index == 0 else mix
        values = rng.choice(CATEGORIES, rows, p=weights / weights.sum()).astype(object)
        values[rng.random(rows) < 0.01] = None
        columns[f"cat{{index}}"] = pd.array(values, dtype="str")
    score = 1.0 / (1.0 + np.exp(-(np.nan_to_num(columns["num0"]) - 0.0)))
    columns["label"] = pd.array(np.where(rng.random(rows) < score, "yes", "no"), dtype="str")
    columns["prediction"] = pd.array(np.where(score >= 0.5, "yes", "no"), dtype="str")
    columns["proba_no"], columns["proba_yes"] = 1.0 - score, score
    return pd.DataFrame(columns)


specs = {{"label": ColumnSpec(type="categorical", categories=["no", "yes"])}}
specs |= {{f"num{{i}}": ColumnSpec(type="numeric", max_missing=0.1) for i in range(NUMERIC)}}
specs |= {{f"cat{{i}}": ColumnSpec(type="categorical") for i in range(CATEGORICAL)}}
data = DataConfig(name="bench", path="x.csv", task="classification", target="label",
                  slice_columns=["cat1"], columns=specs)
cfg = config.parse(params.compose(), "conf/").model_copy(update={{"data": data}})
reference, current = frame(reference_rows, 0, False), frame(window_rows, 1, True)


def rss_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def measure(work, repeats=3):
    # best time of `repeats` (the machine is shared), and the highest peak memory
    times, peaks = [], []
    for _ in range(repeats):
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
        before = rss_kib("VmRSS:")
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
        peaks.append(max(rss_kib("VmHWM:") - before, 0) / 1024)
    return result, min(times), max(peaks)


def drift_only():
    features = drift.feature_drift(reference, current, cfg.data, cfg.monitor.drift)
    drift.prediction_drift(reference, current, "classification", cfg.monitor.drift)
    return [f.stats.name for f in features if f.drifted]


drifted, drift_seconds, drift_mib = measure(drift_only)
labelled = reference["label"] == reference["prediction"]
baseline = {{"accuracy": float(labelled.mean())}}  # as good on the reference as in the test
result, assess_seconds, assess_mib = measure(
    lambda: monitor.assess(reference, current, cfg, baseline=baseline)
)
print(json.dumps({{
    "drift_seconds": drift_seconds, "drift_peak_mib": drift_mib,
    "assess_seconds": assess_seconds, "assess_peak_mib": assess_mib,
    "data_mib": rss_kib("VmRSS:") / 1024, "drifted": drifted, "status": str(result.status),
    "method": result.method, "reasons": list(result.reasons),
}}))
"""


def render(output_dir: Path) -> Path:
    return Path(
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output_dir), default_config=True)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="reference rows")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = f"{Path(find_uv_bin()).parent}{os.pathsep}{env['PATH']}"
    for key in ("GIT_AUTHOR", "GIT_COMMITTER"):
        env.setdefault(f"{key}_NAME", "bench")
        env.setdefault(f"{key}_EMAIL", "bench@example.com")

    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        project = render(Path(workdir))
        subprocess.run(["make", "setup"], cwd=project, env=env, check=True, capture_output=True)
        for window in WINDOWS:
            started = time.perf_counter()
            done = subprocess.run(
                ["uv", "run", "python", "-c", MEASURE, str(args.rows), str(window)],
                cwd=project, env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            figures["process_seconds"] = time.perf_counter() - started
            results[window] = figures

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"reference: {args.rows:,} rows x 20 columns (12 numeric, 8 categorical)")
    for window, figures in results.items():
        print(f"window {window:>9,} rows ({figures['method']}; status {figures['status']})")
        print(
            f"   drift statistics        {figures['drift_seconds']:6.2f} s   "
            f"peak +{figures['drift_peak_mib']:6.0f} MiB"
        )
        print(
            f"   assess (all of monitor) {figures['assess_seconds']:6.2f} s   "
            f"peak +{figures['assess_peak_mib']:6.0f} MiB"
        )
        print(
            f"   data in memory {figures['data_mib']:.0f} MiB; whole process incl. data "
            f"generation {figures['process_seconds']:.1f} s; drifted: {figures['drifted']}"
        )
        for reason in figures["reasons"]:
            print(f"     - {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
