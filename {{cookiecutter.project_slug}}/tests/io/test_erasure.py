"""Erasure across stores: review exports of both formats lose the entity's rows only, every
erasure is recorded (found or not), and an export that cannot be read stops it unrecorded."""

import json
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.core.labels import Label
from {{ cookiecutter.package_name }}.io import review_exports
from {{ cookiecutter.package_name }}.io.erasure import erase_entity, erasure_log, erasures
from {{ cookiecutter.package_name }}.io.feedback_store import FeedbackStore, store_path

TASKS = [
    {"data": {"request_id": "r1", "record": 0, "entity": "ada"}},
    {"data": {"request_id": "r2", "record": 0, "entity": None}},
]
TABLE = pd.DataFrame({"request_id": ["r1", "r2", "r3"], "entity": ["ada", None, "bob"]})


def test_exports_of_both_formats_lose_the_entitys_rows(tmp_path: Path) -> None:
    log = tmp_path / "predictions" / "predictions.db"
    review_exports.write_export(log, tmp_path / "review.json", TASKS)
    review_exports.write_export(log, tmp_path / "review.csv", TABLE)
    (tmp_path / "review.csv").rename(tmp_path / "moved.csv")  # gone: nothing to erase there
    erasure = erase_entity(log, "ada", who="tester")
    assert erasure.review_exports == {str((tmp_path / "review.json").resolve()): 1}
    assert json.loads((tmp_path / "review.json").read_text()) == TASKS[1:]
    assert review_exports.exports(log) == [(tmp_path / "review.json").resolve()]
    review_exports.write_export(log, tmp_path / "review.csv", TABLE)
    erase_entity(log, "ada", who="tester")
    assert pd.read_csv(tmp_path / "review.csv")["request_id"].tolist() == ["r2", "r3"]


def test_every_erasure_is_recorded_even_when_nothing_was_found(tmp_path: Path) -> None:
    log = tmp_path / "predictions.db"
    erasure = erase_entity(log, "ada", who="tester")
    assert (erasure.rows, erasure.who) == (0, "tester")
    erase_entity(log, "bob", who="tester")
    assert [record["entity"] for record in erasures(log)] == ["ada", "bob"]
    assert set(erasures(log)[0]) == {
        "entity", "when", "who", "prediction_log", "feedback", "review_exports",
    }  # fmt: skip


def test_an_unreadable_export_stops_the_erasure_before_anything_is_deleted(
    tmp_path: Path,
) -> None:
    log = tmp_path / "predictions.db"
    labels = FeedbackStore(store_path(log))
    labels.add([Label("r1", "a")], {("r1", 0): "ada"})
    review_exports.write_export(log, tmp_path / "review.json", TASKS)
    (tmp_path / "review.json").write_text("{not json")
    with pytest.raises(ProjectError, match=r"review\.json .* not valid JSON"):
        erase_entity(log, "ada", who="tester")
    assert len(labels.labels()) == 1 and not erasure_log(log).exists()
