"""Serving benchmark: prints figures, asserts nothing (these machines are noisy).

One run, one model (the champion bundle of a generated project), one load generator (`wrk`,
compiled, on 127.0.0.1), one process per server, the same single-record request:

1. the generated API (`<package> serve`, prediction log on);
2. `mlflow models serve` on the same MLflow model (`dataframe_records` input);
3. a no-op FastAPI endpoint that reads the body and returns a constant: the ceiling.

at a few concurrencies: requests/s and p50/p99 latency. Then batch scoring: `predict`'s
`score_file` (read Parquet, validate, score, write Parquet) against bare scikit-learn code doing
the same read, score and write: with `--no-probabilities` against `pipeline.predict`, and with
class probabilities (the default) against `predict` + `predict_proba`; `pipeline.predict` in
memory is the floor.
Targets: the API at >= 2x the throughput of `mlflow models serve`; batch within 10% of bare.

Needs `wrk` (Debian/Ubuntu: `apt-get install -y wrk`). Run from the template root:
`uv run python -m benchmarks.serving_benchmark [--project PATH] [--duration 10]`; without
`--project` it renders the template and runs setup, pipeline and release first (minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter
from uv import find_uv_bin

from tests.helpers import DEFAULT_PACKAGE as PACKAGE
from tests.helpers import RECORD
from tests.servers import ServerProcess, free_port

TEMPLATE = Path(__file__).resolve().parent.parent
CONCURRENCIES = (1, 8, 32)
CHUNK_ROWS = 100_000  # `predict --chunk-rows` default
NOOP_APP = """
from fastapi import FastAPI, Request, Response

app = FastAPI()


@app.post("/predict")
async def predict(request: Request) -> Response:
    await request.body()
    return Response('{"prediction": "Adelie"}', media_type="application/json")
"""
BATCH = f"""
import json, sys, time
from pathlib import Path
import pandas as pd
from {PACKAGE}.io.bundle import load_bundle
from {PACKAGE}.jobs.predict import score_file

REPEATS = 7
CHUNK_ROWS = {CHUNK_ROWS}

