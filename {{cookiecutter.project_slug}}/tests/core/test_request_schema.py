"""One set of input rules, two forms: the API's request model and the batch check agree."""

from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.core.config import ColumnSpec
from {{ cookiecutter.package_name }}.core.request_schema import (
    MAX_DOCUMENT,
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


TYPED = {
    "when": ColumnSpec(type="datetime", max_missing=0.1),
    "member": ColumnSpec(type="boolean"),
    "review": ColumnSpec(type="text", max_missing=0.1),
}
TYPED_CASES: list[tuple[dict[str, Any], set[tuple[str, str]]]] = [
    ({"when": "2024-05-31", "member": True, "review": "fine"}, set()),
    ({"when": "2024-05-31T13:45:00.5+02:00", "member": False, "review": None}, set()),
    ({"when": "2024-05-31 13:45Z", "member": True, "review": "x" * 500}, set()),
    ({"when": None, "member": None, "review": "fine"}, {("member", "required")}),
    ({"when": "31/05/2024", "member": True, "review": "a"}, {("when", "type")}),
    ({"when": "2024-02-30", "member": True, "review": "a"}, {("when", "type")}),
    ({"when": "2024-05-31T25:00", "member": True, "review": "a"}, {("when", "type")}),
    ({"when": 20240531, "member": True, "review": "a"}, {("when", "type")}),
    ({"when": "2024-05-31", "member": "maybe", "review": "a"}, {("member", "type")}),
    ({"when": "2024-05-31", "member": 2, "review": "a"}, {("member", "type")}),
    ({"when": "2024-05-31", "member": True, "review": 3}, {("review", "type")}),
]


@pytest.mark.parametrize(("record", "expected"), TYPED_CASES)
def test_dates_booleans_and_text_in_a_request(
    record: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    assert api_rules(request_model(TYPED, max_records=10), record) == expected


def test_the_openapi_schema_states_the_new_types() -> None:
    record = request_model(TYPED, max_records=10).model_json_schema()["$defs"]["Record"]
    fields = record["properties"]
    assert fields["member"] == {"title": "Member", "type": "boolean"}
    when = fields["when"]["anyOf"][0]
    assert when["type"] == "string" and when["pattern"].startswith("^")
    assert "ISO 8601" in when["description"]
    assert fields["review"]["anyOf"][0] == {"maxLength": MAX_DOCUMENT, "type": "string"}


def test_a_batch_file_may_write_yes_no_words_and_parsed_dates() -> None:
    """CSV has no JSON types: yes/no words are booleans there; Parquet may hold datetimes."""
    frame = pd.DataFrame(
        {
            "when": ["2024-05-31", "2024-02-30", "soon", None],
            "member": ["yes", "No", "maybe", "1"],
            "review": ["a", None, "b", "c"],
        }
    )
    found = invalid_rows(frame, TYPED)
    assert set(zip(found["row"], found["field"], found["rule"], strict=True)) == {
        (1, "when", "type"),
        (2, "when", "type"),
        (2, "member", "type"),
    }
    parsed = frame.assign(when=pd.to_datetime(["2024-05-31", None, None, None]), member=True)
    assert invalid_rows(parsed, TYPED).empty
