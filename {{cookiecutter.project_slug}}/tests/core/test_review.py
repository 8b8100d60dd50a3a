"""feedback/review: the queue's threshold and order, and the export/import round trip."""

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import Config, ReviewConfig
from {{ cookiecutter.package_name }}.core.errors import DataValidationError
from {{ cookiecutter.package_name }}.core.review import review_queue
from {{ cookiecutter.package_name }}.io.feedback_store import FeedbackStore, log_path, store_path
from {{ cookiecutter.package_name }}.jobs import feedback as jobs

LogRequests = Callable[[list[tuple[str, float]]], Path]


def test_queue_holds_unlabelled_rows_below_the_threshold_least_confident_first() -> None:
    served = pd.DataFrame(
        {
            "request_id": ["sure", "unsure", "torn", "labelled"],
            "record": [0, 0, 0, 0],
            "proba_a": [0.95, 0.3, 0.5, 0.55],
            "proba_b": [0.05, 0.7, 0.5, 0.45],
        }
    )
    queue = review_queue(served, {("labelled", 0)}, ReviewConfig(below_confidence=0.75))
    assert list(queue["request_id"]) == ["torn", "unsure"]
    limited = review_queue(served, set(), ReviewConfig(below_confidence=0.75, max_items=1))
    assert list(limited["request_id"]) == ["torn"]


def _stored(config: Config) -> dict[str, object]:
    labels = FeedbackStore(store_path(log_path(config))).labels()
    return dict(zip(labels["request_id"], labels["label"], strict=True))


def test_label_studio_round_trip_labels_the_queue(
    toy_config: Config, log_requests: LogRequests, tmp_path: Path
) -> None:
    log_requests([("r1", 0.52), ("r2", 0.9), ("r3", 0.41)])
    tasks_file = tmp_path / "review.json"
    assert jobs.export_review(toy_config, "labelstudio", tasks_file) == 2  # r2 is confident
    tasks = json.loads(tasks_file.read_text())
    assert [task["data"]["request_id"] for task in tasks] == ["r1", "r3"]
    assert tasks[0]["predictions"][0]["result"][0]["value"] == {"choices": ["a"]}
    assert 'name="label"' in tasks_file.with_suffix(".xml").read_text()
    for task in tasks:  # a reviewer corrects every pre-filled answer to "b"
        result = [{**task["predictions"][0]["result"][0], "value": {"choices": ["b"]}}]
        task["annotations"] = [{"result": result, "was_cancelled": False}]
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(tasks))
    assert jobs.import_labels(toy_config, exported) == 2
    assert _stored(toy_config) == {"r1": "b", "r3": "b"}
    assert jobs.export_review(toy_config, "labelstudio", tasks_file) == 0  # all reviewed


def test_csv_round_trip_and_unknown_requests_are_skipped(
    toy_config: Config, log_requests: LogRequests, tmp_path: Path
) -> None:
    log_requests([("r1", 0.52)])
    queue_file = tmp_path / "review.csv"
    jobs.export_review(toy_config, "csv", queue_file)
    rows = pd.read_csv(queue_file)
    assert list(rows["request_id"]) == ["r1"] and rows["label"].isna().all()
    rows = pd.concat(
        [rows.assign(label="a"), pd.DataFrame({"request_id": ["gone"], "label": ["b"]})]
    )
    rows.to_csv(queue_file, index=False)
    assert jobs.import_labels(toy_config, queue_file) == 1
    assert _stored(toy_config) == {"r1": "a"}


def test_an_import_with_a_forbidden_label_stores_nothing(
    toy_config: Config, log_requests: LogRequests, tmp_path: Path
) -> None:
    log_requests([("r1", 0.52), ("r2", 0.6)])
    source = tmp_path / "labels.csv"
    pd.DataFrame({"request_id": ["r1", "r2"], "label": ["a", "zebra"]}).to_csv(source, index=False)
    with pytest.raises(DataValidationError, match="zebra"):
        jobs.import_labels(toy_config, source)
    assert _stored(toy_config) == {}
