"""The review queue: served predictions the model was least sure of, without a label yet (pure).

Confidence is the top class probability. Reviewing the least confident predictions first is
uncertainty sampling: each label a person gives is worth the most to the next retrain. The
queue goes out as a Label Studio import file (with the model's answer as a pre-annotation,
so a reviewer confirms or corrects) or as CSV, and comes back through `feedback import`.
Each exported row carries the pseudonym of its entity (``entity``), so that `feedback forget`
can take one person's rows out of an export (``tasks_without``, ``rows_without``).
"""

from typing import Any

import pandas as pd

from .columns import PREDICTION, proba_columns
from .config import DataConfig, ReviewConfig
from .labels import CONTROL
from .served import KEYS

RECORD_VIEW = "record"  # the Label Studio object the control labels (<Text name="record">)
ENTITY = "entity"  # the pseudonym of the entity a row is about (None: the request named none)


def confidence(frame: pd.DataFrame) -> pd.Series:
    """Top class probability per row (NaN for a regressor, which has none)."""
    columns = proba_columns(frame.columns)
    if not columns:
        return pd.Series(float("nan"), index=frame.index)
    return frame[columns].astype(float).max(axis=1)


def review_queue(
    served: pd.DataFrame, labelled: set[tuple[str, int]], config: ReviewConfig
) -> pd.DataFrame:
    """Rows below the confidence threshold and not labelled yet, least confident first."""
    scored = served.assign(confidence=confidence(served))
    keys = list(zip(*(scored[key] for key in KEYS), strict=True))
    waiting = scored[
        (scored["confidence"] < config.below_confidence)
        & ~pd.Series([key in labelled for key in keys], index=scored.index, dtype=bool)
    ]
    return waiting.sort_values("confidence", kind="stable").head(config.max_items)


def _plain(value: Any) -> Any:
    """JSON-safe scalars: numpy numbers become Python ones, NaN becomes None."""
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def to_label_studio(queue: pd.DataFrame, data: DataConfig) -> list[dict[str, Any]]:
    """Label Studio tasks: the record's features to read, the model's answer pre-filled."""
    tasks = []
    for row in queue.to_dict("records"):
        features: dict[str, Any] = {name: _plain(row.get(name)) for name in data.feature_columns}
        text = ", ".join(f"{name}={value}" for name, value in features.items())
        shown: dict[str, Any] = {"request_id": row["request_id"], "record": int(row["record"])}
        shown[ENTITY] = _plain(row.get(ENTITY))
        shown.update(text=text, **features)
        choice = {"choices": [str(row[PREDICTION])]}
        answer = {"from_name": CONTROL, "to_name": RECORD_VIEW, "type": "choices", "value": choice}
        prediction = {
            "model_version": str(row.get("model_version", "")),
            "score": _plain(row["confidence"]),
            "result": [answer],
        }
        tasks.append({"data": shown, "predictions": [prediction]})
    return tasks


def to_table(queue: pd.DataFrame, data: DataConfig) -> pd.DataFrame:
    """CSV rows: keys, entity, features, the model's answer and confidence, an empty label."""
    columns = [*KEYS, ENTITY, *data.feature_columns, PREDICTION, "confidence"]
    return queue.reindex(columns=columns).assign(**{CONTROL: ""})


def labelling_config(data: DataConfig) -> str:
    """The Label Studio labelling interface that matches the exported tasks."""
    choices = "".join(f'<Choice value="{c}"/>' for c in data.columns[data.target].categories or [])
    return (
        f'<View><Text name="{RECORD_VIEW}" value="$text"/>'
        f'<Choices name="{CONTROL}" toName="{RECORD_VIEW}" choice="single">{choices}</Choices>'
        "</View>"
    )


def tasks_without(tasks: list[dict[str, Any]], entity: str) -> list[dict[str, Any]]:
    """Label Studio tasks without those about ``entity`` (a pseudonym)."""
    return [task for task in tasks if task.get("data", {}).get(ENTITY) != entity]


def rows_without(table: pd.DataFrame, entity: str) -> pd.DataFrame:
    """A review table without the rows about ``entity`` (a pseudonym)."""
    if ENTITY not in table.columns:
        return table
    kept: pd.DataFrame = table[table[ENTITY].to_numpy(dtype=object) != entity]
    return kept.reset_index(drop=True)
