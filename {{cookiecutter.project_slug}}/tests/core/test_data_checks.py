"""core/data_checks: each classic data mistake on a small synthetic table, found with its figure,
and honest columns left alone."""

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import ColumnSpec, DataChecksConfig, DataConfig
from {{ cookiecutter.package_name }}.core.data_checks import (
    ROWS,
    Finding,
    column_findings,
    duplicate_share,
    failure,
    split_findings,
    unique_share,
    univariate_score,
    warnings,
)
from {{ cookiecutter.package_name }}.core.split import Splits

ROW_COUNT = 400
Columns = dict[str, ColumnSpec]


def people(rows: int = ROW_COUNT, seed: int = 0) -> pd.DataFrame:
    """Who works: ``hours_worked`` is positive exactly for those who do (the leak), the other
    columns are honest, noisy predictors or noise."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 70, rows).astype(float)
    working = rng.random(rows) < 0.4 + 0.005 * (age - 18)
    return pd.DataFrame(
        {
            "working": np.where(working, "yes", "no"),
            "hours_worked": np.where(working, rng.integers(5, 60, rows), 0).astype(float),
            "age": age,
            "region": rng.choice(["north", "south", "east"], rows),
            "person_id": [f"p{i:05d}" for i in range(rows)],
            "row_number": np.arange(rows, dtype=float),
            "country": ["NO"] * (rows - 2) + ["SE", "DK"],
            "income": rng.normal(30_000, 5_000, rows).round(0),
        }
    )


COLUMNS: Columns = {
    "working": ColumnSpec(type="categorical", categories=["no", "yes"]),
    "hours_worked": ColumnSpec(type="numeric"),
    "age": ColumnSpec(type="numeric"),
    "region": ColumnSpec(type="categorical"),
    "person_id": ColumnSpec(type="categorical"),
    "row_number": ColumnSpec(type="numeric"),
    "country": ColumnSpec(type="categorical"),
    "income": ColumnSpec(type="numeric"),
}


def dataset(columns: Columns = COLUMNS, **changes: object) -> DataConfig:
    document: dict[str, object] = {
        "name": "people",
        "path": "data/raw/people.csv",
        "task": "classification",
        "target": "working",
        "columns": columns,
    }
    return DataConfig.model_validate({**document, **changes})


def found(findings: list[Finding]) -> dict[tuple[str, str], float]:
    return {(finding.check, finding.column): finding.figure for finding in findings}


@pytest.fixture
def findings() -> list[Finding]:
    data = dataset()
    return column_findings(people(), data, data.feature_columns)


def test_a_column_that_determines_the_target_leaks(findings: list[Finding]) -> None:
    leak = next(finding for finding in findings if finding.check == "leakage")
    assert (leak.column, leak.figure, leak.blocking) == ("hours_worked", 1.0, True)
    assert "'hours_worked' alone predicts 'working'" in leak.detail
    assert "balanced accuracy of 1.000 (max_score 0.98)" in leak.detail


def test_honest_columns_raise_no_finding(findings: list[Finding]) -> None:
    flagged = {finding.column for finding in findings}
    assert not flagged & {"age", "region", "income"}


def test_identifiers_by_code_and_by_consecutive_numbers(findings: list[Finding]) -> None:
    assert found(findings)[("identifier", "person_id")] == 1.0
    assert found(findings)[("identifier", "row_number")] == 1.0


def test_a_near_constant_column_is_a_warning_with_its_share(findings: list[Finding]) -> None:
    constant = next(finding for finding in findings if finding.check == "constant")
    assert (constant.column, constant.figure, constant.blocking) == ("country", 0.995, False)
    assert "'country' is 'NO' in 99.5% of rows" in constant.detail


def test_a_regression_target_copied_in_other_units_leaks() -> None:
    rng = np.random.default_rng(1)
    price = pd.Series(rng.lognormal(8.0, 1.0, 300))
    honest = price * rng.lognormal(0.0, 0.5, 300)
    assert univariate_score(price * 0.92, "numeric", price, "regression") > 0.99
    assert univariate_score(honest, "numeric", price, "regression") < 0.9


def test_a_category_that_renames_the_target_leaks() -> None:
    rng = np.random.default_rng(2)
    species = pd.Series(rng.choice(["adelie", "gentoo", "chinstrap"], 200))
    code = species.str[:3].str.upper()
    assert univariate_score(code, "categorical", species, "classification") == 1.0


def test_a_date_recorded_on_the_outcome_leaks() -> None:
    """A date set only once the outcome is known (missing otherwise) gives it away."""
    rng = np.random.default_rng(3)
    churned = pd.Series(rng.choice(["no", "yes"], 200))
    closed = pd.Series(
        pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 90, 200), "D")
    )
    closed_at = closed.where(churned == "yes")
    assert univariate_score(closed_at, "datetime", churned, "classification") == 1.0


def test_imbalance_alone_is_not_a_leak() -> None:
    """Balanced accuracy: predicting the 97% class everywhere scores 0.5, not 0.97."""
    rng = np.random.default_rng(4)
    rare = pd.Series(np.where(rng.random(500) < 0.03, "fraud", "ok"))
    noise = pd.Series(rng.normal(size=500))
    assert univariate_score(noise, "numeric", rare, "classification") < 0.6


def test_measurements_and_sentences_are_not_identifiers() -> None:
    rng = np.random.default_rng(5)
    assert unique_share("weight", pd.Series(rng.normal(70, 10, 50)), "numeric") is None
    prices = pd.Series(rng.integers(1_000, 900_000, 50).astype(float))
    assert unique_share("price", prices, "numeric") is None
    assert unique_share("order_id", prices, "numeric") == pytest.approx(prices.nunique() / 50)
    notes = pd.Series([f"called back on day {i}" for i in range(50)])
    assert unique_share("notes", notes, "categorical") is None
    assert unique_share("code", pd.Series([f"c{i}" for i in range(10)]), "categorical") is None


def test_accepted_and_disabled_checks_stay_silent() -> None:
    checks = DataChecksConfig.model_validate(
        {"leakage": {"accept": ["hours_worked"]}, "identifier": {"action": "off"}}
    )
    data = dataset(checks=checks)
    flagged = found(column_findings(people(), data, data.feature_columns))
    assert set(flagged) == {("constant", "country")}


def test_a_threshold_in_config_decides() -> None:
    data = dataset(checks={"constant": {"max_top_share": 0.999}, "leakage": {"action": "warn"}})
    findings = column_findings(people(), data, data.feature_columns)
    assert ("constant", "country") not in found(findings)
    assert not any(finding.blocking for finding in findings if finding.check == "leakage")


def test_too_few_rows_measure_nothing() -> None:
    data = dataset()
    assert column_findings(people(10), data, ["hours_worked", "person_id"]) == []


def splits_of(frame: pd.DataFrame, parts: list[str]) -> Splits:
    labels = pd.Series(parts, index=frame.index)
    return Splits(*(frame[labels == name] for name in ("train", "valid", "test")))


def test_test_rows_copied_from_training_rows_are_found() -> None:
    frame = people(100)
    doubled = pd.concat([frame, frame.iloc[:20]], ignore_index=True)
    parts = ["train"] * 80 + ["valid"] * 20 + ["test"] * 20  # test = copies of train rows
    data = dataset()
    [finding] = split_findings(splits_of(doubled, parts), data, "stratified")
    assert (finding.check, finding.column, finding.figure) == ("duplicates", ROWS, 1.0)
    assert "20 of 20 test rows (100.0%) are copies" in finding.detail


def test_a_few_copies_under_max_share_pass() -> None:
    frame = people(100)
    with_one_copy = pd.concat([frame, frame.iloc[:1]], ignore_index=True)
    parts = ["train"] * 60 + ["valid"] * 20 + ["test"] * 21
    assert split_findings(splits_of(with_one_copy, parts), dataset(), "stratified") == []


def test_a_group_spelled_two_ways_overlaps_across_a_group_split() -> None:
    frame = people(60).assign(region=["north"] * 40 + ["south"] * 10 + [" North"] * 10)
    parts = ["train"] * 40 + ["valid"] * 10 + ["test"] * 10
    data = dataset(group_column="region")
    [finding] = split_findings(splits_of(frame, parts), data, "group")
    assert (finding.check, finding.column, finding.figure) == ("group_overlap", "region", 1.0)
    assert "['north']" in finding.detail
    assert split_findings(splits_of(frame, parts), data, "stratified") == []


def test_training_rows_later_than_the_test_leak_the_future() -> None:
    frame = people(50).assign(year=[2020.0] * 30 + [2022.0] * 10 + [2021.0] * 5 + [2019.0] * 5)
    columns = {**COLUMNS, "year": ColumnSpec(type="numeric", feature=False)}
    data = dataset(columns, time_column="year")
    parts = ["train"] * 40 + ["valid"] * 5 + ["test"] * 5  # the oldest rows are the test set
    findings = split_findings(splits_of(frame, parts), data, "time")
    assert [(f.check, f.column, f.figure) for f in findings] == [
        ("time_order", "year", 0.25),
        ("time_order", "year", 1.0),
    ]
    assert "10 rows before the valid split (25.0%) are later by 'year'" in findings[0].detail


def test_a_sorted_time_split_is_clean() -> None:
    frame = people(50).assign(year=np.repeat([2019.0, 2020.0, 2021.0, 2022.0, 2023.0], 10))
    columns = {**COLUMNS, "year": ColumnSpec(type="numeric", feature=False)}
    parts = ["train"] * 30 + ["valid"] * 10 + ["test"] * 10
    data = dataset(columns, time_column="year")
    assert split_findings(splits_of(frame, parts), data, "time") == []


def test_duplicate_share_counts_repeats() -> None:
    frame = pd.DataFrame({"a": [1, 1, 2, 3], "b": ["x", "x", "y", "z"]})
    assert duplicate_share(frame) == 0.25


def test_failure_names_column_figure_and_fix(findings: list[Finding]) -> None:
    message = failure(findings, "data/raw/people.csv", "people")
    assert message is not None
    assert "3 blocking finding(s)" in message
    assert "'hours_worked' alone predicts 'working'" in message and "1.000" in message
    assert "set `feature: false`" in message and "conf/data/people.yaml" in message
    assert warnings(findings) == [
        f"warning: {finding.describe()}" for finding in findings if finding.check == "constant"
    ]
    assert failure([f for f in findings if not f.blocking], "x", "people") is None


def test_checks_accept_only_known_columns(make_data_config: Callable[..., DataConfig]) -> None:
    with pytest.raises(ValueError, match=r"checks.leakage.accept names \['nope'\]"):
        make_data_config("classification", checks={"leakage": {"accept": ["nope"]}})
