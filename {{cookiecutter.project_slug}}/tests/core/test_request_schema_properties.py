"""Properties of the request-schema builder over random schemas: any columns (numeric with or
without a range, categories, free text), missing values allowed or not.

- The API's request model and the batch check give the same verdict (field and rule) on any
  record. Only values that mean the same in JSON and in a CSV cell are drawn: a CSV has no
  types, so numeric-looking text, NaN (an empty cell) and unknown columns (passed through) are
  batch-only conventions, and the type and length of free text are API-only rules.
- The feedback body accepts a JSON label exactly when ``check_label`` (file imports) does.
- Whatever request id is accepted can be echoed in a header: Latin-1, no control characters.
"""

import math
import string
from typing import Any

import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from {{ cookiecutter.package_name }}.core.config import ColumnSpec
from {{ cookiecutter.package_name }}.core.labels import check_label
from {{ cookiecutter.package_name }}.core.request_schema import (
    MAX_TEXT,
    RequestId,
    feedback_model,
    invalid_rows,
    problems,
    request_model,
)

LETTERS = st.text(string.ascii_letters, min_size=1, max_size=8)  # never empty


def reads_as_number(text: str) -> bool:
    """A CSV reader takes "inf" or "NaN" for a number; JSON keeps it text."""
    try:
        float(text)
    except ValueError:
        return False
    return True


WORDS = LETTERS.filter(lambda text: not reads_as_number(text))
BOUND = st.none() | st.floats(-1e6, 1e6, allow_nan=False)
MISSING = st.sampled_from([0.0, 0.2])


@st.composite
def numeric(draw: st.DrawFn) -> ColumnSpec:
    low, high = sorted([draw(BOUND) or 0.0, draw(BOUND) or 0.0])
    low_or_none = draw(st.sampled_from([low, None]))
    high_or_none = draw(st.sampled_from([high, None]))
    return ColumnSpec(type="numeric", min=low_or_none, max=high_or_none, max_missing=draw(MISSING))


@st.composite
def categorical(draw: st.DrawFn) -> ColumnSpec:
    # Not "True"/"False": a CSV cell holding a boolean reads as that text.
    names = LETTERS.filter(lambda text: text not in {"True", "False"})
    categories = draw(st.none() | st.lists(names, min_size=1, max_size=5, unique=True))
    return ColumnSpec(type="categorical", categories=categories, max_missing=draw(MISSING))


SPECS = st.one_of(numeric(), categorical())
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
SCHEMAS = st.dictionaries(NAMES, SPECS, min_size=1, max_size=5)


def values(spec: ColumnSpec) -> st.SearchStrategy[Any]:
    """Valid and invalid values of one column, as a JSON client could send them."""
    common = st.none() | st.booleans()
    if spec.type == "numeric":
        low = spec.min if spec.min is not None else -1e9
        high = spec.max if spec.max is not None else 1e9
        inside = st.floats(low, high, allow_nan=False, allow_infinity=False)
        outside = st.floats(allow_nan=False) | st.integers(-(10**12), 10**12)
        return common | inside | outside | WORDS
    if spec.categories:
        return common | st.sampled_from(spec.categories) | LETTERS | st.integers()
    return st.none() | st.text(max_size=MAX_TEXT)


def api_rules(schema: dict[str, ColumnSpec], record: dict[str, Any]) -> set[tuple[str, str]]:
    try:
        request_model(schema, max_records=1).model_validate({"records": [record]})
    except ValidationError as error:
        return {(p.field.removeprefix("records[0]."), p.rule) for p in problems(error)}
    return set()


def batch_rules(schema: dict[str, ColumnSpec], record: dict[str, Any]) -> set[tuple[str, str]]:
    frame = pd.DataFrame([{name: record.get(name) for name in schema}], dtype=object)
    found = invalid_rows(frame, schema)
    return set(found[["field", "rule"]].itertuples(index=False, name=None))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), schema=SCHEMAS)
def test_the_api_and_the_batch_check_agree_on_any_schema(
    data: st.DataObject, schema: dict[str, ColumnSpec]
) -> None:
    record = {name: data.draw(values(spec), label=name) for name, spec in schema.items()}
    absent = data.draw(st.sets(st.sampled_from(sorted(schema))), label="absent")
    record = {name: value for name, value in record.items() if name not in absent}
    assert api_rules(schema, record) == batch_rules(schema, record)


LABELS = st.none() | st.floats(allow_nan=False) | st.integers(-(10**6), 10**6) | WORDS


@settings(max_examples=300, deadline=None)
@given(target=SPECS, label=LABELS, record=st.integers(0, 9))
def test_the_feedback_body_accepts_what_an_import_accepts(
    target: ColumnSpec, label: Any, record: int
) -> None:
    numeric_target = target.type == "numeric"
    json_kind = isinstance(label, float | int) if numeric_target else isinstance(label, str)
    assume(label is None or json_kind)  # a number as text is an import-only convenience
    try:
        body = feedback_model(target, max_records=10).model_validate(
            {"request_id": "r-1", "label": label, "record": record}
        )
    except ValidationError:
        accepted = None
    else:
        accepted = body.label
    expected, _ = check_label(label, target)
    assert accepted == expected
    if numeric_target and accepted is not None:
        assert math.isfinite(accepted)


@given(st.text(max_size=200))
def test_an_accepted_request_id_is_safe_in_a_header(text: str) -> None:
    try:
        request_id = TypeAdapter(RequestId).validate_python(text)
    except ValidationError:
        return
    assert all(32 < ord(character) < 127 for character in request_id)
