"""Checks for the classic data mistakes that make a first model look better than it is.

Pure: frames in, findings out. Column checks (`column_findings`: leakage, identifiers,
constant columns) run in `validate` and, on every column, in `data init`; split checks
(`split_findings`: rows copied across splits, groups shared by them, training rows from the
future) run in `split`. Each finding names its column and the figure measured; the dataset's
``checks:`` config (`DataChecksConfig`) says whether it stops the stage or is printed.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from .config import CheckConfig, ColumnCheckConfig, DataConfig
from .split import Splits
from .task import Task

Check = Literal["leakage", "identifier", "constant", "duplicates", "group_overlap", "time_order"]

# A finding about whole rows rather than one column.
ROWS = "<rows>"
# Leakage is scored on at most this many rows: a leak that strong shows on a sample.
MAX_ROWS = 20_000
FOLDS = 5
# Fewer rows than this measure nothing reliably: every value of a tiny table looks unique.
MIN_ROWS = 20
# Deep enough for a near-copy of the target (R-squared > 0.99 with 64 leaves), shallow enough
# that an honest strong predictor stays below the threshold.
TREE_DEPTH = 6
MISSING = "<missing>"
# Integer columns are identifiers by name (customer_id, order_no) or by their values
# (consecutive row numbers); other all-distinct numbers are measurements.
ID_NAME = re.compile(r"(^|[^a-z])(id|ids|key|uuid|guid|no|num|number|index|idx)([^a-z]|$)")

FIXES: dict[Check, str] = {
    "leakage": (
        "if the column is not known at prediction time, or is derived from the target, set "
        "`feature: false` for it; if it truly is available, add it to data.checks.leakage.accept"
    ),
    "identifier": "set `feature: false` for it, or add it to data.checks.identifier.accept",
    "constant": "set `feature: false` for it, or add it to data.checks.constant.accept",
    "duplicates": (
        "remove the duplicated rows from the raw data, or split by the entity the copies share "
        "(split=group with data.group_column)"
    ),
    "group_overlap": "write each group's value one way in the raw data (case, spaces)",
    "time_order": "sort by data.time_column when splitting (split=time) so no row comes from later",
}


@dataclass(frozen=True)
class Finding:
    """One mistake found: which check, which column, the measured figure and what it means."""

    check: Check
    column: str
    figure: float
    detail: str
    blocking: bool

    def describe(self) -> str:
        return f"{self.check}: {self.detail}; fix: {FIXES[self.check]}"


def _finding(check: Check, config: CheckConfig, column: str, figure: float, detail: str) -> Finding:
    return Finding(check, column, round(figure, 4), detail, config.action == "fail")


def _runs(config: CheckConfig, column: str | None = None) -> bool:
    if config.action == "off":
        return False
    return not (isinstance(config, ColumnCheckConfig) and column in config.accept)


def _as_number(series: pd.Series, kind: str) -> np.ndarray:
    """A numeric or datetime column as floats (missing as NaN, which the trees route)."""
    if kind == "datetime":
        moments = pd.to_datetime(series, format="mixed")
        seconds = (moments - pd.Timestamp(0, tz=moments.dt.tz)).dt.total_seconds()
        return seconds.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(series).to_numpy(dtype="float64", na_value=np.nan)


def _folds(target: pd.Series, task: Task) -> list[tuple[np.ndarray, np.ndarray]]:
    stratify = task == "classification" and target.value_counts().min() >= FOLDS
    splitter = StratifiedKFold if stratify else KFold
    folds = splitter(n_splits=FOLDS, shuffle=True, random_state=0).split(
        np.zeros(len(target)), target
    )
    return list(folds)


def _lookup(keys: pd.Series, target: pd.Series, task: Task, train: np.ndarray) -> pd.Series:
    """Per value of ``keys``, the training rows' majority class or mean; unseen values get
    the overall one: what any model can learn from a categorical column alone."""
    known, outcome = keys.iloc[train], target.iloc[train]
    if task == "classification":
        table = pd.crosstab(known, outcome).idxmax(axis=1)
        fallback = outcome.mode().iloc[0]
    else:
        table = outcome.groupby(known).mean()
        fallback = outcome.mean()
    predicted = keys.map(table)
    return predicted.where(predicted.notna(), fallback)


def univariate_score(series: pd.Series, kind: str, target: pd.Series, task: Task) -> float:
    """Cross-validated score of a model that sees ``series`` alone: balanced accuracy
    (classification; chance is 1/classes whatever the imbalance) or R-squared of the target's
    ranks (regression; a few extreme values cannot hide a copy of the target in other units).

    Numbers and dates go to a depth-limited tree, anything else to a per-value lookup.
    """
    if task == "regression":
        target = target.astype(float).rank(pct=True)
    folds = _folds(target, task)
    if kind in ("numeric", "datetime"):
        values = _as_number(series, kind).reshape(-1, 1)
        tree = DecisionTreeClassifier if task == "classification" else DecisionTreeRegressor
        predicted = np.empty(len(target), dtype=object if task == "classification" else float)
        for train, test in folds:
            model = tree(max_depth=TREE_DEPTH, random_state=0)
            model.fit(values[train], target.iloc[train])
            predicted[test] = model.predict(values[test])
        predictions = pd.Series(predicted, index=target.index)
    else:
        keys = series.astype("string").fillna(MISSING)
        pieces = [_lookup(keys, target, task, train).iloc[test] for train, test in folds]
        predictions = pd.concat(pieces).reindex(target.index)
    if task == "classification":
        return float(balanced_accuracy_score(target.astype(str), predictions.astype(str)))
    return float(r2_score(target.astype(float), predictions.astype(float)))


def unique_share(name: str, series: pd.Series, kind: str) -> float | None:
    """Share of present values that are distinct, for a column that could be an identifier:
    a code without spaces, or a whole number named like one or counting rows. ``None`` for
    columns that are distinct by nature (measurements, timestamps, sentences)."""
    present = series.dropna()
    if len(present) < MIN_ROWS or kind == "datetime":
        return None
    if kind == "numeric":
        numbers = pd.to_numeric(present)
        if not (numbers == numbers.round()).all():
            return None
        span = float(numbers.max() - numbers.min()) + 1
        if not (ID_NAME.search(name.lower()) or span <= 2 * len(present)):
            return None
    elif present.astype(str).str.contains(r"\s").mean() >= 0.5:
        return None
    return present.nunique() / len(present)


def top_share(series: pd.Series) -> tuple[str, float]:
    """The most frequent value, as written in a message (``'NO'``, ``0.0`` or ``missing``:
    a missing value counts as one), and the share of rows it fills."""
    counts = series.value_counts(dropna=False, normalize=True)
    value = counts.index[0]
    return ("missing" if pd.isna(value) else repr(value)), float(counts.iloc[0])


def column_findings(frame: pd.DataFrame, data: DataConfig, columns: Iterable[str]) -> list[Finding]:
    """Leakage, identifier and constant findings of ``columns`` (typed, validated rows)."""
    checks = data.checks
    labelled = frame[frame[data.target].notna()]
    if len(labelled) > MAX_ROWS:
        labelled = labelled.sample(n=MAX_ROWS, random_state=0)
    target = labelled[data.target]
    measurable = len(labelled) >= MIN_ROWS and target.nunique() > 1
    metric = "balanced accuracy" if data.task == "classification" else "R-squared (of ranks)"
    found: list[Finding] = []
    for name in columns:
        kind = data.columns[name].type
        if measurable and _runs(checks.leakage, name):
            score = univariate_score(labelled[name], kind, target, data.task)
            if score >= checks.leakage.max_score:
                found.append(
                    _finding(
                        "leakage",
                        checks.leakage,
                        name,
                        score,
                        f"'{name}' alone predicts '{data.target}' with a cross-validated "
                        f"{metric} of {score:.3f} (max_score {checks.leakage.max_score})",
                    )
                )
        share = unique_share(name, frame[name], kind)
        if (
            _runs(checks.identifier, name)
            and share is not None
            and share >= checks.identifier.min_unique_share
        ):
            found.append(
                _finding(
                    "identifier",
                    checks.identifier,
                    name,
                    share,
                    f"'{name}' has a distinct value in {share:.1%} of rows "
                    f"(min_unique_share {checks.identifier.min_unique_share:.0%}): it identifies "
                    "rows rather than describing them",
                )
            )
        value, top = top_share(frame[name])
        if _runs(checks.constant, name) and top >= checks.constant.max_top_share:
            found.append(
                _finding(
                    "constant",
                    checks.constant,
                    name,
                    top,
                    f"'{name}' is {value} in {top:.1%} of rows "
                    f"(max_top_share {checks.constant.max_top_share:.0%}): it carries no signal",
                )
            )
    return found


def duplicate_share(frame: pd.DataFrame) -> float:
    """Share of rows that repeat an earlier row exactly (every column)."""
    return float(frame.duplicated().mean()) if len(frame) else 0.0


def _copies(later: pd.DataFrame, earlier: pd.DataFrame, columns: list[str]) -> int:
    seen = set(pd.util.hash_pandas_object(earlier[columns], index=False))
    hashes = pd.util.hash_pandas_object(later[columns], index=False)
    return int(hashes.isin(seen).sum())


def _group_keys(frame: pd.DataFrame, column: str) -> pd.Series:
    """Group values as a person reads them: case and surrounding spaces do not matter."""
    return frame[column].astype("string").str.strip().str.casefold().fillna(MISSING)


def split_findings(splits: Splits, data: DataConfig, strategy: str) -> list[Finding]:
    """Valid/test rows copied from training, groups shared across a group split, and rows
    later than the evaluated split's start in the splits before it under a time split."""
    checks = data.checks
    found: list[Finding] = []
    earlier = {"valid": [splits.train], "test": [splits.train, splits.valid]}
    # A copy is a record seen twice: identical in every column, not only in the features
    # (a table of a few categorical features repeats them naturally).
    columns = list(splits.train.columns)
    for name, before in earlier.items():
        later: pd.DataFrame = getattr(splits, name)
        known = pd.concat(before)
        if _runs(checks.duplicates) and len(later):
            copies = _copies(later, known, columns)
            share = copies / len(later)
            if copies and share > checks.duplicates.max_share:
                found.append(
                    _finding(
                        "duplicates",
                        checks.duplicates,
                        ROWS,
                        share,
                        f"{copies} of {len(later)} {name} rows ({share:.1%}) are copies of "
                        f"earlier splits' rows in every column "
                        f"(max_share {checks.duplicates.max_share:.0%})",
                    )
                )
        group = data.group_column
        if strategy == "group" and group and _runs(checks.group_overlap):
            keys = _group_keys(later, group)
            shared = sorted(set(keys) & set(_group_keys(known, group)))
            if shared:
                share = float(keys.isin(shared).mean())
                found.append(
                    _finding(
                        "group_overlap",
                        checks.group_overlap,
                        group,
                        share,
                        f"{len(shared)} value(s) of '{group}' are in {name} and an earlier split "
                        f"once case and spaces are ignored, e.g. {shared[:3]}: {share:.1%} of "
                        f"{name} rows belong to groups seen before",
                    )
                )
        time = data.time_column
        if strategy == "time" and time and _runs(checks.time_order) and later[time].notna().any():
            start = later[time].min()
            future = int((known[time] > start).sum())
            if future:
                share = future / len(known)
                found.append(
                    _finding(
                        "time_order",
                        checks.time_order,
                        time,
                        share,
                        f"{future} rows before the {name} split ({share:.1%}) are later by "
                        f"'{time}' than its first row ({start}): the model would see the future",
                    )
                )
    return found


def warnings(findings: Iterable[Finding]) -> list[str]:
    """What a stage prints for the findings that do not stop it."""
    return [f"warning: {finding.describe()}" for finding in findings if not finding.blocking]


def failure(findings: list[Finding], subject: str, dataset: str) -> str | None:
    """The error that stops a stage on blocking findings, or ``None`` when there is none."""
    blocking = [finding for finding in findings if finding.blocking]
    if not blocking:
        return None
    lines = "\n".join(f"  - {finding.describe()}" for finding in blocking)
    return (
        f"Data checks failed for {subject} ({len(blocking)} blocking finding(s)):\n{lines}\n"
        f"Each check's action (fail, warn, off) and threshold is under checks: in "
        f"conf/data/{dataset}.yaml (docs/your-data.md)."
    )
