"""Batch scoring: chunked, same rules and model as the API, invalid rows reported."""

import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import SparkConfig
from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.core.request_schema import columns_of
from {{ cookiecutter.package_name }}.io.bundle import Bundle
from {{ cookiecutter.package_name }}.jobs.predict import check_columns, score_file, score_on_spark

from ..conftest import serving_frame


@pytest.fixture
def rows() -> pd.DataFrame:
    """Scoring input with an id column, and three bad rows (out of range, category, type)."""
    frame = serving_frame(rows=50).drop(columns=["label", "day"]).astype({"amount": object})
    frame.insert(0, "id", range(50))
    frame.loc[3, "size"] = 42.0
    frame.loc[10, "shop"] = "elsewhere"
    frame.loc[20, "amount"] = "lots"
    return frame


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_scores_valid_rows_in_chunks_and_reports_invalid_ones(
    tmp_path: Path, bundles: dict[str, Bundle], rows: pd.DataFrame, suffix: str
) -> None:
    source = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        rows.to_csv(source, index=False)
    else:
        rows.astype({"amount": str}).to_parquet(source)
    output = tmp_path / f"out{suffix}"
    result = score_file(bundles["champion"], source, output, chunk_rows=7, progress=False)
    assert (result.rows, result.scored, result.invalid) == (50, 47, 3)
    scored = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    assert list(scored["id"]) == [i for i in range(50) if i not in {3, 10, 20}]
    assert {"prediction", "proba_a", "proba_b"} <= set(scored.columns)
    valid = rows.drop(index=[3, 10, 20]).astype({"amount": float})
    expected = bundles["champion"].pipeline.predict(valid[["shop", "size", "amount"]])
    assert list(scored["prediction"]) == list(expected)
    assert result.invalid_file is not None
    report = pd.read_csv(result.invalid_file)
    assert sorted(zip(report["row"], report["rule"], strict=True)) == [
        (3, "max"),
        (10, "categories"),
        (20, "type"),
    ]


def test_probabilities_can_be_left_out(
    tmp_path: Path, bundles: dict[str, Bundle], rows: pd.DataFrame
) -> None:
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    rows.to_csv(source, index=False)
    score_file(
        bundles["champion"], source, output, chunk_rows=20, probabilities=False, progress=False
    )
    scored = pd.read_csv(output)
    assert [name for name in scored.columns if name.startswith("proba_")] == []
    valid = rows.drop(index=[3, 10, 20]).astype({"amount": float})
    expected = bundles["champion"].pipeline.predict(valid[["shop", "size", "amount"]])
    assert list(scored["prediction"]) == list(expected)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_explain_writes_each_rows_contributions_adding_up_to_its_probability(
    tmp_path: Path, bundles: dict[str, Bundle], rows: pd.DataFrame, suffix: str
) -> None:
    source, output = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    if suffix == ".csv":
        rows.to_csv(source, index=False)
    else:
        rows.astype({"amount": str}).to_parquet(source)
    result = score_file(
        bundles["champion"], source, output, chunk_rows=7, explain=True, progress=False
    )
    assert result.scored == 47
    scored = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    shares = ["contribution_shop", "contribution_size", "contribution_amount"]
    assert {"explained", "base_value", *shares} <= set(scored.columns)
    assert list(scored["explained"]) == [f"proba_{label}" for label in scored["prediction"]]
    explained = [scored.loc[row, name] for row, name in enumerate(scored["explained"])]
    total = scored["base_value"] + scored[shares].sum(axis=1)
    assert total.to_numpy() == pytest.approx(explained, abs=1e-9)


def test_explain_needs_a_model_with_background_rows(
    tmp_path: Path, bundles: dict[str, Bundle], rows: pd.DataFrame
) -> None:
    source = tmp_path / "in.csv"
    rows.to_csv(source, index=False)
    with pytest.raises(ProjectError, match="cannot explain: it has no reference rows"):
        score_file(
            bundles["unexplained"], source, tmp_path / "out.csv", chunk_rows=10, explain=True
        )
    assert not (tmp_path / "out.csv").exists()


def test_a_missing_required_column_stops_the_run(
    tmp_path: Path, bundles: dict[str, Bundle], rows: pd.DataFrame
) -> None:
    source = tmp_path / "in.csv"
    rows.drop(columns=["amount"]).to_csv(source, index=False)
    with pytest.raises(ProjectError, match="required columns missing: amount"):
        score_file(bundles["champion"], source, tmp_path / "out.csv", chunk_rows=10, progress=False)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("suffix", "content", "problem"),
    [
        (".csv", "shop,size,amount\nshop1,1.0,2.0\nshop1,1.0,2.0,9\n", "not a valid CSV file"),
        (".parquet", "not parquet at all", "not a valid Parquet file"),
    ],
)
def test_a_malformed_file_is_named_with_its_problem(
    tmp_path: Path, bundles: dict[str, Bundle], suffix: str, content: str, problem: str
) -> None:
    source = tmp_path / f"in{suffix}"
    source.write_text(content)
    with pytest.raises(ProjectError, match=f"in{re.escape(suffix)}: {problem}"):
        score_file(bundles["champion"], source, tmp_path / "out.csv", chunk_rows=10, progress=False)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["id", "shop"], "required columns missing: amount"),
        (["shop", "size", "amount", "prediction", "proba_a"], "columns prediction, proba_a are"),
    ],
)
def test_spark_input_columns_are_checked_before_scoring(
    bundles: dict[str, Bundle], names: list[str], message: str
) -> None:
    columns = columns_of(bundles["champion"].metadata)
    with pytest.raises(ProjectError, match=message):
        check_columns("in.parquet", names, columns)


def test_the_spark_engine_without_pyspark_names_the_extra(
    tmp_path: Path,
    bundles: dict[str, Bundle],
    rows: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = tmp_path / "in.parquet"
    rows.astype({"amount": str}).to_parquet(source)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # what `import pyspark` sees uninstalled
    with pytest.raises(ProjectError, match=r"needs pyspark: install it with `make setup EXTRAS="):
        score_on_spark(
            bundles["champion"],
            str(source),
            str(tmp_path / "out"),
            SparkConfig(),
            master=None,
            chunk_rows=10,
        )
    assert not (tmp_path / "out").exists()
