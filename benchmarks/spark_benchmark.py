"""Spark benchmark: prints figures, asserts nothing (these machines are noisy).

Batch scoring of the same Parquet file by the same champion bundle with the two engines of
the generated `predict`: in process (`--engine pandas`, chunks of 100,000 rows) and on local
Spark (`--engine spark --master local[N]`, every core). Each run is the whole command as a
user runs it (start-up, model load, the JVM for Spark, read, validate, score, write), on
synthetic penguins-like rows (the raw data's rows resampled with noise, 1% of them invalid)
at 1M and 5M rows. Prints rows/s of each, and the crossover: the input size above which Spark
is faster, from a straight line (fixed cost + cost per row) through each engine's two runs.

Run from the template root:
`uv run python -m benchmarks.spark_benchmark [--project PATH] [--rows 1000000 5000000]`;
`--project` is a generated project set up with `make setup EXTRAS=spark` that has a champion;
without it the template is rendered and set up, and its pipeline and release run (minutes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from uv import find_uv_bin

from benchmarks.projects import released_project, sh

PACKAGE = "penguins_ml"
ENGINES = ("pandas", "spark")

# Run in the project's environment: rows like data/raw/penguins.csv, written in row groups so
# neither this script nor Spark's readers hold the whole file (Spark splits on row groups).
GENERATE = """
import sys
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.parquet as pq
from {package}.io.params import load_params
rows, path = int(sys.argv[1]), sys.argv[2]
config = load_params()
raw = pd.read_csv(config.data.path).dropna()
numeric = [n for n in config.data.feature_columns if config.data.columns[n].type == "numeric"]
rng = np.random.default_rng(0)
writer, done, block = None, 0, 500_000
while done < rows:
    size = min(block, rows - done)
    frame = raw.sample(size, replace=True, random_state=rng).reset_index(drop=True)
    for name in numeric:
        spec = config.data.columns[name]
        noisy = frame[name] * rng.normal(1.0, 0.02, size)
        frame[name] = noisy.clip(spec.min, spec.max).astype("float64")
    bad = rng.random(size) < 0.01
    frame.loc[bad, numeric[0]] = 1e9  # out of range: refused, reported
    frame.insert(0, "id", np.arange(done, done + size))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    writer = writer or pq.ParquetWriter(path, table.schema)
    writer.write_table(table, row_group_size=250_000)
    done += size
writer.close()
"""


def score(project: Path, env: dict[str, str], engine: str, source: Path, work: Path) -> float:
    """Seconds for one whole `predict` command; its output is removed afterwards."""
    output = work / ("scored" if engine == "spark" else "scored.parquet")
    command = ["uv", "run", "--no-sync", PACKAGE, "predict", "--model", str(work / "bundle"),
               "--input", str(source), "--output", str(output), "--engine", engine]  # fmt: skip
    if engine == "spark":
        command += ["--master", f"local[{os.cpu_count()}]"]
    started = time.perf_counter()
    sh(command, project, env)
    seconds = time.perf_counter() - started
    if output.is_dir():
        shutil.rmtree(output)
    else:
        output.unlink()
        output.with_name(f"{output.stem}.invalid.csv").unlink(missing_ok=True)
    return seconds


def crossover(times: dict[str, dict[int, float]]) -> str:
    """Where the two engines' lines (fixed cost + cost per row) cross, in words."""
    lines = {}
    for engine, found in times.items():
        points = sorted(found.items())
        (small, first), (large, second) = points[0], points[-1]
        per_row = (second - first) / (large - small)
        lines[engine] = (first - per_row * small, per_row)
    (fixed_pandas, row_pandas), (fixed_spark, row_spark) = lines["pandas"], lines["spark"]
    summary = "; ".join(
        f"{engine}: {fixed:.1f} s fixed + {per_row * 1e6:.2f} s per million rows"
        for engine, (fixed, per_row) in lines.items()
    )
    if min(row_pandas, row_spark) <= 0:
        return f"{summary}. Too noisy to fit (a larger input ran faster): run it again."
    if row_spark >= row_pandas:
        return f"{summary}. No crossover: Spark's cost per row is not lower on this machine."
    rows = max(0.0, (fixed_spark - fixed_pandas) / (row_pandas - row_spark))
    return f"{summary}. Spark is faster above ~{rows / 1e6:.1f}M rows."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a set-up project (EXTRAS=spark), released")
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="spark-bench-"))
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env["PATH"] = f"{Path(find_uv_bin()).parent}:{env['PATH']}"
    env.pop("VIRTUAL_ENV", None)
    project = (
        args.project.resolve() if args.project else released_project(work, env, extras="spark")
    )
    sh(["uv", "run", "--no-sync", PACKAGE, "export", "--to", str(work / "bundle"), "--force"],
       project, env)  # fmt: skip
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average {load} at the start")
    times: dict[str, dict[int, float]] = {engine: {} for engine in ENGINES}
    for rows in sorted(args.rows):
        source = work / f"rows-{rows}.parquet"
        sh(["uv", "run", "--no-sync", "python", "-c", GENERATE.format(package=PACKAGE),
            str(rows), str(source)], project, env)  # fmt: skip
        for engine in ENGINES:
            seconds = score(project, env, engine, source, work)
            times[engine][rows] = seconds
            rate = rows / seconds
            print(
                f"  {rows:>10,} rows  {engine:6}  {seconds:7.1f} s  {rate:>10,.0f} rows/s",
                flush=True,
            )
        source.unlink()
    if len(args.rows) > 1:
        print(crossover(times))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
