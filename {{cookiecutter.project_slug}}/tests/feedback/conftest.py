"""A prediction log of the toy classification schema, in a temporary project directory."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.config import Config, DataConfig
from {{ cookiecutter.package_name }}.feedback.store import log_path
from {{ cookiecutter.package_name }}.serving.prediction_log import Entry, PredictionLog

LogRequests = Callable[[list[tuple[str, float]]], Path]


@pytest.fixture
def toy_config(project_config: Config, classification_data: DataConfig) -> Config:
    """The project's config with the toy schema (label a/b; inputs shop, size, amount)."""
    return project_config.model_copy(update={"data": classification_data})


@pytest.fixture
def log_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy_config: Config
) -> LogRequests:
    """Run in ``tmp_path``; log one served request per (request id, P(a)) at the config's path."""
    monkeypatch.chdir(tmp_path)

    def write(requests: list[tuple[str, float]]) -> Path:
        path = log_path(toy_config)
        log = PredictionLog(path, max_rows=10_000, max_age_days=30.0, queue_size=10_000)
        for request_id, proba_a in requests:
            log.log(Entry(
                request_id, datetime.now(UTC), "toy", "1", "champion",
                [{"shop": "shop1", "size": 2.0, "amount": 3.0}],
                ["a" if proba_a >= 0.5 else "b"], [[proba_a, 1 - proba_a]], ["a", "b"], 1.5,
            ))  # fmt: skip
        log.close()
        return path

    return write
