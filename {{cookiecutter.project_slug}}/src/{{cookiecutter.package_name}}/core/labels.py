"""Labels in and out of files, and the rule a label must follow (pure: no file, no database).

Two import formats: a table (CSV) with ``request_id``, ``label`` and optionally ``record``
columns, which is also what Label Studio's CSV export gives with a control named ``label``; and
Label Studio's JSON export (full, or JSON-MIN). A label must fit the target's schema in
conf/data: one of its categories for a classifier, a number within its range for a regressor.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .config import ColumnSpec
from .errors import ProjectError

CONTROL = "label"  # the Label Studio control (<Choices name="label">) that holds the answer
RESULT_KEYS = ("choices", "number", "text")


@dataclass(frozen=True)
class Label:
    """The true value of one served record, and where it came from."""

    request_id: str
    label: str | float
    record: int = 0
    source: str = "import"


def _number(value: Any, target: ColumnSpec) -> tuple[float | None, str | None]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, f"{value!r} is not a number"
    if not math.isfinite(number):
        return None, f"{value!r} is not a finite number"
    if (target.min is not None and number < target.min) or (
        target.max is not None and number > target.max
    ):
        return None, f"{number} is outside [{target.min}, {target.max}]"
    return number, None


def check_label(value: Any, target: ColumnSpec) -> tuple[str | float | None, str | None]:
    """The label as stored (text class or float), or ``None`` and why it is not allowed."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None, "the label is empty"
    if target.type == "numeric":
        return _number(value, target)
    text = str(value)
    if target.categories is not None and text not in target.categories:
        return None, f"{text!r} is not one of {target.categories}"
    return text, None


def from_table(frame: pd.DataFrame, source: str) -> list[Label]:
    """Labels from a table with ``request_id`` and ``label`` (and optionally ``record``)."""
    missing = {"request_id", CONTROL} - set(frame.columns)
    if missing:
        raise ProjectError(f"the file needs the columns request_id and label; missing {missing}.")
    records = frame["record"] if "record" in frame.columns else pd.Series(0, index=frame.index)
    return [
        Label(str(request_id), label, int(record), source)
        for request_id, label, record in zip(
            frame["request_id"], frame[CONTROL], records.fillna(0), strict=True
        )
    ]


def _answer(results: Sequence[dict[str, Any]]) -> Any:
    """The value of the ``label`` control in one annotation's results (None if absent)."""
    for result in results:
        if result.get("from_name", CONTROL) != CONTROL:
            continue
        value = result.get("value", {})
        for key in RESULT_KEYS:
            if key in value:
                answer = value[key]
                return answer[0] if isinstance(answer, list) and answer else answer
    return None


def from_label_studio(tasks: Any, source: str) -> list[Label]:
    """Labels from a Label Studio JSON export; per task, its latest non-cancelled annotation.

    Tasks must carry ``request_id`` (and ``record``) in their data, as `export-review` writes
    them. A JSON-MIN export (flat objects with a ``label`` key) works too.
    """
    if not isinstance(tasks, list):
        raise ProjectError("a Label Studio export is a JSON list of tasks.")
    found = []
    for task in tasks:
        data = task.get("data", task) if isinstance(task, dict) else {}
        if "request_id" not in data:
            raise ProjectError(f"task {task.get('id', '?')} has no data.request_id to match.")
        if "annotations" in task:
            kept = [a for a in task["annotations"] if not a.get("was_cancelled")]
            kept.sort(key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""))
            answer = _answer(kept[-1].get("result", [])) if kept else None
        else:
            answer = task.get(CONTROL)
        if answer is not None:
            found.append(Label(str(data["request_id"]), answer, int(data.get("record", 0)), source))
    return found
