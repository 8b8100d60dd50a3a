"""Input validation generated from the model's own schema (the ``columns`` of its metadata).

One set of rules, two forms: a pydantic request model for the API (one record at a time, and
the OpenAPI schema) and a vectorised check for batch files. Both name the field and the rule
(``type``, ``required``, ``categories``, ``min``, ``max``, ``finite``, ``unknown_field``), and
a test holds them to the same verdicts. A column may be missing (null) only when its schema
allows missing values (``max_missing > 0``); the pipeline imputes it then.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from .config import ColumnSpec

MAX_TEXT = 200
# pydantic error types -> the rule a client reads in a 422.
RULES = {
    "extra_forbidden": "unknown_field",
    "missing": "required",
    "literal_error": "categories",
    "greater_than_equal": "min",
    "less_than_equal": "max",
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


class PredictRequestBase(BaseModel):
    """What every request carries besides its records; subclassed per model schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    records: list[BaseModel]
    entity_id: str | None = Field(
        default=None,
        max_length=MAX_TEXT,
        description="Routes the request in canary mode; the same id always gets the same arm.",
    )


def columns_of(metadata: Mapping[str, Any]) -> dict[str, ColumnSpec]:
    """The model's input columns, in order, as typed specs (from bundle metadata)."""
    specs = metadata["columns"]
    return {name: ColumnSpec.model_validate(specs[name]) for name in metadata["feature_columns"]}


def nullable(spec: ColumnSpec) -> bool:
    return spec.max_missing > 0


def _field(spec: ColumnSpec) -> tuple[Any, Any]:
    kind: Any
    if spec.type == "numeric":
        kind = Annotated[float, Field(strict=True, ge=spec.min, le=spec.max, allow_inf_nan=False)]
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
            found.append(pd.DataFrame({"row": values.index, "field": name, "rule": rule,
                                       "value": values.to_numpy()}))  # fmt: skip

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
            finite = present & np.isfinite(numbers)
            if spec.min is not None:
                add(finite & (numbers < spec.min), name, "min")
            if spec.max is not None:
                add(finite & (numbers > spec.max), name, "max")
        elif spec.categories:
            text = column if pd.api.types.is_string_dtype(column) else column.astype(str)
            add(present & ~text.isin(spec.categories).to_numpy(), name, "categories")
    if not found:
        return pd.DataFrame({"row": [], "field": [], "rule": [], "value": []})
    return pd.concat(found, ignore_index=True).sort_values(["row", "field"], kind="stable")


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
