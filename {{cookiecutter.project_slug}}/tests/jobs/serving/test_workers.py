"""`serve --workers 2`, the real command: one prediction log and one set of metrics.

The test starts the server on a free port of 127.0.0.1, sends requests from several threads,
reads /metrics (any worker answers it for all), stops the server by its process id, then
counts the log's rows: every request is in both.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.core.errors import ConfigError
from {{ cookiecutter.package_name }}.io.bundle import Bundle
from {{ cookiecutter.package_name }}.io.prediction_log import read_requests
from {{ cookiecutter.package_name }}.jobs.serving.app import metrics_directory
from {{ cookiecutter.package_name }}.jobs.serving.metrics import MULTIPROCESS_DIR

from ...conftest import write_bundle

PROJECT = Path(__file__).resolve().parents[3]
REQUESTS = 240
START_SECONDS = 240  # two workers import and load on a busy machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except OSError:
        return 0, b""


def predict(url: str, record: dict[str, Any]) -> int:
    body = json.dumps({"records": [record]}).encode()
    request = urllib.request.Request(  # noqa: S310 (loopback)
        url, data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return int(response.status)


def counted(metrics: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in metrics.splitlines():
        match = re.match(name + r"\{(.*)\} (\S+)$", line)
        if match and all(f'{key}="{value}"' in match.group(1) for key, value in labels.items()):
            total += float(match.group(2))
    return total


def test_two_workers_share_one_log_and_one_set_of_metrics(
    tmp_path: Path, bundles: dict[str, Bundle], record: dict[str, Any]
) -> None:
    bundle = write_bundle(tmp_path / "bundle", bundles["champion"])
    log, port = tmp_path / "log.db", free_port()
    command = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "serve", f"serve.log.path={log}"]
    command += ["--champion", str(bundle), "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(
        command, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while get(f"{base}/ready")[0] != 200:
            assert server.poll() is None, server.communicate()[0].decode()[-3000:]
            assert time.monotonic() < deadline, "the workers did not get ready"
            time.sleep(0.5)
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: predict(f"{base}/predict", record), range(REQUESTS)))
        assert statuses == [200] * REQUESTS
        # A request is counted once its answer is sent: the last ones may trail the answers.
        deadline = time.monotonic() + 30
        while True:
            text = get(f"{base}/metrics")[1].decode()
            total = counted(text, "api_requests_total", endpoint="/predict", status="200")
            if total >= REQUESTS or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        os.kill(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=120)[0].decode()
    assert total == REQUESTS
    assert counted(text, "api_predicted_class_total") == REQUESTS
    assert len(re.findall(r'^api_canary_percent\{pid="\d+"\}', text, re.MULTILINE)) == 2, text
    assert server.returncode == 0, output[-3000:]
    requests = read_requests(log)
    assert len(requests) == REQUESTS
    assert requests["request_id"].nunique() == REQUESTS
    assert set(requests["status"]) == {200}


def test_a_given_metrics_directory_is_emptied_of_old_metrics_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("kept")
    monkeypatch.setenv(MULTIPROCESS_DIR, str(tmp_path))
    assert metrics_directory() == (tmp_path, False)
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]
    monkeypatch.setenv(MULTIPROCESS_DIR, str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="is not a directory"):
        metrics_directory()
