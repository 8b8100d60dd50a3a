"""data/split: three deterministic strategies, each keeping rows in every split."""

from collections.abc import Callable

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import DataConfig, SplitConfig
from {{ cookiecutter.package_name }}.core.errors import ConfigError, ProjectError
from {{ cookiecutter.package_name }}.core.split import (
    Splits,
    reference_snapshot,
    split_frame,
)


def sizes(strategy: str, valid_size: float = 0.2, test_size: float = 0.2) -> SplitConfig:
    return SplitConfig(strategy=strategy, valid_size=valid_size, test_size=test_size)  # type: ignore[arg-type]


def indices(splits: Splits) -> list[list[int]]:
    return [sorted(part.index) for part in (splits.train, splits.valid, splits.test)]


def assert_partition(splits: Splits, frame: pd.DataFrame) -> None:
    """Every row lands in exactly one split, and no split is empty."""
    parts = indices(splits)
    assert all(parts)
    assert sorted(index for part in parts for index in part) == sorted(frame.index)


@pytest.mark.parametrize("strategy", ["stratified", "group", "time"])
def test_every_strategy_partitions_the_rows(
    strategy: str, data_config: DataConfig, make_frame: Callable[..., pd.DataFrame]
) -> None:
    frame = make_frame(100)
    assert_partition(split_frame(frame, data_config, sizes(strategy), seed=0), frame)


@pytest.mark.parametrize("strategy", ["stratified", "group", "time"])
def test_every_strategy_is_deterministic_for_a_seed(
    strategy: str, data_config: DataConfig, frame: pd.DataFrame
) -> None:
    first = split_frame(frame, data_config, sizes(strategy), seed=3)
    assert indices(split_frame(frame, data_config, sizes(strategy), seed=3)) == indices(first)


def test_stratified_keeps_class_proportions(
    classification_data: DataConfig, make_frame: Callable[..., pd.DataFrame]
) -> None:
    frame = make_frame(100)  # 60 a, 40 b
    splits = split_frame(frame, classification_data, sizes("stratified"), seed=0)
    for part in (splits.train, splits.valid, splits.test):
        assert part["label"].value_counts(normalize=True)["a"] == pytest.approx(0.6)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (60, 20, 20)


def test_stratified_depends_on_the_seed(data_config: DataConfig, frame: pd.DataFrame) -> None:
    split = sizes("stratified")
    assert indices(split_frame(frame, data_config, split, 0)) != indices(
        split_frame(frame, data_config, split, 1)
    )


def test_stratified_tolerates_a_rare_class(
    classification_data: DataConfig, frame: pd.DataFrame
) -> None:
    frame["label"] = ["b"] * 2 + ["a"] * (len(frame) - 2)  # too rare to stratify on
    assert_partition(split_frame(frame, classification_data, sizes("stratified"), 0), frame)


def test_group_puts_each_group_in_one_split(data_config: DataConfig, frame: pd.DataFrame) -> None:
    splits = split_frame(frame, data_config, sizes("group"), seed=0)
    groups = [set(part["shop"]) for part in (splits.train, splits.valid, splits.test)]
    assert all(groups)
    assert groups[0].isdisjoint(groups[1])
    assert groups[0].isdisjoint(groups[2])
    assert groups[1].isdisjoint(groups[2])
    assert set.union(*groups) == set(frame["shop"])


def test_group_needs_three_groups(data_config: DataConfig, frame: pd.DataFrame) -> None:
    frame["shop"] = ["x", "y"] * (len(frame) // 2)
    with pytest.raises(ConfigError, match="at least 3 distinct values of 'shop'"):
        split_frame(frame, data_config, sizes("group"), seed=0)


def test_group_needs_a_group_column(
    make_data_config: Callable[..., DataConfig], frame: pd.DataFrame
) -> None:
    data = make_data_config("classification", group_column=None, slice_columns=[])
    with pytest.raises(ConfigError, match=r"data\.group_column"):
        split_frame(frame, data, sizes("group"), seed=0)


def test_time_orders_train_valid_test(data_config: DataConfig, frame: pd.DataFrame) -> None:
    splits = split_frame(frame, data_config, sizes("time"), seed=0)
    assert splits.train["day"].max() <= splits.valid["day"].min()
    assert splits.valid["day"].max() <= splits.test["day"].min()
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (36, 12, 12)


def test_time_keeps_ties_together_in_file_order(
    data_config: DataConfig, frame: pd.DataFrame
) -> None:
    frame["day"] = 1.0
    splits = split_frame(frame, data_config, sizes("time"), seed=0)
    assert list(splits.train.index) == list(range(36))


def test_time_needs_a_time_column(
    make_data_config: Callable[..., DataConfig], frame: pd.DataFrame
) -> None:
    data = make_data_config("regression", time_column=None)
    with pytest.raises(ConfigError, match=r"data\.time_column"):
        split_frame(frame, data, sizes("time"), seed=0)


def test_an_empty_split_raises(
    data_config: DataConfig, make_frame: Callable[..., pd.DataFrame]
) -> None:
    with pytest.raises(ProjectError, match="left the valid split empty"):
        split_frame(make_frame(4), data_config, sizes("time", 0.1, 0.1), seed=0)


def test_reference_snapshot(frame: pd.DataFrame) -> None:
    assert reference_snapshot(frame, size=100, seed=0) is frame
    sample = reference_snapshot(frame, size=10, seed=0)
    assert len(sample) == 10
    assert sample.index.is_monotonic_increasing
    assert sample.equals(reference_snapshot(frame, size=10, seed=0))
    assert set(sample.index) <= set(frame.index)
