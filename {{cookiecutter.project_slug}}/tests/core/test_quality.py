"""monitoring/quality: rates against the schema and the reference, and schema violations."""

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }}.core.config import ColumnSpec, DataConfig, QualityConfig
from {{ cookiecutter.package_name }}.core.quality import (
    FeatureQuality,
    assess_quality,
    feature_quality,
    schema_violations,
)

Window = Callable[..., pd.DataFrame]


def _problems(features: Sequence[FeatureQuality]) -> dict[str, tuple[str, ...]]:
    return {item.name: item.problems for item in features if item.problems}


def test_a_clean_window_has_no_problems(schema: DataConfig, make_window: Window) -> None:
    quality = assess_quality(make_window(2000, 1), make_window(300, 2), schema, QualityConfig())
    assert not quality.problems
    assert quality.schema_violations == ()


def test_a_jump_in_missing_values_is_flagged_on_its_feature(
    schema: DataConfig, make_window: Window
) -> None:
    current = make_window(300, 2, missing_x2=0.3)
    quality = assess_quality(make_window(2000, 1), current, schema, QualityConfig())
    assert list(_problems(quality.features)) == ["x2"]
    x2 = next(item for item in quality.features if item.name == "x2")
    assert x2.missing_rate_reference == 0.0
    assert 0.25 < x2.missing_rate_change < 0.35


def test_out_of_range_and_unseen_rates(schema: DataConfig, make_window: Window) -> None:
    current = make_window(100, 2)
    current.loc[:4, "x1"] = 99.0  # 5% above the schema's max of 10
    current.loc[:1, "colour"] = "purple"  # 2% outside the schema's categories
    current.loc[:0, "shop"] = "shop99"  # 1%: not above the 1% limit
    quality = assess_quality(make_window(2000, 1), current, schema, QualityConfig())
    rates = {item.name: (item.out_of_range_rate, item.unseen_rate) for item in quality.features}
    assert rates["x1"] == (0.05, None)
    assert rates["colour"] == (None, 0.02)
    assert rates["shop"] == (None, 0.01)  # no schema categories: the reference's are used
    assert sorted(_problems(quality.features)) == ["colour", "x1"]


def test_schema_violations_reuse_the_validation_rules(schema: DataConfig) -> None:
    frame = pd.DataFrame(
        {
            "x1": ["1.0", "oops", "2"],
            "colour": ["red", "red", "blue"],
            "prediction": ["a", "b", "a"],
            "proba_a": [0.5, 0.5, 0.5],
            "request_id": [1, 2, 3],
            "surprise": [1, 2, 3],
        }
    )
    config = QualityConfig(ignore_columns=["request_id"])
    found = {(v.column, v.rule) for v in schema_violations(frame, schema, config)}
    assert found == {
        ("x2", "missing_column"),
        ("shop", "missing_column"),
        ("surprise", "unexpected_column"),
        ("x1", "dtype"),
    }
    relaxed = schema.model_copy(update={"allow_extra_columns": True})
    assert ("surprise", "unexpected_column") not in {
        (v.column, v.rule) for v in schema_violations(frame, relaxed, config)
    }


def test_rates_of_an_empty_column_are_zero(schema: DataConfig, make_window: Window) -> None:
    current = make_window(60, 2)
    current["x1"] = np.nan
    quality = assess_quality(make_window(200, 1), current, schema, QualityConfig())
    x1 = next(item for item in quality.features if item.name == "x1")
    assert x1.out_of_range_rate == 0.0
    assert x1.missing_rate_current == 1.0
    assert x1.problems


def test_dates_text_and_booleans_get_the_rates_that_apply_to_them(schema: DataConfig) -> None:
    columns = {
        **schema.columns,
        "when": ColumnSpec(type="datetime", max_missing=0.5),
        "note": ColumnSpec(type="text", max_missing=0.5),
        "member": ColumnSpec(type="boolean", max_missing=0.5),
    }
    typed = schema.model_copy(update={"columns": columns})
    reference = pd.DataFrame(
        {
            "when": pd.to_datetime(["2024-01-01", "2024-01-02"] * 50),
            "note": ["fine", "broken"] * 50,
            "member": pd.array([True, False] * 50, dtype="boolean"),
        }
    )
    current = pd.DataFrame(
        {
            "when": ["2031-05-01", "not a date"] * 50,
            "note": ["never written before", None] * 50,
            "member": ["yes", "perhaps"] * 50,
        }
    )
    rated = {
        name: feature_quality(
            name, typed.columns[name], reference[name], current[name], QualityConfig()
        )
        for name in ("when", "note", "member")
    }
    assert (rated["when"].unseen_rate, rated["when"].out_of_range_rate) == (None, None)
    assert rated["note"].unseen_rate is None  # every text is new: that is not a problem
    assert rated["note"].missing_rate_current == 0.5
    assert rated["member"].unseen_rate == 0.5  # "perhaps" is no yes/no value
    violations = schema_violations(
        current.assign(x1=1.0, x2=1.0, colour="red", shop="s"), typed, QualityConfig()
    )
    assert {(item.column, item.rule) for item in violations} == {
        ("when", "dtype"),
        ("member", "dtype"),
    }
