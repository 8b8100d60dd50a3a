"""data/inference: a schema proposed from the data, for `data init`."""

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.core.config import DataConfig
from {{ cookiecutter.package_name }}.core.errors import ConfigError, ProjectError
from {{ cookiecutter.package_name }}.core.schema_inference import (
    MAX_CATEGORIES,
    dataset_config,
    infer_column,
    infer_schema,
    infer_task,
    select_dataset,
)

ROWS = MAX_CATEGORIES + 10


@pytest.fixture
def frame() -> pd.DataFrame:
    """Numeric (with a gap), categorical, date-like text, an id column and two targets."""
    return pd.DataFrame(
        {
            "weight": [float(index) if index % 10 else None for index in range(ROWS)],
            "colour": ["red", "green", "blue"] * (ROWS // 3),
            "when": [f"2024-01-{index % 28 + 1:02d}" for index in range(ROWS)],
            "id": [f"id-{index:04d}" for index in range(ROWS)],
            "kind": ["cat", "dog"] * (ROWS // 2),
            "price": [1.5 * index for index in range(ROWS)],
            "flag": [True, False] * (ROWS // 2),
        }
    )


def test_infer_schema_types_each_column(frame: pd.DataFrame) -> None:
    schema = infer_schema(frame, name="pets", path="data/raw/pets.csv", target="kind")
    columns = schema["columns"]
    assert columns["weight"] == {
        "type": "numeric",
        "min": 1.0,
        "max": float(ROWS - 1),
        "max_missing": 0.15,
    }
    assert columns["colour"] == {
        "type": "categorical",
        "categories": ["blue", "green", "red"],
        "max_missing": 0.05,
    }
    assert columns["when"] == {"type": "datetime", "max_missing": 0.05}
    assert columns["id"] == {"type": "categorical", "feature": False, "max_missing": 0.05}
    assert columns["flag"] == {"type": "boolean", "max_missing": 0.05}
    assert schema["task"] == "classification"
    assert (schema["name"], schema["path"], schema["target"]) == (
        "pets",
        "data/raw/pets.csv",
        "kind",
    )
    assert schema["slice_columns"] == []
    assert DataConfig.model_validate(schema).feature_columns == [
        "weight",
        "colour",
        "when",
        "price",
        "flag",
    ]


def test_infer_schema_regression_target(frame: pd.DataFrame) -> None:
    schema = infer_schema(frame, name="pets", path="p.csv", target="price")
    assert schema["task"] == "regression"
    assert schema["columns"]["price"]["type"] == "numeric"


def test_numeric_target_forced_to_classification_lists_its_values(frame: pd.DataFrame) -> None:
    frame["rating"] = [1, 2, 3] * (ROWS // 3)
    schema = infer_schema(frame, name="pets", path="p.csv", target="rating", task="classification")
    assert schema["columns"]["rating"] == {
        "type": "categorical",
        "categories": ["1", "2", "3"],
        "max_missing": 0.05,
    }


def test_group_and_time_columns(frame: pd.DataFrame) -> None:
    schema = infer_schema(
        frame, name="pets", path="p.csv", target="kind", group="colour", time="when"
    )
    assert (schema["group_column"], schema["time_column"]) == ("colour", "when")
    assert schema["slice_columns"] == ["colour"]


def test_every_dvc_parameter_key_is_written_even_when_empty(frame: pd.DataFrame) -> None:
    """dvc.yaml declares data.group_column and data.time_column: they must exist as keys."""
    schema = infer_schema(frame, name="pets", path="p.csv", target="kind")
    assert schema["group_column"] is None
    assert schema["time_column"] is None
    assert schema["slice_columns"] == []


def test_unknown_column_is_named(frame: pd.DataFrame) -> None:
    with pytest.raises(ProjectError, match="--target 'species' is not a column"):
        infer_schema(frame, name="pets", path="p.csv", target="species")
    with pytest.raises(ProjectError, match="--group 'shop' is not a column"):
        infer_schema(frame, name="pets", path="p.csv", target="kind", group="shop")


def test_missing_rate_gets_a_margin() -> None:
    assert infer_column(pd.Series([1.0, None, None, 4.0]))["max_missing"] == 0.55
    assert infer_column(pd.Series([None, None]))["max_missing"] == 1.0


def test_datetime_values_and_non_dates() -> None:
    assert (
        infer_column(pd.Series(pd.to_datetime(["2024-01-01", "2024-02-01"])))["type"] == "datetime"
    )
    assert infer_column(pd.Series(["2024-13-45", "2024-01-01"]))["type"] == "categorical"


def test_infer_task() -> None:
    assert infer_task(pd.Series([1.5, 2.0])) == "regression"
    assert infer_task(pd.Series([1, 2])) == "regression"
    assert infer_task(pd.Series(["a", "b"])) == "classification"
    assert infer_task(pd.Series([True, False])) == "classification"


def test_select_dataset_rewrites_only_the_data_default() -> None:
    text = "defaults:\n  - data: penguins\n  - split: stratified\n\nseed: 42\n"
    assert (
        select_dataset(text, "pets")
        == "defaults:\n  - data: pets\n  - split: stratified\n\nseed: 42\n"
    )


def test_select_dataset_on_the_project_config(project_root: Path) -> None:
    text = (project_root / "conf" / "config.yaml").read_text()
    updated = select_dataset(text, "pets")
    assert "  - data: pets\n" in updated
    assert len(updated.splitlines()) == len(text.splitlines())


def test_select_dataset_needs_exactly_one_data_default() -> None:
    with pytest.raises(ConfigError, match="no single '- data: <name>'"):
        select_dataset("defaults:\n  - model: a\n", "pets")
    with pytest.raises(ConfigError, match="no single"):
        select_dataset("defaults:\n  - data: a\n  - data: b\n", "pets")


def test_dataset_config_selects_its_task_config(frame: pd.DataFrame) -> None:
    schema = infer_schema(frame, name="pets", path="p.csv", target="price")
    document = dataset_config(schema)
    assert document["defaults"] == ["_self_", {"/task": "regression"}]
    assert "task" not in document
    assert {key: value for key, value in document.items() if key != "defaults"} == {
        key: value for key, value in schema.items() if key != "task"
    }


def test_yes_no_words_are_booleans_whatever_their_case() -> None:
    assert infer_column(pd.Series(["Yes", "no", None, "YES"]))["type"] == "boolean"
    assert infer_column(pd.Series(["true", "False"]))["type"] == "boolean"
    assert infer_column(pd.Series([True, False]))["type"] == "boolean"
    # Two words that are not a yes/no pair, or numbers 0/1, keep their own type.
    assert infer_column(pd.Series(["yes", "maybe"]))["type"] == "categorical"
    assert infer_column(pd.Series(["no", "off"]))["type"] == "categorical"
    assert infer_column(pd.Series([0, 1, 1]))["type"] == "numeric"


def test_many_values_are_text_an_identifier_or_an_open_category() -> None:
    rows = MAX_CATEGORIES * 4
    reviews = pd.Series([f"item {index} arrived broken again" for index in range(rows)])
    ids = pd.Series([f"order-{index:05d}" for index in range(rows)])
    cities = pd.Series([f"city{index % (MAX_CATEGORIES * 2)}" for index in range(rows)])
    assert infer_column(reviews) == {"type": "text", "max_missing": 0.05}
    assert infer_column(ids) == {"type": "categorical", "feature": False, "max_missing": 0.05}
    # Repeated values, too many to list: a high-cardinality input (target-encoded).
    assert infer_column(cities) == {"type": "categorical", "max_missing": 0.05}


def test_a_few_short_labels_are_categories_not_text() -> None:
    labels = pd.Series(["very good value", "not good at all"] * 30)
    assert infer_column(labels)["categories"] == ["not good at all", "very good value"]


def test_a_yes_no_target_is_a_categorical_target(frame: pd.DataFrame) -> None:
    frame["adopted"] = ["yes", "no"] * (ROWS // 2)
    schema = infer_schema(frame, name="pets", path="p.csv", target="adopted")
    assert schema["columns"]["adopted"] == {
        "type": "categorical",
        "categories": ["no", "yes"],
        "max_missing": 0.05,
    }
