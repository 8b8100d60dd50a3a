"""Schema inference for `data init`: propose column types, categories, ranges and missing rates.

Types, in order of precedence: yes/no values are ``boolean``; numbers ``numeric``; ISO dates
``datetime``; text with at most ``MAX_CATEGORIES`` values ``categorical`` (listed); text of
several words per value ``text`` (free text); text with (nearly) one value per row an
identifier (``feature: false``); any other text a high-cardinality ``categorical`` (no list).

Pure: a DataFrame in, a dataset config document out; the job writes it to `conf/data/`.
The document selects its task's config (`conf/task/`), so a project switches between
classification and regression with the dataset alone.
"""

import math
import re
from typing import Any

import pandas as pd

from .config import DataConfig
from .encoders import FALSE_WORDS, TRUE_WORDS
from .errors import ConfigError, ProjectError
from .task import Task

BOOLEAN_WORDS = TRUE_WORDS | FALSE_WORDS
MAX_CATEGORIES = 50
MISSING_MARGIN = 0.05
# Free text: values of at least this many words, on the median. Product names of three words
# are text too: a bag of words reads them better than one category per name.
TEXT_MIN_WORDS = 3
# An identifier: at least this share of the values is distinct (order ids, e-mails, ...).
IDENTIFIER_UNIQUE_SHARE = 0.95


def infer_column(series: pd.Series) -> dict[str, Any]:
    """Type, allowed values and missing rate of one column, from what the data shows."""
    present = series.dropna()
    missing = float(series.isna().mean())
    # Round first: float error (0.1 + 0.05 = 0.15000000000000002) must not add a whole percent.
    allowed = math.ceil(round((missing + MISSING_MARGIN) * 100, 6)) / 100
    spec: dict[str, Any] = {"max_missing": min(1.0, allowed)}
    if pd.api.types.is_bool_dtype(series) or _looks_like_yes_no(present):
        return {"type": "boolean", **spec}
    if pd.api.types.is_numeric_dtype(series):
        return {"type": "numeric", "min": float(present.min()), "max": float(present.max()), **spec}
    if pd.api.types.is_datetime64_any_dtype(series) or _looks_like_dates(present):
        return {"type": "datetime", **spec}
    return {**_infer_strings(present.astype(str)), **spec}


def _infer_strings(text: pd.Series) -> dict[str, Any]:
    """Few values: categories, listed. Many: free text, an identifier or an open category."""
    values = sorted(text.unique())
    if len(values) <= MAX_CATEGORIES:
        return {"type": "categorical", "categories": values}
    if text.str.count(r"\S+").median() >= TEXT_MIN_WORDS:
        return {"type": "text"}
    if len(values) >= IDENTIFIER_UNIQUE_SHARE * len(text):
        # Identifiers: allowed through validation, but a model would only memorise them.
        return {"type": "categorical", "feature": False}
    return {"type": "categorical"}  # high-cardinality: target-encoded (core/features.py)


def _looks_like_yes_no(values: pd.Series) -> bool:
    """Two distinct yes/no words (yes/no, true/false, y/n, ...), as text, whatever their case."""
    if pd.api.types.is_numeric_dtype(values) or values.empty:
        return False
    words = set(values.astype(str).str.lower().unique())
    return len(words) == 2 and any(w in TRUE_WORDS for w in words) and words <= BOOLEAN_WORDS


def _looks_like_dates(values: pd.Series) -> bool:
    sample = values.astype(str).head(100)
    if sample.empty or not sample.str.match(r"^\d{4}-\d{2}-\d{2}").all():
        return False
    return bool(pd.to_datetime(sample, errors="coerce", format="mixed").notna().all())


def infer_task(series: pd.Series) -> Task:
    """Numbers are a regression target; anything else is a classification target."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return "regression"
    return "classification"


def infer_schema(
    frame: pd.DataFrame,
    *,
    name: str,
    path: str,
    target: str,
    task: Task | None = None,
    group: str | None = None,
    time: str | None = None,
) -> dict[str, Any]:
    """A `conf/data` document for ``frame``; raises when a named column does not exist."""
    for option, column in {"--target": target, "--group": group, "--time": time}.items():
        if column is not None and column not in frame.columns:
            raise ProjectError(
                f"{option} {column!r} is not a column; columns are {list(frame.columns)}."
            )
    chosen_task = task or infer_task(frame[target])
    columns = {str(column): infer_column(frame[column]) for column in frame.columns}
    if chosen_task == "classification" and columns[target]["type"] != "categorical":
        values = sorted(str(v) for v in frame[target].dropna().unique())
        columns[target] = {
            "type": "categorical",
            "categories": values,
            "max_missing": columns[target]["max_missing"],
        }
    if chosen_task == "regression" and columns[target]["type"] != "numeric":
        raise ProjectError(
            f"--target {target!r} holds {columns[target]['type']} values: a regression target "
            "must be numbers; use --task classification to predict its values as classes."
        )
    if time is not None and columns[time]["type"] == "categorical":
        columns[time] = {"type": "datetime", "max_missing": columns[time]["max_missing"]}
    document: dict[str, Any] = {"name": name, "path": path, "task": chosen_task, "target": target}
    # Every key is written, even when empty: DVC stages declare them as parameters.
    document["group_column"] = group
    document["time_column"] = time
    document["slice_columns"] = [group] if group else []
    document["columns"] = columns
    DataConfig.model_validate(document)
    return document


def dataset_config(schema: dict[str, Any]) -> dict[str, Any]:
    """The `conf/data/<name>.yaml` document of an inferred schema: its task is the task config
    it selects in its defaults list, which brings the task's model, split and metrics."""
    body = {key: value for key, value in schema.items() if key != "task"}
    return {"defaults": ["_self_", {"/task": schema["task"]}], **body}


def select_dataset(config_text: str, name: str) -> str:
    """Point the ``data:`` entry of the defaults list in conf/config.yaml at ``name``."""
    updated, count = re.subn(r"(?m)^(\s*-\s*data:\s*)\S+", rf"\g<1>{name}", config_text)
    if count != 1:
        raise ConfigError("conf/config.yaml has no single '- data: <name>' default to update.")
    return updated
