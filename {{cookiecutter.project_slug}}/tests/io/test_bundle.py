"""io/bundle: a bundle directory serves and is monitored without the registry.

Loading from the registry (and `export`) runs against a real MLflow store in
tests/jobs/test_monitor.py, after the gate rejected a challenger.
"""

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.core.config import Config
from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.io.bundle import (
    METADATA,
    Bundle,
    MissingReferenceError,
    load_bundle,
    load_reference,
)
from {{ cookiecutter.package_name }}.io.files import write_json

from ..conftest import serving_frame, write_bundle

BASELINE = {"accuracy": 0.9, "log_loss": None}
SLICES = [{"column": "shop", "value": "shop1", "rows": 20, "accuracy": 0.8}]


def test_a_bundle_loads_with_its_reference(
    tmp_path: Path, bundles: dict[str, Bundle], project_config: Config
) -> None:
    scored = serving_frame(40)
    source = str(write_bundle(tmp_path / "bundle", bundles["champion"], scored, BASELINE, SLICES))
    bundle, reference = load_reference(source, project_config)
    assert bundle.metadata == bundles["champion"].metadata
    assert (reference.baseline, reference.slices) == (BASELINE, SLICES)
    assert len(reference.scored) == 40
    assert load_bundle(source, project_config).metadata.version == "1"
    assert load_bundle(source, project_config).background is None  # only when asked for
    background = load_bundle(source, project_config, background=True).background
    assert background is not None  # what explanations are measured against: its reference rows
    assert list(background.columns) == ["shop", "size", "amount"] and len(background) == 40


def test_a_bundle_without_a_reference_serves_but_is_not_monitored(
    tmp_path: Path, bundles: dict[str, Bundle], project_config: Config
) -> None:
    source = str(write_bundle(tmp_path / "bundle", bundles["champion"]))
    assert load_bundle(source, project_config).metadata.name == "toy"
    assert load_bundle(source, project_config, background=True).background is None
    with pytest.raises(MissingReferenceError, match=r"lacks reference_scored\.parquet"):
        load_reference(source, project_config)


def test_broken_metadata_is_refused_naming_the_file(
    tmp_path: Path, bundles: dict[str, Bundle], project_config: Config
) -> None:
    directory = write_bundle(tmp_path / "bundle", bundles["champion"])
    write_json({"name": "toy"}, directory / METADATA)
    with pytest.raises(ProjectError, match=r"metadata\.json is not valid bundle metadata"):
        load_bundle(str(directory), project_config)


def test_a_directory_that_is_no_bundle_says_how_to_make_one(
    tmp_path: Path, project_config: Config
) -> None:
    with pytest.raises(ProjectError, match="create one with `export`"):
        load_bundle(str(tmp_path), project_config)