bundle = load_bundle(sys.argv[1], None)
rows = int(sys.argv[2])
work = Path(sys.argv[3])
test = pd.read_parquet("data/processed/test.parquet")
frame = pd.concat([test] * (rows // len(test) + 1), ignore_index=True).head(rows)
source = work / "batch.parquet"
frame.to_parquet(source, index=False)
features = bundle.metadata.feature_columns


def bare_memory():
    bundle.pipeline.predict(frame[features])


def bare_io():
    data = pd.read_parquet(source)
    scored = data.assign(prediction=bundle.pipeline.predict(data[features]))
    scored.to_parquet(work / "bare.parquet")


def bare_io_with_probabilities():
    # the same output as score_file: prediction and one proba_<class> column per class
    data = pd.read_parquet(source)
    inputs = data[features]
    probabilities = bundle.pipeline.predict_proba(inputs)
    added = {{f"proba_{{label}}": probabilities[:, index]
             for index, label in enumerate(bundle.pipeline.classes_)}}
    scored = data.assign(prediction=bundle.pipeline.predict(inputs), **added)
    scored.to_parquet(work / "bare.parquet")


def batch(probabilities=True):
    score_file(bundle, source, work / "scored.parquet", chunk_rows=CHUNK_ROWS,
               probabilities=probabilities, progress=False)


# Interleaved: a noisy neighbour slows the contenders of one round alike, so each round gives
# a ratio and the report takes the median ratio (and the best time of each).
contenders = {{
    "bare_predict_in_memory_s": bare_memory,
    "bare_read_predict_write_s": bare_io,
    "batch_no_probabilities_s": lambda: batch(probabilities=False),
    "bare_read_predict_proba_write_s": bare_io_with_probabilities,
    "batch_s": batch,
}}
times = {{name: [] for name in contenders}}
for _ in range(REPEATS):
    for name, run in contenders.items():
        started = time.perf_counter()
        run()
        times[name].append(time.perf_counter() - started)
print(json.dumps({{"rows": rows, "times": times}}))
"""


def sh(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare(work: Path, env: dict[str, str]) -> Path:
    """Render, set up, train and release a project: the champion to serve."""
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(work)))
    for target in ("setup", "pipeline", "release"):
        print(f"make {target} ...", flush=True)
        sh(["make", target], project, env)
    return project


def wrk(port: int, path: str, body: str, connections: int, seconds: int, work: Path) -> dict:
    """Requests/s, p50/p99 (ms) and errors of one wrk run."""
    script = work / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body)}\n"
    )
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", str(script), f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def millis(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": millis("50%"),
        "p99_ms": millis("99%"),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a generated project with a champion")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--batch-rows", type=int, default=500_000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: install it with `apt-get install -y wrk` (Debian/Ubuntu).")
    work = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env["PATH"] = f"{Path(find_uv_bin()).parent}:{env['PATH']}"
    env.pop("VIRTUAL_ENV", None)
    project = args.project.resolve() if args.project else prepare(work, env)
    venv_env = {**env, "PATH": f"{project / '.venv' / 'bin'}:{env['PATH']}"}
    bundle = work / "bundle"
    sh(["uv", "run", "--no-sync", PACKAGE, "export", "--to", str(bundle), "--force"], project, env)
    (work / "noop.py").write_text(NOOP_APP)
    ours, theirs = json.dumps({"records": [RECORD]}), json.dumps({"dataframe_records": [RECORD]})
    servers = {
        "generated API": (
            [PACKAGE, "serve", f"serve.log.path={work / 'log.db'}", "--champion", str(bundle)],
            project, "/ready", ours,
        ),
        "mlflow models serve": (
            ["mlflow", "models", "serve", "-m", str(bundle / "model"), "--env-manager", "local",
             "--host", "127.0.0.1"],
            project, "/ping", theirs,
        ),
        "no-op FastAPI (ceiling)": (
            ["python", "-m", "uvicorn", "noop:app", "--host", "127.0.0.1", "--no-access-log"],
            work, "/docs", ours,
        ),
    }  # fmt: skip
    results: dict[str, dict[int, dict]] = {}
    for name, (command, cwd, probe, body) in servers.items():
        port = free_port()
        server = ServerProcess([*command, "--port", str(port)], cwd=cwd, env=venv_env,
                               port=port, probe=probe, timeout=180)  # fmt: skip
        try:
            wrk(port, "/predict" if "mlflow" not in name else "/invocations", body, 8, 2, work)
            path = "/invocations" if "mlflow" in name else "/predict"
            results[name] = {
                c: wrk(port, path, body, c, args.duration, work) for c in CONCURRENCIES
            }
        finally:
            server.stop()
    print(f"\nOnline, one process each, wrk on loopback, {args.duration} s per cell:")
    print(f"{'server':26} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, cells in results.items():
        for concurrency, cell in cells.items():
            print(f"{name:26} {concurrency:>4} {cell['rps']:>8.0f} {cell['p50_ms']:>8.2f} "
                  f"{cell['p99_ms']:>8.2f} {cell['errors']:>8}")  # fmt: skip
    for concurrency in CONCURRENCIES:
        ratio = results["generated API"][concurrency]["rps"] / max(
            results["mlflow models serve"][concurrency]["rps"], 1e-9
        )
        print(
            f"generated API / mlflow models serve at {concurrency:>2}: {ratio:.2f}x (target >= 2)"
        )
    out = sh(["uv", "run", "--no-sync", "python", "-c", BATCH, str(bundle), str(args.batch_rows),
              str(work)], project, env)  # fmt: skip
    figures = json.loads(out.strip().splitlines()[-1])
    rows, times = figures["rows"], figures["times"]
    print(f"\nBatch, {rows} rows, {len(times['batch_s'])} interleaved rounds (best time):")
    for key, found in times.items():
        print(f"  {key:34} {min(found):7.3f} s  {rows / min(found):>12,.0f} rows/s")
    pairs = (("batch_no_probabilities_s", "bare_read_predict_write_s"),
             ("batch_s", "bare_read_predict_write_s"),
             ("batch_s", "bare_read_predict_proba_write_s"))  # fmt: skip
    for batch, bare in pairs:
        ratios = [ours / theirs for ours, theirs in zip(times[batch], times[bare], strict=True)]
        overhead = statistics.median(ratios) - 1
        print(f"  {batch} vs {bare}: {overhead:+.1%} (median of rounds; target within 10%)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
