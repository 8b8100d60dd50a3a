"""One batch checked and scored as every engine does it: each row out once, scored or refused
with its reason, and text read from a CSV scored as the numbers it holds."""

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.batch import (
    INVALID,
    INVALID_REASON,
    OUTCOME,
    SCORED,
    check_rows,
    model_inputs,
    predict,
)
from {{ cookiecutter.package_name }}.core.config import ColumnSpec
from {{ cookiecutter.package_name }}.core.predictor import Predictor
from {{ cookiecutter.package_name }}.core.request_schema import columns_of
from {{ cookiecutter.package_name }}.io.bundle import Bundle

from ..conftest import serving_frame

Model = tuple[Predictor, dict[str, ColumnSpec]]
REFUSED = {3: "size: max", 10: "amount: min; shop: categories", 12: "amount: type"}


@pytest.fixture
def model(bundles: dict[str, Bundle]) -> Model:
    bundle = bundles["champion"]
    columns = columns_of(bundle.metadata)
    return Predictor(bundle.pipeline, columns), columns


@pytest.fixture
def raw() -> pd.DataFrame:
    """A batch with an id column and three bad rows, one of which breaks two rules."""
    frame = serving_frame(rows=20).drop(columns=["label", "day"]).astype({"amount": object})
    frame.insert(0, "id", range(20))
    frame.loc[3, "size"] = 42.0
    frame.loc[10, "shop"] = "elsewhere"
    frame.loc[10, "amount"] = -1.0
    frame.loc[12, "amount"] = "lots"
    return frame


def test_every_row_comes_out_once_scored_or_with_its_reason(
    model: Model, raw: pd.DataFrame
) -> None:
    predictor, columns = model
    checked = check_rows(raw, columns)
    predictions = predict(predictor, columns, checked.valid, probabilities=True)

    out = checked.outcomes(predictions)

    assert list(out["id"]) == list(raw["id"])
    refused = out[out[OUTCOME] == INVALID]
    assert dict(zip(refused["id"], refused[INVALID_REASON], strict=True)) == REFUSED
    assert refused[["prediction", "proba_a", "proba_b"]].isna().all().all()
    scored = out[out[OUTCOME] == SCORED]
    assert len(scored) == len(raw) - len(REFUSED)
    assert scored[INVALID_REASON].isna().all()
    valid = raw.drop(index=list(REFUSED)).astype({"amount": float})
    expected = predictor.pipeline.predict(valid[["shop", "size", "amount"]])
    assert list(scored["prediction"]) == list(expected)


def test_text_is_scored_as_the_numbers_it_holds_and_passes_through_as_read(
    model: Model, raw: pd.DataFrame
) -> None:
    """What Spark reads from a CSV: every column as text, missing values as missing."""
    predictor, columns = model
    text = raw.astype(str).mask(raw.isna())

    as_text = predict(predictor, columns, check_rows(text, columns).valid, probabilities=True)
    as_numbers = predict(predictor, columns, check_rows(raw, columns).valid, probabilities=True)

    pd.testing.assert_frame_equal(as_text, as_numbers)
    out = check_rows(text, columns).outcomes(as_text)
    assert out.loc[0, "amount"] == text.loc[0, "amount"]  # the value as it was read


def test_a_batch_without_a_valid_row_keeps_the_prediction_columns(
    model: Model, raw: pd.DataFrame
) -> None:
    predictor, columns = model
    checked = check_rows(raw.loc[list(REFUSED)], columns)

    predictions = predict(predictor, columns, checked.valid, probabilities=True)

    assert (list(predictions.columns), len(predictions)) == (
        ["prediction", "proba_a", "proba_b"],
        0,
    )
    assert set(checked.outcomes(predictions)[OUTCOME]) == {INVALID}


def test_an_absent_optional_column_is_missing_in_every_row(model: Model, raw: pd.DataFrame) -> None:
    predictor, columns = model
    assert columns["size"].max_missing > 0

    checked = check_rows(raw.drop(index=list(REFUSED)).drop(columns=["size"]), columns)

    assert checked.problems.empty
    assert checked.rows["size"].isna().all()
    assert len(predict(predictor, columns, checked.valid, probabilities=False)) == len(checked.rows)


def test_model_inputs_are_numbers_and_text_as_the_model_was_trained() -> None:
    columns = {
        "code": ColumnSpec(type="categorical", categories=["1", "2"], max_missing=0.5),
        "size": ColumnSpec(type="numeric"),
    }
    frame = pd.DataFrame({"code": pd.Series([1, None], dtype=object), "size": ["2.5", "3"]})

    inputs = model_inputs(frame, columns)

    assert inputs["size"].dtype == np.float64
    assert list(inputs["size"]) == [2.5, 3.0]
    assert inputs.loc[0, "code"] == "1"
    assert pd.isna(inputs.loc[1, "code"])
