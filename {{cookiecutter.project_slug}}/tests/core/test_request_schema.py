"""One set of input rules, two forms: the API's request model and the batch check agree."""

from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.core.request_schema import (
    columns_of,
    invalid_rows,
    missing_columns,
    problems,
    request_model,
)
from {{ cookiecutter.package_name }}.io.bundle import Bundle

CASES: list[dict[str, Any]] = [
    {"shop": "shop1", "size": 1.0, "amount": 2.0},
    {"shop": "shop1", "size": None, "amount": 2.0},
    {"shop": "nope", "size": 1.0, "amount": 2.0},
    {"shop": "shop1", "size": 11.0, "amount": 2.0},
    {"shop": "shop1", "size": 1.0, "amount": -2.0},
    {"shop": "shop1", "size": 1.0, "amount": None},
    {"shop": "shop1", "size": 1.0, "amount": float("inf")},
    {"shop": "shop1", "size": 1.0, "amount": "many"},
    {"shop": None, "size": -1.0, "amount": 1.0},
]


def api_rules(model: Any, record: dict[str, Any]) -> set[tuple[str, str]]:
    try:
        model.model_validate({"records": [record]})
    except ValidationError as error:
        return {(p.field.split(".")[-1], p.rule) for p in problems(error)}
    return set()


def test_request_model_and_batch_check_give_the_same_verdicts(bundles: dict[str, Bundle]) -> None:
    columns = columns_of(bundles["champion"].metadata)
    model = request_model(columns, max_records=10)
    frame = pd.DataFrame(CASES, dtype=object)
    found = invalid_rows(frame, columns)
    for index, record in enumerate(CASES):
        batch = {
            (f, r)
            for f, r in found.loc[found["row"] == index, ["field", "rule"]].itertuples(index=False)
        }
        assert batch == api_rules(model, record), record


def test_problems_name_the_record_and_field(bundles: dict[str, Bundle]) -> None:
    model = request_model(columns_of(bundles["champion"].metadata), max_records=2)
    with pytest.raises(ValidationError) as caught:
        model.model_validate({"records": [CASES[0], CASES[2]], "x": 1})
    assert {(p.field, p.rule) for p in problems(caught.value)} == {
        ("records[1].shop", "categories"),
        ("x", "unknown_field"),
    }


def test_a_nullable_column_may_be_absent_from_a_file(bundles: dict[str, Bundle]) -> None:
    columns = columns_of(bundles["champion"].metadata)
    assert missing_columns(pd.DataFrame({"shop": ["shop1"]}), columns) == ["amount"]
    assert invalid_rows(
        pd.DataFrame({"shop": ["shop1"], "size": [np.nan], "amount": [1.0]}), columns
    ).empty
