"""The `split` stage: the splits are checked before they are written."""

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import Config, DataConfig
from {{ cookiecutter.package_name }}.core.errors import DataValidationError
from {{ cookiecutter.package_name }}.io import paths
from {{ cookiecutter.package_name }}.io.files import read_table, write_table
from {{ cookiecutter.package_name }}.jobs import split


@pytest.fixture
def config(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    project_config: Config,
    classification_data: DataConfig,
) -> Config:
    monkeypatch.chdir(tmp_path)
    return project_config.model_copy(update={"data": classification_data})


def test_clean_data_is_split_and_written(config: Config, frame: pd.DataFrame) -> None:
    write_table(frame, paths.VALIDATED)
    split.run(config)
    parts = [read_table(path) for path in (paths.TRAIN, paths.VALID, paths.TEST)]
    assert sum(len(part) for part in parts) == len(frame)


def test_rows_copied_across_splits_stop_it_before_anything_is_written(
    config: Config, frame: pd.DataFrame
) -> None:
    """Every row three times: a random split puts copies of training rows in valid and test."""
    write_table(pd.concat([frame, frame, frame], ignore_index=True), paths.VALIDATED)
    with pytest.raises(DataValidationError) as caught:
        split.run(config)
    message = str(caught.value)
    assert "Data checks failed for split.strategy=" in message
    assert (
        "test rows" in message and "are copies of earlier splits' rows in every column" in message
    )
    assert not paths.TRAIN.exists() and not paths.TEST.exists()
