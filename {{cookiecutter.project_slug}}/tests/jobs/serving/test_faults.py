"""Faults the API survives with nothing lost: real `serve` processes on loopback, real signals.

Each test starts `<package> serve` in a subprocess (its own session, stopped by PID) on a free
127.0.0.1 port, serving a bundle of a small model, and loads it with a bounded client: 32
keep-alive connections, 5,000 requests at most, each with its own request id.

- SIGTERM under load: uvicorn finishes the requests in flight, the log is drained; every
  request answered 200 is in the log exactly once.
- SIGKILL under load: the log opens consistent (integrity check); what is lost is bounded by
  the writer's flush interval (docs: Reliability); a restart serves and logs on the same file.
- The log's disk is full: predictions still answer, /health says degraded, /metrics counts
  the rows not written.
- A missing or corrupt champion, or a log that cannot be opened, at start: one clear error,
  exit 1. At reload: a clear 503, and the previous model keeps serving.
"""

import http.client
import json
import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.io.bundle import MODEL_DIR, Bundle
from {{ cookiecutter.package_name }}.io.prediction_log import FLUSH_SECONDS

from ...conftest import PROJECT_ROOT, write_bundle

PACKAGE = "{{ cookiecutter.package_name }}"
TOTAL, CONNECTIONS = 5_000, 32  # the bounded load
SIGNAL_AFTER = 2_000  # answered requests before the signal: it lands mid-load
# A killed server loses only what it had not committed: the entries queued since the last
# commit, one FLUSH_SECONDS interval plus the commit in progress (0.02 to 0.12 s measured
# under this load on 2 busy cores). Anything answered earlier than this window is kept.
LOSS_WINDOW_SECONDS = FLUSH_SECONDS + 1.0
WRITE_FAILED = 'api_prediction_log_dropped{reason="write_failed"}'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_command(champion: Path, log: Path, port: int) -> list[str]:
    options = ["--champion", str(champion), "--port", str(port)]
    return [sys.executable, "-m", PACKAGE, "serve", f"serve.log.path={log}", *options]


def call(port: int, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body) if body is not None else None
        connection.request(method, path, payload, {"content-type": "application/json", **headers})
        response = connection.getresponse()
        text = response.read().decode()
        if response.getheader("content-type", "").startswith("application/json"):
            return response.status, json.loads(text)
        return response.status, text
    finally:
        connection.close()


