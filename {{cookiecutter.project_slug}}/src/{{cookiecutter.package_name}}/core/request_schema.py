"""Input validation generated from the model's own schema (the ``columns`` of its metadata).

One set of rules, two forms: a pydantic request model for the API (one record at a time, and
the OpenAPI schema) and a vectorised check for batch files. Both name the field and the rule
(``type``, ``required``, ``categories``, ``min``, ``max``, ``finite``, ``unknown_field``), and
a test holds them to the same verdicts. A column may be missing (null) only when its schema
allows missing values (``max_missing > 0``); the pipeline imputes it then. The body of a
feedback label is generated the same way from the target's schema (``feedback_model``), and
request ids follow one pattern (``RequestId``), safe to echo in a header.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
)
from pydantic_core import PydanticCustomError

from .bundle_metadata import BundleMetadata
from .config import ColumnSpec
from .encoders import as_boolean

MAX_TEXT = 200
MAX_DOCUMENT = 20_000  # characters of a free-text value (a `text` column)
# An ISO 8601 date, optionally with a time (seconds, up to 6 decimals) and a UTC offset.
ISO_DATETIME = (
    r"^[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?)?$"
)
DATETIME_HELP = "An ISO 8601 date or date and time, e.g. 2024-05-31 or 2024-05-31T13:45:00Z."
MAX_REQUEST_ID = 128
# Letters, digits and . _ : - only: an id is echoed in the x-request-id header (Latin-1, no
# control characters) and written to logs and label files, so nothing else is accepted.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]+$"
# pydantic error types -> the rule a client reads in a 422.
RULES = {
    "extra_forbidden": "unknown_field",
    "missing": "required",
    "literal_error": "categories",
    "greater_than_equal": "min",
    "less_than_equal": "max",
    "less_than": "max",
    "finite_number": "finite",
    "too_short": "min_records",
    "too_long": "max_records",
    "json_invalid": "json",
}


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (``records[3].island``), which rule, and pydantic's message."""

    field: str
    rule: str
    message: str


def _real_datetime(text: str) -> str:
    """An ISO 8601 date (and time) that exists (the pattern alone admits 2024-02-30); the
    text is kept as sent. A refusal's rule is ``type``, as in the batch check."""
    if re.fullmatch(ISO_DATETIME, text) is None:
        raise PydanticCustomError(
            "datetime_type", "Input should be an ISO 8601 date or date and time"
        )
    try:
        datetime.fromisoformat(text)
    except ValueError as error:
        raise PydanticCustomError(
            "datetime_type", "Input should be a real date: {reason}", {"reason": str(error)}
        ) from error
    return text


def _whole_number(value: Any) -> Any:
    """JSON Schema's integers include 3.0: take it as 3 (text, booleans and 3.5 stay refused)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class PredictRequestBase(BaseModel):
    """What every request carries besides its records; subclassed per model schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    records: list[BaseModel]
    entity_id: str | None = Field(
        default=None,
        max_length=MAX_TEXT,
        description="Whom the records are about: stored only as a keyed hash (erasable with "
        "DELETE /admin/entities/{id}), and the canary routing key (same id, same arm).",
    )
    explain: bool = Field(
        default=False,
        strict=True,
        description="Also explain each prediction: every input column's contribution "
        "(docs: Responsible ML).",
    )
    explain_top: Annotated[int, Field(strict=True, ge=1), BeforeValidator(_whole_number)] | None = (
        Field(
            default=None,
            description="With `explain`: only the largest contributions (the rest is summed "
            "in `other`); default: every column.",
        )
    )


RequestId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_REQUEST_ID,
        pattern=REQUEST_ID_PATTERN,
        description="Letters, digits and . _ : - (at most 128 characters).",
    ),
]


class FeedbackRequestBase(BaseModel):
    """The true label of one served record; ``feedback_model`` types the label per target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: RequestId
    label: Any
    record: int = 0


def columns_of(metadata: BundleMetadata) -> dict[str, ColumnSpec]:
    """The model's input columns, in order, as typed specs (from bundle metadata)."""
    return dict(metadata.columns)


def nullable(spec: ColumnSpec) -> bool:
    return spec.max_missing > 0


def _field(spec: ColumnSpec) -> tuple[Any, Any]:
    kind: Any
    if spec.type == "numeric":
        kind = Annotated[float, Field(strict=True, ge=spec.min, le=spec.max, allow_inf_nan=False)]
    elif spec.type == "boolean":
        kind = Annotated[bool, Field(strict=True)]
    elif spec.type == "datetime":
        kind = Annotated[
            str,
            Field(
                strict=True,
                description=DATETIME_HELP,
                json_schema_extra={"pattern": ISO_DATETIME},
            ),
            AfterValidator(_real_datetime),
        ]
    elif spec.type == "text":
        kind = Annotated[str, Field(strict=True, max_length=MAX_DOCUMENT)]
    elif spec.categories:
        kind = Literal[tuple(spec.categories)]
    else:
        kind = Annotated[str, Field(strict=True, max_length=MAX_TEXT)]
    if nullable(spec):
        return kind | None, None
    return kind, ...


