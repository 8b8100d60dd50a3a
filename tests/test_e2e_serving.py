"""End to end: the generated project serves its champion over real HTTP, and scores files.

One project: pipeline, first release (champion v1), a second model registered as challenger
(v2), both exported as bundles. Each test starts `<package> serve` with uvicorn on a free
127.0.0.1 port, sends real requests, and stops it by PID (SIGTERM: a clean shutdown, which
drains the prediction log). Then a bounded load run and batch scoring with bad rows.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_e2e_release import train_with_c

from helpers import DEFAULT_PACKAGE, RECORD, run
from servers import ServerProcess, free_port

pytestmark = pytest.mark.e2e


def cli(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run(["uv", "run", "--no-sync", DEFAULT_PACKAGE, *args], project, env=env)


def python(project: Path, env: dict[str, str], code: str) -> str:
    return run(["uv", "run", "--no-sync", "python", "-c", code], project, env=env).stdout


def set_champion(project: Path, env: dict[str, str], version: str) -> None:
    """Move the champion alias, as `promote` would, without touching the served process."""
    python(project, env, (
        "import mlflow\n"
        f"mlflow.MlflowClient('sqlite:///mlflow.db').set_registered_model_alias("
        f"'{DEFAULT_PACKAGE}', 'champion', '{version}')\n"
    ))  # fmt: skip


class Api(ServerProcess):
    """`<package> serve` in a subprocess on a free loopback port, with its own prediction log.

    ``log=False`` keeps the configured log (`serve.log.path`), which `monitor` reads.
    """

    def __init__(self, project: Path, env: dict[str, str], *args: str, log: bool = True) -> None:
        port = free_port()
        self.log = project / "data" / "predictions" / f"e2e-{port}.db"
        own_log = [f"serve.log.path={self.log}"] if log else []
        command = ["uv", "run", "--no-sync", DEFAULT_PACKAGE, "serve", *args, *own_log,
                   "--port", str(port)]  # fmt: skip
        output = project / f"serve-{port}.log"
        super().__init__(command, cwd=project, env=env, port=port, probe="/ready", output=output)

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            payload = json.dumps(body) if body is not None else None
            connection.request(
                method, path, payload, {"content-type": "application/json", **headers}
            )
            response = connection.getresponse()
            text = response.read().decode()
            is_json = response.getheader("content-type", "").startswith("application/json")
            return response.status, json.loads(text) if is_json else text
        finally:
            connection.close()

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def predict(self, *records: dict[str, Any], **extra: Any) -> tuple[int, Any]:
        return self.request("POST", "/predict", {"records": list(records), **extra})

    def stop(self, timeout: float = 60) -> bool:
        """A clean shutdown (lifespan drains the log), or the test fails."""
        assert super().stop(timeout), f"serve did not stop within {timeout} s of SIGTERM"
        return True

    def logged(self) -> list[tuple[str, str]]:
        """(arm, model_version) of every logged row (after stop)."""
        with sqlite3.connect(self.log) as connection:
            return connection.execute("SELECT arm, model_version FROM predictions").fetchall()


@pytest.fixture(scope="module")
def served(setup_project, uv_env: dict[str, str], tmp_path_factory) -> Iterator[tuple]:
    """Champion v1 and challenger v2 in the registry, and both exported as bundles."""
    project = setup_project("serving")
    env = dict(uv_env)
    train_with_c(project, env, 1.0)
    run(["make", "release"], project, env=env)
    train_with_c(project, env, 0.3)
    cli(project, env, "register")  # a challenger, without the gate
    bundles = tmp_path_factory.mktemp("bundles")
    for alias in ("champion", "challenger"):
        cli(project, env, "export", "--alias", alias, "--to", str(bundles / alias))
    yield project, env, bundles


@pytest.fixture
def api(served) -> Iterator[Any]:
    project, env, _ = served
    started: list[Api] = []

    def start(*args: str) -> Api:
        started.append(Api(project, env, *args))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_single_serves_the_champion_from_the_registry(api) -> None:
    server = api()
    status, body = server.predict(RECORD, {**RECORD, "island": "Dream"})
    assert status == 200
    assert (body["model"]["version"], body["arm"]) == ("1", "champion")
    assert body["predictions"][0]["prediction"] in {"Adelie", "Chinstrap", "Gentoo"}
    status, problem = server.predict({**RECORD, "island": "Atlantis", "wings": 2})
    rules = {(item["field"], item["rule"]) for item in problem["detail"]}
    assert status == 422
    assert rules == {("records[0].island", "categories"), ("records[0].wings", "unknown_field")}
    assert server.get("/model")[1]["champion"]["lineage"]["git.commit"]
    assert (
        'api_requests_total{arm="champion",endpoint="/predict",model_version="1",status="200"}'
        in server.get("/metrics")[1]
    )
    server.stop()
    assert server.logged() == [("champion", "1"), ("champion", "1")]


def test_shadow_answers_with_the_champion_and_logs_both(api, served) -> None:
    _, _, bundles = served
    server = api("serve=shadow", "--champion", str(bundles / "champion"),
                 "--challenger", str(bundles / "challenger"))  # fmt: skip
    for index in range(20):
        status, body = server.predict({**RECORD, "body_mass_g": 3000.0 + 100 * index})
        assert (status, body["arm"], body["model"]["version"]) == (200, "champion", "1")
    server.stop()
    logged = server.logged()
    assert logged.count(("champion", "1")) == 20
    assert logged.count(("shadow", "2")) == 20


def test_canary_routes_its_share_sticky_per_entity(api) -> None:
    server = api("serve=canary", "serve.canary.percent=30",
                 "serve.canary.max_p95_latency_increase=1000")  # fmt: skip
    arms = [server.predict(RECORD, entity_id=f"customer-{i}")[1]["arm"] for i in range(300)]
    assert 0.22 < arms.count("challenger") / len(arms) < 0.38
    again = [server.predict(RECORD, entity_id=f"customer-{i}")[1]["arm"] for i in range(60)]
    assert again == arms[:60]
    metrics = server.get("/metrics")[1]
    assert 'arm="challenger",endpoint="/predict",model_version="2",status="200"' in metrics


def test_a_failing_challenger_is_rolled_back_automatically(api, served, tmp_path: Path) -> None:
    project, env, bundles = served
    broken = tmp_path / "broken"
    python(project, env, (
        "import shutil, mlflow.sklearn, skops.io\n"
        f"shutil.copytree('{bundles / 'challenger'}', '{broken}')\n"
        f"model = mlflow.sklearn.load_model('{broken / 'model'}')\n"
        "estimator = model.steps[-1][1]\n"
        "estimator.coef_ = estimator.coef_[:, :2]  # every prediction now raises\n"
        f"shutil.rmtree('{broken / 'model'}')\n"
        "trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))\n"
        f"mlflow.sklearn.save_model(model, '{broken / 'model'}', skops_trusted_types=trusted)\n"
    ))  # fmt: skip
    server = api("serve=canary", "serve.canary.percent=50", "serve.canary.min_requests=10",
                 "serve.canary.window=20", "--champion", str(bundles / "champion"),
                 "--challenger", str(broken))  # fmt: skip
    statuses = [server.predict(RECORD, entity_id=f"id-{i}")[0] for i in range(80)]
    assert set(statuses) == {200}
    canary = server.get("/model")[1]["canary"]
    assert canary["percent"] == 0.0 and "error rate" in canary["rollback"]
    assert "api_canary_rollbacks_total 1.0" in server.get("/metrics")[1]
    server.stop()
    with sqlite3.connect(server.log) as connection:
        failures = connection.execute(
            "SELECT arm, status, reason, COUNT(*) FROM failures GROUP BY arm, status, reason"
        ).fetchall()
        answered = connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
    [(arm, status, reason, count)] = failures  # the challenger's errors, on its own arm
    assert (arm, status, reason, answered) == ("challenger", 500, "model_error", 80)
    assert count >= 10


def test_reload_switches_versions_while_requests_flow(api, served) -> None:
    project, env, _ = served
    server = api()
    # Each client's answers in the order it got them: a request sent after an answer from the
    # new version must be answered by it too (across clients, answers may arrive out of order).
    clients: list[list[tuple[int, str]]] = [[] for _ in range(4)]
    stop = threading.Event()

    def traffic(results: list[tuple[int, str]]) -> None:
        while not stop.is_set():
            status, body = server.predict(RECORD)
            results.append((status, body["model"]["version"] if status == 200 else str(body)))

    workers = [threading.Thread(target=traffic, args=(results,)) for results in clients]
    for worker in workers:
        worker.start()
    try:
        time.sleep(1)
        set_champion(project, env, "2")
        status, versions = server.request("POST", "/admin/reload")
        time.sleep(1)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        set_champion(project, env, "1")
    assert status == 200 and versions["after"]["champion"] == "2"
    for results in clients:
        assert {code for code, _ in results} == {200}
        seen = [version for _, version in results]
        assert seen[0] == "1" and seen[-1] == "2"
        assert seen == sorted(seen)  # once switched, never back


def test_sighup_reloads_the_champion(api, served) -> None:
    project, env, _ = served
    server = api()
    assert server.get("/model")[1]["champion"]["version"] == "1"
    set_champion(project, env, "2")
    try:
        os.kill(server.process.pid, signal.SIGHUP)  # `uv run` passes it on to the server
        deadline = time.monotonic() + 60
        while server.get("/model")[1]["champion"]["version"] != "2":
            assert time.monotonic() < deadline, server.text()
            time.sleep(0.2)
        assert server.predict(RECORD)[1]["model"]["version"] == "2"
    finally:
        set_champion(project, env, "1")
    assert "reloaded on SIGHUP" in server.text()


def test_bounded_load_has_no_error_and_logs_every_request(api) -> None:
    server = api()
    total, concurrency = 10_000, 32
    body = json.dumps({"records": [RECORD]})

    def worker(count: int) -> list[int]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        statuses = []
        for _ in range(count):
            connection.request("POST", "/predict", body, {"content-type": "application/json"})
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        connection.close()
        return statuses

    shares = [total // concurrency + (i < total % concurrency) for i in range(concurrency)]
    with ThreadPoolExecutor(concurrency) as pool:
        statuses = [status for part in pool.map(worker, shares) for status in part]
    assert len(statuses) == total and set(statuses) == {200}
    server.stop()
    assert len(server.logged()) == total


def test_batch_predict_reports_bad_rows(served, tmp_path: Path) -> None:
    project, env, bundles = served
    source, output = tmp_path / "input.csv", tmp_path / "scored.csv"
    python(project, env, (
        "import pandas as pd\n"
        "rows = pd.read_parquet('data/processed/test.parquet')\n"
        "rows.loc[rows.index[1], 'island'] = 'Atlantis'\n"
        "rows.loc[rows.index[4], 'flipper_length_mm'] = 999.0\n"
        f"rows.to_csv('{source}', index=False)\n"
    ))  # fmt: skip
    rows = len(pd.read_csv(source))
    out = cli(project, env, "predict", "--input", str(source), "--output", str(output),
              "--model", str(bundles / "champion"), "--chunk-rows", "10").stdout  # fmt: skip
    assert f"scored {rows - 2} of {rows} rows" in out
    assert len(pd.read_csv(output)) == rows - 2
    invalid = pd.read_csv(tmp_path / "scored.invalid.csv")
    reasons = sorted(zip(invalid["row"], invalid["rule"], strict=True))
    assert reasons == [(1, "categories"), (4, "max")]
