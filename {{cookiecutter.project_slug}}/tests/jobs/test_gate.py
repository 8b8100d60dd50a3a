"""jobs/gate: the recent window of the gate, from the feedback store.

The whole release (register, gate, promote) runs for real in test_pipeline_in_process.py.
"""

from collections.abc import Callable

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import Config, RecentWindowConfig
from {{ cookiecutter.package_name }}.core.labels import Label
from {{ cookiecutter.package_name }}.io import paths
from {{ cookiecutter.package_name }}.io.feedback_store import FeedbackStore, store_path
from {{ cookiecutter.package_name }}.io.files import write_table
from {{ cookiecutter.package_name }}.jobs import gate

from ..conftest import LogRequests


def with_window(config: Config, **window: object) -> Config:
    settings = RecentWindowConfig.model_validate(window)
    return config.model_copy(
        update={"release": config.release.model_copy(update={"recent_window": settings})}
    )


@pytest.mark.parametrize(("labelled", "recent_rows"), [(2, None), (3, 3)])
def test_the_gate_also_judges_on_enough_labelled_production_rows(
    log_requests: LogRequests,
    toy_config: Config,
    make_frame: Callable[..., pd.DataFrame],
    labelled: int,
    recent_rows: int | None,
) -> None:
    log = log_requests([(f"r{index}", 0.3) for index in range(4)])
    FeedbackStore(store_path(log)).add([Label(f"r{index}", "a") for index in range(labelled)])
    write_table(make_frame(20), paths.TEST)

    sets = gate.holdout_sets(with_window(toy_config, min_rows=3))

    assert len(sets["test"]) == 20
    assert (len(sets["recent"]) if "recent" in sets else None) == recent_rows


def test_a_disabled_recent_window_leaves_the_test_split_alone(
    log_requests: LogRequests, toy_config: Config, make_frame: Callable[..., pd.DataFrame]
) -> None:
    log = log_requests([("r0", 0.3)])
    FeedbackStore(store_path(log)).add([Label("r0", "a")])
    write_table(make_frame(20), paths.TEST)
    sets = gate.holdout_sets(with_window(toy_config, enabled=False, min_rows=1))
    assert list(sets) == ["test"]
