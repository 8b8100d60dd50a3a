"""data/validation: every schema rule names the column and shows offending values."""

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import ColumnSpec, DataConfig
from {{ cookiecutter.package_name }}.core.validation import (
    MAX_EXAMPLES,
    Violation,
    check_frame,
    clean_frame,
)

LABELS = ["a", "b", "a", "b"]


@pytest.fixture
def schema(make_data_config: Callable[..., DataConfig]) -> DataConfig:
    """The toy schema, with day as a datetime column."""
    data = make_data_config("classification")
    columns = {**data.columns, "day": data.columns["day"].model_copy(update={"type": "datetime"})}
    return data.model_copy(update={"columns": columns})


@pytest.fixture
def raw() -> pd.DataFrame:
    """Four valid rows, as read from a CSV file."""
    return pd.DataFrame(
        {
            "label": LABELS,
            "shop": ["s1", "s2", "s1", "s3"],
            "size": [1.5, 2.0, 9.5, 0.0],
            "amount": [10.0, 20.0, 30.0, 40.0],
            "day": ["2024-01-01", "2024-01-02", "2024-01-03 10:00", "2024-02-01"],
        }
    )


def only(violations: list[Violation], rule: str) -> Violation:
    matching = [violation for violation in violations if violation.rule == rule]
    assert len(matching) == 1, violations
    return matching[0]


def test_valid_frame_has_no_violations(raw: pd.DataFrame, schema: DataConfig) -> None:
    assert check_frame(raw, schema) == []


def test_missing_column(raw: pd.DataFrame, schema: DataConfig) -> None:
    violation = only(check_frame(raw.drop(columns="size"), schema), "missing_column")
    assert violation.column == "size"


def test_unexpected_column(raw: pd.DataFrame, schema: DataConfig) -> None:
    violation = only(check_frame(raw.assign(extra=1), schema), "unexpected_column")
    assert violation.column == "extra"
    allowed = schema.model_copy(update={"allow_extra_columns": True})
    assert check_frame(raw.assign(extra=1), allowed) == []


def test_numeric_dtype(raw: pd.DataFrame, schema: DataConfig) -> None:
    raw["size"] = ["1.5", "big", "2", "big"]
    violation = only(check_frame(raw, schema), "dtype")
    assert (violation.column, violation.examples) == ("size", ("big",))
    assert "found 2" in violation.detail


def test_datetime_dtype(raw: pd.DataFrame, schema: DataConfig) -> None:
    raw.loc[1, "day"] = "someday"
    violation = only(check_frame(raw, schema), "dtype")
    assert (violation.column, violation.examples) == ("day", ("someday",))


def test_categories(raw: pd.DataFrame, schema: DataConfig) -> None:
    raw.loc[2, "label"] = "c"
    violation = only(check_frame(raw, schema), "categories")
    assert (violation.column, violation.examples) == ("label", ("c",))


def test_min_and_max(raw: pd.DataFrame, schema: DataConfig) -> None:
    raw["size"] = [-1.5, 11.5, 12.5, 5.0]
    violations = check_frame(raw, schema)
    below, above = only(violations, "min"), only(violations, "max")
    assert (below.column, below.examples) == ("size", ("-1.5",))
    assert (above.column, above.examples) == ("size", ("11.5", "12.5"))
    assert "2 values above 10.0" in above.detail


def test_max_missing(raw: pd.DataFrame, schema: DataConfig) -> None:
    raw.loc[[0, 1], "size"] = np.nan  # 50% missing; the schema allows 25%
    violation = only(check_frame(raw, schema), "max_missing")
    assert violation.column == "size"
    assert "50.0%" in violation.detail
    assert "25.0%" in violation.detail
    raw.loc[1, "size"] = 2.0  # 25% is allowed
    assert check_frame(raw, schema) == []


def test_empty_frame(raw: pd.DataFrame, schema: DataConfig) -> None:
    assert [(v.column, v.rule) for v in check_frame(raw.head(0), schema)] == [("<file>", "empty")]


def test_target_all_missing(raw: pd.DataFrame, schema: DataConfig) -> None:
    raw["label"] = np.nan
    violation = only(check_frame(raw, schema), "target")
    assert violation.column == "label"


def test_examples_are_distinct_and_few(raw: pd.DataFrame, schema: DataConfig) -> None:
    many = pd.concat([raw] * 5, ignore_index=True)
    many["label"] = [f"x{index % 7}" for index in range(len(many))]
    violation = only(check_frame(many, schema), "categories")
    assert violation.examples == tuple(f"x{index}" for index in range(MAX_EXAMPLES))


def test_describe_names_column_rule_and_examples() -> None:
    text = Violation("size", "min", "1 values below 0.0", ("-1.5",)).describe()
    assert text == "column 'size': min: 1 values below 0.0 e.g. ['-1.5']"


def test_clean_frame_drops_rows_without_target_and_keeps_types(
    raw: pd.DataFrame, schema: DataConfig
) -> None:
    raw["size"] = ["1.5", "2", None, "0"]
    raw.loc[3, "shop"] = np.nan
    raw.loc[1, "label"] = np.nan
    cleaned = clean_frame(raw.assign(extra=1), schema)
    assert list(cleaned.columns) == list(schema.columns)
    assert list(cleaned["label"]) == ["a", "a", "b"]
    assert list(cleaned.index) == [0, 1, 2]
    assert cleaned["size"].dtype == "float64"
    assert cleaned["size"].iloc[0] == 1.5
    assert pd.isna(cleaned["size"].iloc[1])
    assert pd.api.types.is_datetime64_any_dtype(cleaned["day"])
    assert cleaned["day"].iloc[1] == pd.Timestamp("2024-01-03 10:00")
    assert cleaned["shop"].iloc[0] == "s1"
    assert pd.isna(cleaned["shop"].iloc[2])  # missing stays missing, not the text "nan"


def test_clean_frame_turns_categories_into_text(raw: pd.DataFrame, schema: DataConfig) -> None:
    raw["shop"] = [1, 2, 1, 3]
    assert list(clean_frame(raw, schema)["shop"]) == ["1", "2", "1", "3"]


def test_yes_no_columns_accept_yes_no_words_only(schema: DataConfig, raw: pd.DataFrame) -> None:
    member = ColumnSpec(type="boolean", max_missing=0.5)
    typed = schema.model_copy(update={"columns": {**schema.columns, "member": member}})
    raw["member"] = pd.Series(["yes", "No", None, "maybe"], dtype=object)
    violation = only(check_frame(raw, typed), "dtype")
    assert (violation.column, violation.examples) == ("member", ("maybe",))
    raw.loc[3, "member"] = True
    assert check_frame(raw, typed) == []
    cleaned = clean_frame(raw, typed)
    assert cleaned["member"].dtype == "boolean"
    assert cleaned["member"].tolist() == [True, False, pd.NA, True]


def test_free_text_needs_nothing_but_its_missing_rate(
    schema: DataConfig, raw: pd.DataFrame
) -> None:
    review = ColumnSpec(type="text", max_missing=0.25)
    typed = schema.model_copy(update={"columns": {**schema.columns, "review": review}})
    raw["review"] = ["great", "arrived broken, twice", None, "3"]
    assert check_frame(raw, typed) == []
    raw.loc[0, "review"] = None
    assert only(check_frame(raw, typed), "max_missing").column == "review"
