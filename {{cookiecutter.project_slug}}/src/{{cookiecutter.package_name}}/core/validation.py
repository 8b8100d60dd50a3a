"""Data validation rules: a DataFrame against the dataset schema, with no I/O.

`check_frame` returns every violation (column, rule, examples) so the `validate` job, the
`retrain` guard and monitoring's quality checks all apply one set of rules.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from .config import ColumnSpec, DataConfig
from .encoders import as_boolean

MAX_EXAMPLES = 5


WHOLE_FILE = "<file>"


@dataclass(frozen=True)
class Violation:
    """One broken rule: which column, which rule, what was found and a few offending values."""

    column: str
    rule: str
    detail: str
    examples: tuple[str, ...] = ()

    def describe(self) -> str:
        shown = f" e.g. {list(self.examples)}" if self.examples else ""
        subject = "file" if self.column == WHOLE_FILE else f"column '{self.column}'"
        return f"{subject}: {self.rule}: {self.detail}{shown}"


def _examples(values: pd.Series) -> tuple[str, ...]:
    return tuple(str(value) for value in values.drop_duplicates().head(MAX_EXAMPLES))


def check_column(name: str, series: pd.Series, spec: ColumnSpec) -> list[Violation]:
    """Every rule of one column: missing rate, type, categories and range."""
    found: list[Violation] = []
    missing_rate = float(series.isna().mean())
    if missing_rate > spec.max_missing:
        found.append(
            Violation(
                name,
                "max_missing",
                f"{missing_rate:.1%} of values are missing, more than the allowed "
                f"{spec.max_missing:.1%}",
            )
        )
    present = series.dropna()
    if spec.type == "numeric":
        numbers = pd.to_numeric(present, errors="coerce")
        not_numeric = present[numbers.isna()]
        if len(not_numeric):
            found.append(
                Violation(
                    name,
                    "dtype",
                    f"expected numeric values, found {len(not_numeric)} that are not",
                    _examples(not_numeric),
                )
            )
        numbers = numbers.dropna()
        if spec.min is not None and (numbers < spec.min).any():
            below = numbers[numbers < spec.min]
            found.append(
                Violation(name, "min", f"{len(below)} values below {spec.min}", _examples(below))
            )
        if spec.max is not None and (numbers > spec.max).any():
            above = numbers[numbers > spec.max]
            found.append(
                Violation(name, "max", f"{len(above)} values above {spec.max}", _examples(above))
            )
    elif spec.type == "categorical" and spec.categories is not None:
        text = present.astype(str)
        unknown = text[~text.isin(spec.categories)]
        if len(unknown):
            found.append(
                Violation(
                    name,
                    "categories",
                    f"{len(unknown)} values outside the allowed {spec.categories}",
                    _examples(unknown),
                )
            )
    elif spec.type == "boolean":
        unreadable = present[present.map(as_boolean).isna()]
        if len(unreadable):
            found.append(
                Violation(
                    name,
                    "dtype",
                    f"expected yes/no values (true/false, yes/no, 1/0, ...), found "
                    f"{len(unreadable)} that are not",
                    _examples(unreadable),
                )
            )
    elif spec.type == "datetime":
        parsed = pd.to_datetime(present, errors="coerce", format="mixed")
        unparsable = present[parsed.isna()]
        if len(unparsable):
            found.append(
                Violation(
                    name,
                    "dtype",
                    f"expected dates/times, found {len(unparsable)} values that are not",
                    _examples(unparsable),
                )
            )
    return found


def column_set_violations(
    columns: Iterable[object],
    data: DataConfig,
    *,
    required: Iterable[str],
    missing: str,
    unexpected: str,
    tolerated: Callable[[str], bool] = lambda name: False,
) -> list[Violation]:
    """Required columns that are absent and, unless the schema allows extra columns, columns
    outside the schema that are not ``tolerated``; ``missing``/``unexpected`` say why."""
    present = [str(name) for name in columns]
    found = [Violation(name, "missing_column", missing) for name in required if name not in present]
    if not data.allow_extra_columns:
        found.extend(
            Violation(name, "unexpected_column", unexpected)
            for name in present
            if name not in data.columns and not tolerated(name)
        )
    return found


def check_frame(frame: pd.DataFrame, data: DataConfig) -> list[Violation]:
    """All violations of the schema in ``frame``; an empty list means the data is valid."""
    if frame.empty:
        return [Violation(WHOLE_FILE, "empty", "the file has no rows")]
    found = column_set_violations(
        frame.columns,
        data,
        required=data.columns,
        missing="required by the schema but absent from the file",
        unexpected="not in the schema (add it to conf/data or set allow_extra_columns: true)",
    )
    for name, spec in data.columns.items():
        if name in frame.columns:
            found.extend(check_column(name, frame[name], spec))
    if data.target in frame.columns and frame[data.target].isna().all():
        found.append(Violation(data.target, "target", "the target column has no values"))
    return found


def clean_frame(frame: pd.DataFrame, data: DataConfig) -> pd.DataFrame:
    """Keep schema columns with their declared types; drop rows that have no target."""
    typed = pd.DataFrame(index=frame.index)
    for name, spec in data.columns.items():
        if spec.type == "numeric":
            typed[name] = pd.to_numeric(frame[name]).astype("float64")
        elif spec.type == "datetime":
            typed[name] = pd.to_datetime(frame[name], format="mixed")
        elif spec.type == "boolean":
            typed[name] = frame[name].map(as_boolean).astype("boolean")
        else:
            typed[name] = frame[name].where(frame[name].isna(), frame[name].astype(str))
    return typed[typed[data.target].notna()].reset_index(drop=True)
