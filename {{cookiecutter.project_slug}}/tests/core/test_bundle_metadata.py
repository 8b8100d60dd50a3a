"""core/bundle_metadata: what metadata.json holds, typed, and what it refuses."""

from typing import Any

import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.core.bundle_metadata import BundleMetadata
from {{ cookiecutter.package_name }}.core.config import DataConfig

IDENTITY: dict[str, Any] = {"name": "toy", "version": "3", "run_id": "abc"}


def test_described_from_the_data_config_with_the_model_inputs_in_order(
    data_config: DataConfig,
) -> None:
    found = BundleMetadata.describe(data_config, **IDENTITY)
    assert found.feature_columns == data_config.feature_columns == list(found.columns)
    assert "day" not in found.columns and data_config.target not in found.columns  # no inputs
    assert found.target_schema == data_config.columns[data_config.target]
    assert (found.task, found.alias, found.schema_version) == (data_config.task, None, 1)


def test_the_json_file_reads_back_the_same(data_config: DataConfig) -> None:
    written = BundleMetadata.describe(data_config, metrics={"test.accuracy": 0.9}, **IDENTITY)
    assert BundleMetadata.model_validate(written.model_dump(mode="json")) == written


def test_a_file_written_before_the_schema_version_still_reads(data_config: DataConfig) -> None:
    document = BundleMetadata.describe(data_config, **IDENTITY).model_dump(mode="json")
    del document["schema_version"], document["exported_at"]
    assert BundleMetadata.model_validate(document).schema_version == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"feature_columns": ["size", "shop"]}, "must describe 'feature_columns'"),
        ({"schema_version": 2}, "schema_version"),
        ({"colums": {}}, "colums"),
    ],
)
def test_metadata_that_does_not_fit_is_refused_naming_the_key(
    classification_data: DataConfig, change: dict[str, Any], message: str
) -> None:
    document = BundleMetadata.describe(classification_data, **IDENTITY).model_dump(mode="json")
    with pytest.raises(ValidationError, match=message):
        BundleMetadata.model_validate({**document, **change})
