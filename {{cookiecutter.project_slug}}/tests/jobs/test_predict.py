"""Batch scoring: chunked, same rules and model as the API, invalid rows reported."""

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.io.bundle import Bundle
from {{ cookiecutter.package_name }}.jobs.predict import score_file

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


def test_a_missing_required_column_stops_the_run(
    tmp_path: Path, bundles: dict[str, Bundle], rows: pd.DataFrame
) -> None:
    source = tmp_path / "in.csv"
    rows.drop(columns=["amount"]).to_csv(source, index=False)
    with pytest.raises(ProjectError, match="required columns missing: amount"):
        score_file(bundles["champion"], source, tmp_path / "out.csv", chunk_rows=10, progress=False)
    assert not (tmp_path / "out.csv").exists()
