"""Transformers for the column types scikit-learn has no one-step encoder for.

Dates and times become calendar parts and days elapsed, yes/no values become 1/0, and a
free-text column becomes a bounded bag of words. Each is a fitted scikit-learn transformer,
so it lives inside the one pipeline and runs the same in training, batch scoring and the API.
They read leniently: a value that cannot be read becomes missing (and is imputed), because
`validate`, the API and batch scoring have already refused such values with a clear message.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

# scikit-learn ships no type hints: its base classes are Any to mypy.
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

# Yes/no words, case-insensitive (the strings pydantic reads as booleans), and 1/0: what a
# data file or a batch file may hold. The API itself takes JSON true/false only.
TRUE_WORDS = frozenset({"1", "on", "t", "true", "y", "yes"})
FALSE_WORDS = frozenset({"0", "off", "f", "false", "n", "no"})
TIME_OF_DAY = ("hour", "minute")
SECOND = pd.Timedelta(seconds=1)
EPOCH = pd.Timestamp(0, tz="UTC")


def as_boolean(value: Any) -> bool | None:
    """True or False for a yes/no value; None for a missing or unreadable one."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return True if value == 1 else False if value == 0 else None
    if isinstance(value, str):
        word = value.lower()
        return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None
    return None


def as_timestamps(values: Any) -> pd.Series:
    """Dates and times in UTC (a naive one is taken as UTC); NaT where missing or unreadable."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values).ravel())
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = series.dt
        return stamps.tz_convert("UTC") if stamps.tz is not None else stamps.tz_localize("UTC")
    parsed: pd.Series = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
    return parsed


def _columns(x: Any) -> list[pd.Series]:
    """The columns of a DataFrame or a 2-D array, as Series."""
    if isinstance(x, pd.DataFrame):
        return [x[name] for name in x.columns]
    array = np.asarray(x, dtype=object)
    return [pd.Series(array[:, index]) for index in range(array.shape[1])]


def _names(x: Any) -> list[str]:
    if isinstance(x, pd.DataFrame):
        return [str(name) for name in x.columns]
    return [f"x{index}" for index in range(np.asarray(x).shape[1])]


class BooleanEncoder(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Yes/no columns as 1.0/0.0, NaN where missing or unreadable (impute next)."""

    def fit(self, x: Any, y: Any = None) -> "BooleanEncoder":
        self.n_features_in_ = len(_names(x))
        if isinstance(x, pd.DataFrame):
            self.feature_names_in_ = np.asarray(_names(x), dtype=object)
        return self

    def transform(self, x: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        read = np.frompyfunc(_boolean_number, 1, 1)
        columns = [read(column.to_numpy(dtype=object)) for column in _columns(x)]
        return np.column_stack(columns).astype(float) if columns else np.empty((len(x), 0))


def _boolean_number(value: Any) -> float:
    read = as_boolean(value)
    return np.nan if read is None else float(read)


class DatetimeEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Dates and times as calendar ``parts`` and days elapsed since the earliest training date.

    The time-of-day parts (hour, minute) are kept only for a column whose training values
    have a time of day: a column of plain dates would get a constant zero.
    """

    def __init__(self, parts: Sequence[str] = ("year", "month", "day"), elapsed_days: bool = True):
        self.parts = parts
        self.elapsed_days = elapsed_days

    def fit(self, x: Any, y: Any = None) -> "DatetimeEncoder":
        names = _names(x)
        self.n_features_in_ = len(names)
        if isinstance(x, pd.DataFrame):
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.columns_: list[str] = names
        self.parts_: list[list[str]] = []
        self.reference_seconds_: list[float] = []
        for column in _columns(x):
            stamps = as_timestamps(column)
            timed = bool(((stamps - stamps.dt.floor("D")) > pd.Timedelta(0)).any())
            self.parts_.append([part for part in self.parts if timed or part not in TIME_OF_DAY])
            earliest = stamps.min()
            self.reference_seconds_.append(
                0.0 if pd.isna(earliest) else float((earliest - EPOCH) / SECOND)
            )
        return self

    def transform(self, x: Any) -> np.ndarray:
        check_is_fitted(self, "parts_")
        blocks = []
        for column, parts, reference in zip(
            _columns(x), self.parts_, self.reference_seconds_, strict=True
        ):
            stamps = as_timestamps(column)
            values = [_part(stamps, part) for part in parts]
            if self.elapsed_days:
                elapsed = (stamps - EPOCH) / SECOND - reference
                values.append(elapsed.to_numpy(dtype=float, na_value=np.nan) / 86_400)
            blocks.append(np.column_stack(values) if values else np.empty((len(stamps), 0)))
        return np.hstack(blocks) if blocks else np.empty((len(x), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "parts_")
        names = []
        for column, parts in zip(self.columns_, self.parts_, strict=True):
            names += [f"{column}_{part}" for part in parts]
            if self.elapsed_days:
                names.append(f"{column}_elapsed_days")
        return np.asarray(names, dtype=object)


def _part(stamps: pd.Series, part: str) -> np.ndarray:
    """A calendar part (``DatetimePart`` in core/config.py), named as pandas' ``.dt`` does."""
    values: pd.Series = getattr(stamps.dt, part)
    return values.to_numpy(dtype=float, na_value=np.nan)


class TextEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """One free-text column as a dense bag of words of at most the vectorizer's width.

    ``vectorizer`` is a scikit-learn text vectorizer (TF-IDF or hashing); missing text is the
    empty document. Output names are ``<column>_<word>`` (``<column>_hash<i>`` when hashed),
    so two text columns never share a name.
    """

    def __init__(self, vectorizer: Any = None):
        self.vectorizer = vectorizer

    def fit(self, x: Any, y: Any = None) -> "TextEncoder":
        names = _names(x)
        if len(names) != 1:
            raise ValueError(f"TextEncoder encodes one text column, got {len(names)}")
        self.n_features_in_ = 1
        if isinstance(x, pd.DataFrame):
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.column_ = names[0]
        try:
            self.vectorizer_ = clone(self.vectorizer).fit(_documents(x))
        except ValueError as error:  # e.g. no word left after min_df: name the column and fix
            raise ValueError(
                f"text column '{self.column_}': {error} (see features.text in conf/features)"
            ) from error
        return self

    def transform(self, x: Any) -> np.ndarray:
        check_is_fitted(self, "vectorizer_")
        dense: np.ndarray = self.vectorizer_.transform(_documents(x)).toarray()
        return dense.astype(float, copy=False)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "vectorizer_")
        if hasattr(self.vectorizer_, "get_feature_names_out"):
            words = list(self.vectorizer_.get_feature_names_out())
        else:  # hashing: columns are buckets, not words
            words = [f"hash{index}" for index in range(self.vectorizer_.n_features)]
        return np.asarray([f"{self.column_}_{word}" for word in words], dtype=object)


def _documents(x: Any) -> list[str]:
    (column,) = _columns(x)
    return ["" if pd.isna(text) else str(text) for text in column.to_numpy(dtype=object)]
