"""`feedback forget`: one entity's rows leave the prediction log, the feedback store and the
review exports (checked in the files themselves), the erasure is recorded without the id, and
monitoring runs on what is left. (Import and export round trips: tests/core/test_review.py.)"""

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from {{ cookiecutter.package_name }}.core.assessment import Status
from {{ cookiecutter.package_name }}.core.config import Config, ReviewConfig
from {{ cookiecutter.package_name }}.core.privacy import KEY_VARIABLE, Privacy, PseudonymKeyError
from {{ cookiecutter.package_name }}.io import paths
from {{ cookiecutter.package_name }}.io.bundle import Bundle
from {{ cookiecutter.package_name }}.io.erasure import erasure_log, erasures
from {{ cookiecutter.package_name }}.io.feedback_store import log_path, store_path
from {{ cookiecutter.package_name }}.io.files import read_json
from {{ cookiecutter.package_name }}.io.prediction_log import Entry, PredictionLog
from {{ cookiecutter.package_name }}.jobs import feedback, monitor

from ..conftest import fit, metadata, write_bundle

KEY = "a test key, not a secret: 32 bytes+"
ADA = "ada@example.com"  # every third request is about her
INPUTS = ["x1", "x2", "colour", "shop"]


@pytest.fixture
def config(watch_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """The small schema; every served row goes into the review queue; run in ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    review = ReviewConfig(below_confidence=1.0)
    return watch_config.model_copy(
        update={"monitor": watch_config.monitor.model_copy(update={"review": review})}
    )


def serve(config: Config, window: pd.DataFrame) -> list[str]:
    """Log one request per row, as the API does; the request ids about ADA."""
    log = PredictionLog(
        log_path(config),
        max_rows=10_000,
        max_age_days=30.0,
        queue_size=10_000,
        privacy=Privacy.from_environment(),
    )
    hers = []
    for index, row in enumerate(window.to_dict("records")):
        entity = ADA if index % 3 == 0 else f"customer-{index}"
        hers += [f"r{index}"] if entity == ADA else []
        log.log(
            Entry(
                f"r{index}",
                datetime.now(UTC),
                "toy",
                "7",
                "champion",
                [{name: row[name] for name in INPUTS}],
                [row["prediction"]],
                [[row["proba_a"], row["proba_b"]]],
                ["a", "b"],
                1.0,
                entity_id=entity,
            )
        )
    log.close()
    return hers


def test_forget_erases_an_entity_everywhere_and_monitoring_still_runs(
    config: Config, tmp_path: Path, make_window: Callable[..., pd.DataFrame]
) -> None:
    window = make_window(300, 2).assign(request_id=[f"r{index}" for index in range(300)])
    hers = serve(config, window)
    labels = tmp_path / "labels.csv"
    window.head(150)[["request_id", "label"]].to_csv(labels, index=False)
    assert feedback.import_labels(config, labels) == 150
    tasks, table = tmp_path / "review.json", tmp_path / "review.csv"
    assert feedback.export_review(config, "labelstudio", tasks) == 150  # the unlabelled rows
    assert feedback.export_review(config, "csv", table) == 150
    exported = set(window["request_id"].tail(150))

    erasure = feedback.forget(config, ADA)

    entity = Privacy.from_environment().pseudonym(ADA)
    assert (erasure.entity, erasure.prediction_log) == (entity, len(hers))
    hers_exported = len(set(hers) & exported)
    assert erasure.review_exports == {
        str(tasks.resolve()): hers_exported,
        str(table.resolve()): hers_exported,
    }
    assert erasure.feedback == len(set(hers) - exported)
    ids = json.dumps(hers)
    in_list = "request_id IN (SELECT value FROM json_each(?))"
    for database, table_name in (
        (log_path(config), "predictions"),
        (store_path(log_path(config)), "feedback"),
    ):
        with sqlite3.connect(database) as connection:
            left = connection.execute(
                f"SELECT COUNT(*) FROM {table_name} WHERE entity = ? OR {in_list}",  # noqa: S608
                (entity, ids),
            ).fetchone()
        assert left == (0,), database
    assert not set(hers) & {task["data"]["request_id"] for task in json.loads(tasks.read_text())}
    assert not set(hers) & set(pd.read_csv(table)["request_id"])
    folder = log_path(config).parent
    assert not any(ADA.encode() in path.read_bytes() for path in folder.iterdir())
    assert ADA not in tasks.read_text() + table.read_text()

    [record] = erasures(log_path(config))
    assert record["entity"] == entity and record["prediction_log"] == len(hers)
    assert record["feedback"] == erasure.feedback and record["who"]
    assert ADA not in erasure_log(log_path(config)).read_text()

    model = Bundle(
        fit(config.data, make_window(200, 0), LogisticRegression()), metadata(config.data, "7")
    )
    bundle = write_bundle(tmp_path / "bundle", model, make_window(2000, 1), {"accuracy": 0.9})
    assert monitor.run_from_log(config, model=str(bundle)) in set(Status)
    report = read_json(paths.MONITORING_LATEST)
    assert report["windows"]["current_rows"] == 300 - len(hers)
    assert report["windows"]["labelled_rows"] > 0


def test_forget_without_the_key_is_an_error_naming_it(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_VARIABLE)
    with pytest.raises(PseudonymKeyError, match=KEY_VARIABLE):
        feedback.forget(config, ADA)
    assert not erasure_log(log_path(config)).exists()  # nothing recorded: nothing was erased
