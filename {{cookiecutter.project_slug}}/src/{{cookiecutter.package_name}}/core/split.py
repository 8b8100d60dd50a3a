"""Split strategies: validated rows into train/valid/test, deterministic for a seed.

``stratified`` (random, keeping class balance for classification), ``group`` (every value of
``data.group_column`` lands in exactly one split, so the model is tested on unseen groups) and
``time`` (the most recent rows by ``data.time_column`` are the test set).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from .config import DataConfig, SplitConfig
from .errors import ConfigError, ProjectError


@dataclass(frozen=True)
class Splits:
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame


def _stratify_labels(frame: pd.DataFrame, data: DataConfig) -> pd.Series | None:
    """Class labels to stratify on, or None when a class is too rare to be split."""
    if data.task != "classification":
        return None
    labels = frame[data.target]
    return labels if labels.value_counts().min() >= 3 else None


def stratified_split(
    frame: pd.DataFrame, data: DataConfig, split: SplitConfig, seed: int
) -> Splits:
    rest, test = train_test_split(
        frame,
        test_size=split.test_size,
        random_state=seed,
        stratify=_stratify_labels(frame, data),
    )
    train, valid = train_test_split(
        rest,
        test_size=split.valid_size / (1.0 - split.test_size),
        random_state=seed,
        stratify=_stratify_labels(rest, data),
    )
    return Splits(train, valid, test)


def group_split(frame: pd.DataFrame, data: DataConfig, split: SplitConfig, seed: int) -> Splits:
    """Whole groups go to test, then valid, until each holds at least its share of rows."""
    if data.group_column is None:
        raise ConfigError("split.strategy=group needs data.group_column (e.g. island).")
    groups = frame[data.group_column].astype("string").fillna("<missing>")
    order = np.random.default_rng(seed).permutation(np.sort(groups.unique()))
    if len(order) < 3:
        raise ConfigError(
            f"split.strategy=group needs at least 3 distinct values of "
            f"'{data.group_column}', found {len(order)}."
        )
    sizes = groups.value_counts()
    assignment: dict[str, str] = {}
    filled = {"test": 0, "valid": 0}
    targets = {"test": split.test_size * len(frame), "valid": split.valid_size * len(frame)}
    for position, group in enumerate(order):
        remaining = len(order) - position
        part = next((name for name in ("test", "valid") if filled[name] < targets[name]), "train")
        if part != "train" and remaining == 1:
            part = "train"  # the training split always keeps at least one group
        assignment[group] = part
        if part != "train":
            filled[part] += int(sizes[group])
    parts = groups.map(assignment)
    return Splits(frame[parts == "train"], frame[parts == "valid"], frame[parts == "test"])


def time_split(frame: pd.DataFrame, data: DataConfig, split: SplitConfig, seed: int) -> Splits:
    """Oldest rows train, then valid, newest test; ties keep their file order."""
    del seed  # a time split has no randomness
    if data.time_column is None:
        raise ConfigError("split.strategy=time needs data.time_column (e.g. year).")
    ordered = frame.sort_values(data.time_column, kind="stable")
    n_test = round(len(ordered) * split.test_size)
    n_valid = round(len(ordered) * split.valid_size)
    n_train = len(ordered) - n_test - n_valid
    return Splits(
        ordered.iloc[:n_train],
        ordered.iloc[n_train : n_train + n_valid],
        ordered.iloc[n_train + n_valid :],
    )


STRATEGIES = {"stratified": stratified_split, "group": group_split, "time": time_split}


def split_frame(frame: pd.DataFrame, data: DataConfig, split: SplitConfig, seed: int) -> Splits:
    """Cut ``frame`` with the configured strategy; every split must keep some rows."""
    splits = STRATEGIES[split.strategy](frame, data, split, seed)
    for name in ("train", "valid", "test"):
        if getattr(splits, name).empty:
            raise ProjectError(
                f"split.strategy={split.strategy} left the {name} split empty "
                f"({len(frame)} rows); use more data or other split sizes."
            )
    return splits


def reference_snapshot(train: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """What monitoring compares production traffic with: a sample of the training rows."""
    if len(train) <= size:
        return train
    return train.sample(n=size, random_state=seed).sort_index()