def request_model(columns: Mapping[str, ColumnSpec], max_records: int) -> type[PredictRequestBase]:
    """The POST /predict body for this schema: 1..``max_records`` records, no unknown field."""
    record: type[BaseModel] = create_model(  # type: ignore[call-overload]
        "Record",
        __config__=ConfigDict(extra="forbid", frozen=True),
        **{name: _field(spec) for name, spec in columns.items()},
    )
    records = (list[record], Field(min_length=1, max_length=max_records))  # type: ignore[valid-type]
    return create_model("PredictRequest", __base__=PredictRequestBase, records=records)


def feedback_model(target: ColumnSpec, max_records: int) -> type[FeedbackRequestBase]:
    """The POST /feedback body for this target: the label ``check_label`` accepts (one of the
    classes, or a finite number within the target's range) for a record a request can have."""
    label: Any
    if target.type == "numeric" or target.categories:
        label, _ = _field(target.model_copy(update={"max_missing": 0.0}))
    else:  # free text: anything but empty
        label = Annotated[str, Field(strict=True, min_length=1, max_length=MAX_TEXT)]
    record = Annotated[
        int,
        Field(strict=True, ge=0, lt=max_records, description="The record's index in its request."),
        BeforeValidator(_whole_number),
    ]
    return create_model(
        "FeedbackRequest",
        __base__=FeedbackRequestBase,
        label=(label, ...),
        record=(record, 0),
    )


def _location(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def problems(error: ValidationError) -> list[Problem]:
    """Each pydantic error as field + rule + message; the value is never echoed back."""
    found = []
    for item in error.errors(include_url=False):
        rule = RULES.get(item["type"], "type" if item["type"].endswith("_type") else item["type"])
        if rule in {"type", "categories"} and item.get("input", "") is None:
            rule = "required"  # null where the schema allows no missing value
        found.append(Problem(_location(item["loc"]), rule, item["msg"]))
    return found


def invalid_rows(frame: pd.DataFrame, columns: Mapping[str, ColumnSpec]) -> pd.DataFrame:
    """Every broken rule of every row, vectorised: columns ``row``, ``field``, ``rule``, ``value``.

    ``row`` is the frame's index label. Columns outside the schema are not checked: a batch
    file may carry ids or labels that are passed through to the output. Masks are NumPy
    arrays: a valid chunk (the common case) costs a few comparisons per column.
    """
    found: list[pd.DataFrame] = []

    def add(mask: np.ndarray, name: str, rule: str) -> None:
        if mask.any():
            values = frame[name][mask].astype(str)
            found.append(
                pd.DataFrame(
                    {"row": values.index, "field": name, "rule": rule, "value": values.to_numpy()}
                )
            )

    for name, spec in columns.items():
        column = frame[name]
        missing = column.isna().to_numpy()
        if not nullable(spec):
            add(missing, name, "required")
        present = ~missing
        if spec.type == "numeric":
            numbers, wrong_type = _numbers(column)
            add(present & wrong_type, name, "type")
            add(present & np.isinf(numbers), name, "finite")
            finite = present & ~wrong_type & np.isfinite(numbers)  # a boolean is no number
            if spec.min is not None:
                add(finite & (numbers < spec.min), name, "min")
            if spec.max is not None:
                add(finite & (numbers > spec.max), name, "max")
        elif spec.type == "boolean":
            add(present & column.map(as_boolean).isna().to_numpy(), name, "type")
        elif spec.type == "datetime" and not pd.api.types.is_datetime64_any_dtype(column):
            add(present & ~_iso_datetimes(column), name, "type")
        elif spec.categories:
            text = column if pd.api.types.is_string_dtype(column) else column.astype(str)
            add(present & ~text.isin(spec.categories).to_numpy(), name, "categories")
    if not found:
        return pd.DataFrame({"row": [], "field": [], "rule": [], "value": []})
    return pd.concat(found, ignore_index=True).sort_values(["row", "field"], kind="stable")


def _iso_datetimes(column: pd.Series) -> np.ndarray:
    """Where a value is a real ISO 8601 date (and time), as the API's pattern + check accept."""
    text = column.astype(str)
    shaped = text.str.fullmatch(ISO_DATETIME).fillna(False).to_numpy(dtype=bool)
    parsed = pd.to_datetime(text.where(shaped), errors="coerce", format="ISO8601", utc=True)
    return shaped & parsed.notna().to_numpy()


def _numbers(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The column as float64 (NaN where not a number), and where a value is not a number.

    Booleans are not numbers: the API refuses true/false for a numeric field, so does batch.
    """
    if column.dtype.kind in "iuf":
        numbers = column.to_numpy(dtype="float64", na_value=np.nan)
        return numbers, np.zeros(len(column), dtype=bool)
    numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    booleans = column.map(lambda value: isinstance(value, bool | np.bool_)).to_numpy(dtype=bool)
    return numbers, np.isnan(numbers) | booleans


def missing_columns(frame: pd.DataFrame, columns: Mapping[str, ColumnSpec]) -> list[str]:
    """Schema columns a batch file lacks; a column that may be missing may also be absent."""
    return [name for name, spec in columns.items() if name not in frame and not nullable(spec)]
