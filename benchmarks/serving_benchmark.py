"""Serving benchmark: prints figures, asserts nothing (these machines are noisy).

One run, one model (the champion bundle of a generated project), one load generator (`wrk`,
compiled, on 127.0.0.1), the same single-record request, side by side:

1. the generated API as `make serve` runs it (`<package> serve`: the registry's champion,
   prediction log on), on the compiled path (the `model.onnx` that registration verified),
   with one worker and with two (`--workers 2`);
2. the same API before the compiled path: the same bundle without `model.onnx`, so it falls
   back to scikit-learn (the path every model took before), one worker;
3. `mlflow models serve` on the same MLflow model (`dataframe_records` input);
4. a no-op FastAPI endpoint that reads the body and returns a constant: the ceiling.

at 1, 8 and 32 concurrent connections: requests/s and p50/p99 latency, then the goals as
ratios within the run; then the API's `"explain": true` against the same plain request
(at 1 and 8 concurrent). Then batch scoring: `predict`'s
`score_file` (read Parquet, validate, score, write Parquet) against bare scikit-learn code doing
the same read, score and write: with `--no-probabilities` against `pipeline.predict`, and with
class probabilities (the default) against `predict` + `predict_proba`; `pipeline.predict` in
memory is the floor.
Goals: at 8 concurrent on one worker, at least 40% of the ceiling's req/s and p99 under 10 ms;
two workers above one; at least 20x `mlflow models serve`; batch within 10% of bare code.

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
import urllib.request
from collections.abc import Callable
from pathlib import Path

from uv import find_uv_bin

from benchmarks.projects import released_project, sh
from tests.helpers import DEFAULT_PACKAGE as PACKAGE
from tests.helpers import RECORD
from tests.servers import ServerProcess, answers, free_port

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


API = "generated API, compiled"
API_2 = "generated API, compiled, 2 workers"
BEFORE = "generated API, scikit-learn (before)"
MLFLOW = "mlflow models serve"
CEILING = "no-op FastAPI (ceiling)"


def ready(name: str, port: int, workers: int) -> Callable[[], bool]:
    """The server answers; a generated API with several workers: all of them (each publishes
    its canary share on /metrics once it has started)."""
    probe = {MLFLOW: "/ping", CEILING: "/docs"}.get(name, "/ready")

    def check() -> bool:
        if not answers(f"http://127.0.0.1:{port}{probe}"):
            return False
        if workers == 1:
            return True
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as found:
                text = found.read().decode()
        except OSError:
            return False
        return text.count("api_canary_percent{pid=") >= workers

    return check


def summary(cells: list[dict]) -> dict:
    """One cell over its rounds: the median rate and latencies, the errors of all rounds."""
    median = {
        key: statistics.median(cell[key] for cell in cells) for key in ("rps", "p50_ms", "p99_ms")
    }
    return {**median, "errors": sum(cell["errors"] for cell in cells)}


def report(results: dict[str, dict[int, dict]], duration: int, rounds: int) -> None:
    """The table, then each goal as a ratio within this run."""
    print(f"\nOnline, wrk on loopback, single-record requests, median of {rounds} interleaved "
          f"rounds of {duration} s per cell:")  # fmt: skip
    print(f"{'server':38} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, cells in results.items():
        for concurrency, cell in cells.items():
            print(f"{name:38} {concurrency:>4} {cell['rps']:>8.0f} {cell['p50_ms']:>8.2f} "
                  f"{cell['p99_ms']:>8.2f} {cell['errors']:>8}")  # fmt: skip
    at8 = {name: cells[8] for name, cells in results.items()}
    share = at8[API]["rps"] / at8[CEILING]["rps"]
    print(f"\nat 8 concurrent: compiled API = {share:.0%} of the ceiling's req/s (goal >= 40%), "
          f"p99 {at8[API]['p99_ms']:.1f} ms (goal < 10 ms)")  # fmt: skip
    print(f"at 8 concurrent: 2 workers / 1 worker = {at8[API_2]['rps'] / at8[API]['rps']:.2f}x "
          "(goal > 1)")  # fmt: skip
    print(f"at 8 concurrent: compiled / scikit-learn (before) = "
          f"{at8[API]['rps'] / at8[BEFORE]['rps']:.1f}x")  # fmt: skip
    for concurrency in CONCURRENCIES:
        ratio = results[API][concurrency]["rps"] / max(results[MLFLOW][concurrency]["rps"], 1e-9)
        print(f"compiled API / mlflow models serve at {concurrency:>2}: {ratio:.1f}x (goal >= 20)")


def explain_cell(
    command: list[str], project: Path, env: dict[str, str], work: Path, duration: int
) -> None:
    """What `"explain": true` costs on the compiled API: the same record with and without it
    (each explained record scores (2^d - 2) x 50 background rows, off the event loop)."""
    plain = {"records": [RECORD]}
    bodies = {"plain": json.dumps(plain), "explain": json.dumps({**plain, "explain": True})}
    port = free_port()
    server = ServerProcess([*command, "--port", str(port)], cwd=project, env=env, port=port,
                           ready=ready(API, port, 1), timeout=300)  # fmt: skip
    try:
        wrk(port, "/predict", bodies["explain"], 2, 3, work)  # warm-up
        cells = {(kind, c): wrk(port, "/predict", body, c, duration, work)
                 for kind, body in bodies.items() for c in (1, 8)}  # fmt: skip
    finally:
        server.stop()
    print(f"\nExplanations, compiled API, one record, {duration} s per cell:")
    print(f"{'request':10} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for (kind, concurrency), cell in cells.items():
        print(f"{kind:10} {concurrency:>4} {cell['rps']:>8.0f} {cell['p50_ms']:>8.2f} "
              f"{cell['p99_ms']:>8.2f} {cell['errors']:>8}")  # fmt: skip
    ratio = cells[("explain", 1)]["p50_ms"] / cells[("plain", 1)]["p50_ms"]
    print(f"explain / plain p50 at 1 concurrent: {ratio:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a generated project with a champion")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per cell")
    parser.add_argument("--batch-rows", type=int, default=500_000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: install it with `apt-get install -y wrk` (Debian/Ubuntu).")
    work = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env["PATH"] = f"{Path(find_uv_bin()).parent}:{env['PATH']}"
    env.pop("VIRTUAL_ENV", None)
    project = args.project.resolve() if args.project else released_project(work, env)
    venv_env = {**env, "PATH": f"{project / '.venv' / 'bin'}:{env['PATH']}"}
    bundle = work / "bundle"
    sh(["uv", "run", "--no-sync", PACKAGE, "export", "--to", str(bundle), "--force"], project, env)
    before = work / "bundle-sklearn"  # the same bundle, falling back to scikit-learn
    shutil.copytree(bundle, before)
    (before / "model.onnx").unlink(missing_ok=True)
    (work / "noop.py").write_text(NOOP_APP)
    ours, theirs = json.dumps({"records": [RECORD]}), json.dumps({"dataframe_records": [RECORD]})

    def api(source: Path | None, workers: int) -> list[str]:
        """`serve` as `make serve` runs it (the registry's champion), or on a bundle."""
        name = source.name if source else "registry"
        log = f"serve.log.path={work / f'log-{name}-{workers}.db'}"
        champion = ["--champion", str(source)] if source else []
        return [PACKAGE, "serve", log, *champion, "--workers", str(workers)]

    servers = {
        API: (api(None, 1), project, ours, 1),
        API_2: (api(None, 2), project, ours, 2),
        BEFORE: (api(before, 1), project, ours, 1),
        MLFLOW: (
            ["mlflow", "models", "serve", "-m", str(bundle / "model"), "--env-manager", "local",
             "--host", "127.0.0.1"],
            project, theirs, 1,
        ),
        CEILING: (
            ["python", "-m", "uvicorn", "noop:app", "--host", "127.0.0.1", "--no-access-log"],
            work, ours, 1,
        ),
    }  # fmt: skip
    # Every server up at once (idle ones cost nothing), then rounds that visit every cell in
    # turn: a noisy neighbour slows the servers of one round alike. A cell's figure is its
    # median over the rounds.
    running: dict[str, tuple[ServerProcess, str, str]] = {}
    try:
        for name, (command, cwd, body, workers) in servers.items():
            port = free_port()
            running[name] = (
                ServerProcess([*command, "--port", str(port)], cwd=cwd, env=venv_env, port=port,
                              ready=ready(name, port, workers), timeout=300),
                "/invocations" if name == MLFLOW else "/predict",
                body,
            )  # fmt: skip
            wrk(port, running[name][1], body, 8, 3, work)  # warm-up
        api_port = running[API][0].port
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/model", timeout=10) as found:
            engine = json.load(found)["engines"]["champion"]
        print(f"{API}: the champion runs on {engine['engine']} ({engine['reason']})")
        rounds: dict[str, dict[int, list[dict]]] = {
            n: {c: [] for c in CONCURRENCIES} for n in servers
        }
        for _ in range(args.rounds):
            for name, (server, path, body) in running.items():
                for c in CONCURRENCIES:
                    rounds[name][c].append(wrk(server.port, path, body, c, args.duration, work))
    finally:
        for server, _, _ in running.values():
            server.stop()
    results = {
        name: {c: summary(found) for c, found in cells.items()} for name, cells in rounds.items()
    }
    report(results, args.duration, args.rounds)
    explain_cell(api(None, 1), project, venv_env, work, args.duration)
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