class Serve:
    """`<package> serve` in a subprocess, from the project root, with its own log and port.

    ``max_file_bytes`` caps the size of any file it writes (RLIMIT_FSIZE): a full disk.
    """

    def __init__(
        self, champion: Path, log: Path, output: Path, *, max_file_bytes: int | None = None
    ) -> None:
        self.port, self.log, self.output = free_port(), log, output
        command = serve_command(champion, log, self.port)

        def limit() -> None:
            if max_file_bytes is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

        with output.open("ab") as sink:
            self.process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=limit,  # noqa: PLW1509 (no thread is started before the fork)
            )
        deadline = time.monotonic() + 120
        while not self.ready():
            assert self.process.poll() is None, f"serve exited:\n{self.text()}"
            assert time.monotonic() < deadline, f"serve not ready:\n{self.text()}"
            time.sleep(0.2)

    def ready(self) -> bool:
        try:
            return call(self.port, "GET", "/ready")[0] == 200
        except OSError:
            return False

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        return call(self.port, method, path, body, **headers)

    def terminate(self) -> None:
        """SIGTERM by PID: a clean shutdown (uvicorn drains, then exits by the same signal)."""
        os.kill(self.process.pid, signal.SIGTERM)
        code = self.process.wait(timeout=60)
        assert code in {0, -signal.SIGTERM}, self.text()
        assert self.text().rstrip().endswith(f"Finished server process [{self.process.pid}]")

    def kill(self) -> None:
        """SIGKILL to its whole session: a crash."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)


class Load:
    """A bounded load: ``total`` requests over ``connections`` keep-alive connections.

    Each request has its own id (``x-request-id``); ``answered`` holds the id of every 200 and
    when it arrived. A connection that fails (the server went away) stops its share.
    """

    def __init__(self, port: int, record: dict[str, Any], total: int, connections: int) -> None:
        self.port, self.body = port, json.dumps({"records": [record]})
        self.shares = [total // connections + (i < total % connections) for i in range(connections)]
        self.answered: list[tuple[str, float]] = []
        self.sent = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, args=(i,)) for i in range(connections)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait_for(self, answered: int) -> None:
        deadline = time.monotonic() + 120
        while len(self.answered) < answered and any(t.is_alive() for t in self._threads):
            assert time.monotonic() < deadline, f"only {len(self.answered)} answers in 120 s"
            time.sleep(0.01)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=120)

    def _work(self, index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"content-type": "application/json"}
        try:
            for number in range(self.shares[index]):
                request_id = f"load-{index}-{number}"
                with self._lock:
                    self.sent += 1
                headers["x-request-id"] = request_id
                connection.request("POST", "/predict", self.body, headers)
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    with self._lock:
                        self.answered.append((request_id, time.monotonic()))
        except (OSError, http.client.HTTPException):
            return  # the server went away: this connection's share ends here
        finally:
            connection.close()


def logged(log: Path) -> Counter[str]:
    """Rows per request id in the prediction log."""
    with sqlite3.connect(log) as connection:
        rows = connection.execute("SELECT request_id FROM predictions").fetchall()
    return Counter(request_id for (request_id,) in rows)


def integrity(log: Path) -> str:
    with sqlite3.connect(log) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory, bundles: dict[str, Bundle]) -> Path:
    """A bundle directory of the toy champion (version 1), as `export` writes it."""
    return write_bundle(tmp_path_factory.mktemp("bundles") / "champion", bundles["champion"])


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Serve]]:
    """Start servers; any still running at the end is killed."""
    started: list[Serve] = []

    def run(champion: Path, log: Path | None = None, **options: Any) -> Serve:
        log = log or tmp_path / "log.db"
        started.append(Serve(champion, log, tmp_path / "serve.out", **options))
        return started[-1]

    yield run
    for server in started:
        if server.process.poll() is None:
            server.kill()


def under_load(server: Serve, record: dict[str, Any]) -> Load:
    """A bounded load on ``server``, returned once ``SIGNAL_AFTER`` requests were answered."""
    load = Load(server.port, record, TOTAL, CONNECTIONS)
    load.start()
    load.wait_for(SIGNAL_AFTER)
    return load


def test_sigterm_under_load_drains_every_answered_request_into_the_log(
    start: Callable[..., Serve], champion: Path, record: dict[str, Any]
) -> None:
    server = start(champion)
    load = under_load(server, record)
    server.terminate()
    load.join()
    rows = logged(server.log)
    answered = {request_id for request_id, _ in load.answered}
    missing = answered - set(rows)
    assert not missing, f"{len(missing)} answered requests not logged"
    assert max(rows.values()) == 1  # one record each: none twice
    assert all(request_id.startswith("load-") for request_id in rows)  # ours, none made up
    print(f"SIGTERM: {load.sent} sent, {len(answered)} answered, {len(rows)} logged, 0 lost")


def test_sigkill_under_load_loses_at_most_the_last_flush_and_the_log_stays_consistent(
    start: Callable[..., Serve], champion: Path, record: dict[str, Any]
) -> None:
    server = start(champion)
    load = under_load(server, record)
    killed_at = time.monotonic()
    server.kill()
    load.join()
    assert integrity(server.log) == "ok"
    rows = logged(server.log)
    assert max(rows.values()) == 1
    lost = [(request_id, at) for request_id, at in load.answered if request_id not in rows]
    late = [at for _, at in lost if at < killed_at - LOSS_WINDOW_SECONDS]
    assert not late, f"lost {len(late)} rows answered over {LOSS_WINDOW_SECONDS} s before the kill"
    again = start(champion, server.log)  # the same log, after the crash
    for _ in range(10):
        assert again.request("POST", "/predict", {"records": [record]})[0] == 200
    again.terminate()
    assert integrity(server.log) == "ok"
    assert sum(logged(server.log).values()) == sum(rows.values()) + 10
    oldest = max((killed_at - at for _, at in lost), default=0.0)
    counts = f"{load.sent} sent, {len(load.answered)} answered, {len(rows)} logged"
    print(f"SIGKILL: {counts}, {len(lost)} lost, answered at most {oldest:.3f} s before the kill")


def test_a_full_disk_degrades_the_log_never_the_answers(
    start: Callable[..., Serve], champion: Path, record: dict[str, Any]
) -> None:
    server = start(champion, max_file_bytes=1 << 20)  # any file it writes stops at 1 MiB
    batch = {"records": [record] * 100}
    statuses = [server.request("POST", "/predict", batch)[0] for _ in range(60)]
    assert set(statuses) == {200}
    deadline = time.monotonic() + 30
    while (health := server.request("GET", "/health")[1])["status"] == "ok":
        assert time.monotonic() < deadline, "the log never filled the disk"
        server.request("POST", "/predict", batch)
    assert "prediction log" in health["problems"][0] and "full" in health["problems"][0]
    assert server.request("POST", "/predict", batch)[0] == 200  # still answering
    metrics = server.request("GET", "/metrics")[1].splitlines()
    [dropped] = [line for line in metrics if line.startswith(WRITE_FAILED)]
    assert float(dropped.split()[-1]) > 0
    server.terminate()
    assert integrity(server.log) == "ok"  # what was committed is intact


def corrupt(bundle: Path) -> None:
    """The model file of the bundle overwritten by garbage (a truncated upload, say)."""
    for path in (bundle / MODEL_DIR).rglob("*.pkl"):
        path.write_bytes(b"not a pickle")


@pytest.mark.parametrize("fault", ["missing bundle", "corrupt bundle", "unwritable log"])
def test_a_broken_start_is_one_clear_error_and_exit_1(
    tmp_path: Path, bundles: dict[str, Bundle], fault: str
) -> None:
    bundle, log = tmp_path / "bundle", tmp_path / "logs" / "log.db"
    if fault != "missing bundle":
        write_bundle(bundle, bundles["champion"])
    if fault == "corrupt bundle":
        corrupt(bundle)
    if fault == "unwritable log":
        log.parent.write_text("a file where the log's folder should be")
    command = serve_command(bundle, log, free_port())
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 1, done.stderr
    expected = f"cannot load the champion from {bundle}"
    if fault == "unwritable log":
        expected = "cannot open the prediction log"
    assert f"error: {expected}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_broken_bundle_at_reload_keeps_the_previous_model_serving(
    start: Callable[..., Serve],
    tmp_path: Path,
    bundles: dict[str, Bundle],
    record: dict[str, Any],
) -> None:
    bundle = write_bundle(tmp_path / "live", bundles["champion"])
    server = start(bundle)
    body = {"records": [record]}
    for damage in (corrupt, shutil.rmtree):
        damage(bundle)
        status, problem = server.request("POST", "/admin/reload")
        assert status == 503
        assert problem["detail"][0]["rule"] == "reload_failed"
        assert f"cannot load the champion from {bundle}" in problem["detail"][0]["message"]
        assert "Traceback" not in json.dumps(problem)
        status, answer = server.request("POST", "/predict", body)
        assert (status, answer["model"]["version"]) == (200, "1")
    write_bundle(bundle, bundles["challenger"])  # a good bundle again: version 2
    assert server.request("POST", "/admin/reload")[0] == 200
    assert server.request("POST", "/predict", body)[1]["model"]["version"] == "2"
    server.terminate()
