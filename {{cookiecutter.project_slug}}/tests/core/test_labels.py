"""feedback/labels: the target's rule, and the CSV and Label Studio formats."""

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import ColumnSpec
from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.core.labels import check_label, from_label_studio, from_table
from {{ cookiecutter.package_name }}.io.feedback_store import Label

CLASSES = ColumnSpec(type="categorical", categories=["a", "b"])
AMOUNT = ColumnSpec(type="numeric", min=0.0, max=10.0)


@pytest.mark.parametrize(
    ("value", "target", "stored"),
    [("a", CLASSES, "a"), ("7.5", AMOUNT, 7.5), (0, AMOUNT, 0.0)],
)
def test_allowed_labels_are_normalised(value: object, target: ColumnSpec, stored: object) -> None:
    assert check_label(value, target) == (stored, None)


@pytest.mark.parametrize(
    ("value", "target", "why"),
    [
        ("c", CLASSES, "not one of"),
        ("", CLASSES, "empty"),
        (11, AMOUNT, "outside"),
        ("many", AMOUNT, "not a number"),
        (float("inf"), AMOUNT, "finite"),
    ],
)
def test_labels_the_target_forbids_say_why(value: object, target: ColumnSpec, why: str) -> None:
    stored, problem = check_label(value, target)
    assert stored is None and problem is not None and why in problem


def test_a_table_needs_request_id_and_label_and_defaults_record_to_0() -> None:
    labels = from_table(pd.DataFrame({"request_id": ["r1"], "label": ["a"]}), "file:x.csv")
    assert labels == [Label("r1", "a", 0, "file:x.csv")]
    with pytest.raises(ProjectError, match="request_id and label"):
        from_table(pd.DataFrame({"id": ["r1"], "label": ["a"]}), "file:x.csv")


def test_label_studio_takes_the_latest_kept_annotation_and_skips_unlabelled_tasks() -> None:
    def annotation(choice: str, when: str, cancelled: bool = False) -> dict[str, object]:
        result = [{"from_name": "label", "type": "choices", "value": {"choices": [choice]}}]
        return {"result": result, "updated_at": when, "was_cancelled": cancelled}

    tasks = [
        {
            "data": {"request_id": "r1", "record": 2},
            "annotations": [
                annotation("a", "2026-01-01"),
                annotation("b", "2026-01-02"),
                annotation("a", "2026-01-03", cancelled=True),
            ],
        },
        {"data": {"request_id": "r2"}, "annotations": []},
        {"request_id": "r3", "label": "a"},  # JSON-MIN
    ]
    assert from_label_studio(tasks, "ls") == [Label("r1", "b", 2, "ls"), Label("r3", "a", 0, "ls")]
