"""io/labelled: served rows joined with the labels no model has trained on yet."""

from {{ cookiecutter.package_name }}.core.config import Config
from {{ cookiecutter.package_name }}.core.labels import Label
from {{ cookiecutter.package_name }}.io.feedback_store import FeedbackStore, store_path
from {{ cookiecutter.package_name }}.io.labelled import untrained

from ..conftest import LogRequests


def test_labelled_rows_not_trained_on_come_in_the_raw_schema(
    log_requests: LogRequests, toy_config: Config
) -> None:
    log = log_requests([(f"r{index}", 0.8) for index in range(5)])
    store = FeedbackStore(store_path(log))
    store.add([Label(f"r{index}", "b") for index in range(4)])  # r4 has no label
    store.mark_trained([("r0", 0)], "2026-01-01T00:00:00.000000Z")

    found = untrained(toy_config)

    assert found.keys == [("r1", 0), ("r2", 0), ("r3", 0)]
    assert list(found.rows.columns) == list(toy_config.data.columns)
    assert found.rows["label"].tolist() == ["b", "b", "b"]  # the label, not the prediction
    assert found.rows["amount"].tolist() == [3.0, 3.0, 3.0]


def test_no_feedback_yet_is_no_rows_and_creates_no_store(
    log_requests: LogRequests, toy_config: Config
) -> None:
    log = log_requests([("r0", 0.8)])
    found = untrained(toy_config)
    assert (found.rows.empty, found.keys) == (True, [])
    assert not store_path(log).exists()
