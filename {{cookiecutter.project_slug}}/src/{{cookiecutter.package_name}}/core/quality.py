"""Data quality of a monitored window against the schema and the reference (pure).

Production data is judged by rates, not by single values: one out-of-range value must not page
anyone, but 5% of them means an upstream change. Schema violations (a missing input column, a
numeric column that is not numeric) reuse the rules of the `validate` stage.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .columns import PREDICTION, PROBA_PREFIX
from .config import ColumnSpec, DataConfig, QualityConfig
from .drift import MISSING, category_counts, numeric_values
from .encoders import as_boolean
from .validation import Violation, check_column, column_set_violations

# Types whose values `validate` reads (a number, a date, a yes/no): unreadable ones are schema
# violations. Dates and free text have no categories: only their missing rate is watched.
TYPED = frozenset({"numeric", "datetime", "boolean"})
OPEN_ENDED = frozenset({"datetime", "text"})


@dataclass(frozen=True)
class FeatureQuality:
    """Rates of one feature; a rate is ``None`` where it does not apply to the column type."""

    name: str
    missing_rate_reference: float
    missing_rate_current: float
    out_of_range_rate: float | None
    unseen_rate: float | None
    problems: tuple[str, ...]

    @property
    def missing_rate_change(self) -> float:
        return self.missing_rate_current - self.missing_rate_reference


@dataclass(frozen=True)
class Quality:
    schema_violations: tuple[Violation, ...]
    features: tuple[FeatureQuality, ...]

    @property
    def problems(self) -> bool:
        return bool(self.schema_violations) or any(f.problems for f in self.features)


def expected_extra(name: str, config: QualityConfig) -> bool:
    """Columns a window may carry besides the schema: model outputs and configured extras."""
    return name == PREDICTION or name.startswith(PROBA_PREFIX) or name in config.ignore_columns


def schema_violations(
    frame: pd.DataFrame, data: DataConfig, config: QualityConfig
) -> list[Violation]:
    """Missing model inputs, unexpected columns and non-numeric values in numeric inputs.

    The target and non-input schema columns are optional: a window rarely has labels yet.
    """
    found = column_set_violations(
        frame.columns,
        data,
        required=data.feature_columns,
        missing="a model input absent from the window",
        unexpected="not in the schema nor in ignore_columns",
        tolerated=lambda name: expected_extra(name, config),
    )
    typed = [name for name in data.feature_columns if data.columns[name].type in TYPED]
    for name in typed:
        if name in frame.columns:
            rules = check_column(name, frame[name], data.columns[name])
            found.extend(violation for violation in rules if violation.rule == "dtype")
    return found


def _yes_no(series: pd.Series) -> pd.Series:
    """Readable yes/no values as True/False; an unreadable one stays, and counts as unseen."""
    read = series.map(as_boolean)
    return series.where(read.isna(), read)


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def feature_quality(
    name: str,
    spec: ColumnSpec,
    reference: pd.Series,
    current: pd.Series,
    config: QualityConfig,
) -> FeatureQuality:
    """Missing-rate change, and out-of-range (numeric) or unseen-category (categorical) rate."""
    out_of_range = unseen = None
    problems: list[str] = []
    if spec.type == "numeric":
        values = numeric_values(current)
        missing_current = float(pd.isna(current).mean()) if len(current) else 0.0
        present = values[~np.isnan(values)]
        low = -np.inf if spec.min is None else spec.min
        high = np.inf if spec.max is None else spec.max
        out_of_range = _rate(
            int(np.count_nonzero((present < low) | (present > high))), len(present)
        )
        if out_of_range > config.max_out_of_range_rate:
            problems.append(f"{out_of_range:.1%} of values outside [{spec.min}, {spec.max}]")
    elif spec.type in OPEN_ENDED:
        missing_current = float(pd.isna(current).mean()) if len(current) else 0.0
    else:
        counts = category_counts(current if spec.type != "boolean" else _yes_no(current))
        missing_current = _rate(counts.get(MISSING, 0), len(current))
        allowed = set(spec.categories or category_counts(reference))
        present = sum(count for label, count in counts.items() if label != MISSING)
        outside = sum(c for label, c in counts.items() if label not in allowed | {MISSING})
        unseen = _rate(outside, present)
        if unseen > config.max_unseen_rate:
            problems.append(f"{unseen:.1%} of values are unseen categories")
    missing_reference = float(pd.isna(reference).mean()) if len(reference) else 0.0
    if missing_current - missing_reference > config.max_missing_increase:
        problems.append(f"missing rate rose from {missing_reference:.1%} to {missing_current:.1%}")
    return FeatureQuality(
        name=name,
        missing_rate_reference=missing_reference,
        missing_rate_current=missing_current,
        out_of_range_rate=out_of_range,
        unseen_rate=unseen,
        problems=tuple(problems),
    )


def assess_quality(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    data: DataConfig,
    config: QualityConfig,
) -> Quality:
    """Schema violations of the window, and the rates of every model input it has."""
    return Quality(
        schema_violations=tuple(schema_violations(current, data, config)),
        features=tuple(
            feature_quality(name, data.columns[name], reference[name], current[name], config)
            for name in data.feature_columns
            if name in current.columns and name in reference.columns
        ),
    )
