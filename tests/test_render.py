"""Render the template with its defaults, then each option varied alone, and inspect the output."""

from __future__ import annotations

import json
import py_compile
import tomllib
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException

from helpers import CHOICES, DEFAULT_PACKAGE, DEFAULT_SLUG, TEMPLATE, project_files, render, run

SNAPSHOT = Path(__file__).parent / "snapshots" / "default_files.txt"

SERVING_MODULES = (
    *("__init__", "app", "auth", "contract", "deployment", "encoding", "lifecycle", "metrics"),
    *("recorder", "request_ids", "rollout"),
    *(f"routes/{name}" for name in ("__init__", "admin", "bodies", "feedback", "operations")),
    "routes/predict",
)
SERVING_TESTS = (
    *("test_admin_api", "test_api", "test_compiled_api", "test_contract", "test_faults"),
    *("test_feedback_api", "test_workers"),
)
GITHUB_WORKFLOWS = {f".github/workflows/{name}.yml" for name in ("ci", "cd", "ct", "rollback")}
# The Kubernetes deployment of the API's image (tests/test_deploy.py checks its content).
K8S_BASE = ("kustomization", "deployment", "service", "hpa", "pdb", "networkpolicy")
K8S_FILES = {
    "deploy/k8s/base/serve.env",
    *(f"deploy/k8s/base/{name}.yaml" for name in K8S_BASE),
    *(f"deploy/k8s/components/{mode}/kustomization.yaml" for mode in ("shadow", "canary")),
    *(f"deploy/k8s/overlays/{env}/kustomization.yaml" for env in ("staging", "production")),
}
# What each non-default option value adds to (+) and removes from (-) the default file set.
FILE_CHANGES: dict[tuple[str, str], tuple[set[str], set[str]]] = {
    ("ci_provider", "gitlab"): ({".gitlab-ci.yml"}, GITHUB_WORKFLOWS),
    ("ci_provider", "azure-devops"): ({"azure-pipelines.yml"}, GITHUB_WORKFLOWS),
    ("ci_provider", "none"): (set(), GITHUB_WORKFLOWS),
    ("include_api", "no"): (
        set(),
        {f"src/{DEFAULT_PACKAGE}/jobs/serving/{name}.py" for name in SERVING_MODULES}
        | {f"src/{DEFAULT_PACKAGE}/core/routing.py", "tests/core/test_routing.py"}
        | {f"tests/jobs/serving/{name}.py" for name in SERVING_TESTS}
        | {f"conf/serve/{mode}.yaml" for mode in ("single", "shadow", "canary")}
        | K8S_FILES,
    ),
    ("include_docker", "no"): (
        set(),
        {"Dockerfile", ".dockerignore", "docker-compose.yml"} | K8S_FILES,
    ),
}
NON_DEFAULT = [(key, value) for key, values in CHOICES.items() for value in values[1:]]


def expected_files(option: str | None = None, value: str | None = None) -> set[str]:
    files = set(SNAPSHOT.read_text().split())
    added, removed = FILE_CHANGES.get((option, value), (set(), set()))  # type: ignore[arg-type]
    return (files - removed) | added


@pytest.fixture(scope="module", params=NON_DEFAULT, ids=[f"{k}={v}" for k, v in NON_DEFAULT])
def variant(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str, Path]:
    option, value = request.param
    return option, value, render(tmp_path_factory.mktemp("variant"), **{option: value})


def check_project(project: Path) -> None:
    """What holds for every render: no Jinja left, everything parses, lint-clean Python."""
    for relative in project_files(project):
        path = project / relative
        if ".dvc/cache" in relative or path.suffix in {".csv", ".parquet", ".png"}:
            continue
        text = path.read_text()
        # A Jinja template the package ships (copied without rendering) keeps its own tags.
        markers = ("cookiecutter.",) if path.suffix == ".j2" else ("{{", "{%", "cookiecutter.")
        for marker in markers:
            if marker in text and not (marker == "{{" and path.suffix == ".yml" and "${{" in text):
                raise AssertionError(f"unrendered {marker!r} in {relative}")
        if path.suffix == ".py":
            py_compile.compile(str(path), doraise=True)
        elif path.suffix in {".yaml", ".yml"} or path.name == ".pre-commit-config.yaml":
            yaml.safe_load(text)
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix == ".json":
            json.loads(text)
    run(["ruff", "check", "--no-cache", "."], project)
    run(["ruff", "format", "--check", "--no-cache", "."], project)


def compose_conf(project: Path, overrides: list[str] | None = None) -> dict:
    """Compose the rendered conf/ with Hydra exactly as the project's `make params` does."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(str(project / "conf"), version_base="1.3"):
        composed = compose(config_name="config", overrides=overrides or [])
        return OmegaConf.to_container(composed, resolve=True)


def test_params_yaml_is_conf_composed(default_project: Path) -> None:
    assert yaml.safe_load((default_project / "params.yaml").read_text()) == compose_conf(
        default_project
    )


def test_variant_params_yaml_is_conf_composed(variant: tuple[str, str, Path]) -> None:
    project = variant[2]
    assert yaml.safe_load((project / "params.yaml").read_text()) == compose_conf(project)


def test_default_file_set_is_exact(default_project: Path) -> None:
    assert default_project.name == DEFAULT_SLUG
    assert project_files(default_project) == expected_files()
    assert (default_project / "src" / DEFAULT_PACKAGE / "cli.py").is_file()


def test_default_render_is_clean(default_project: Path) -> None:
    check_project(default_project)


def test_default_render_is_one_clean_commit(default_project: Path) -> None:
    log = run(["git", "log", "--oneline"], default_project).stdout.splitlines()
    assert len(log) == 1
    assert run(["git", "status", "--porcelain"], default_project).stdout == ""
    assert run(["git", "branch", "--show-current"], default_project).stdout.strip() == "main"


def test_variant_file_set_is_exact(variant: tuple[str, str, Path]) -> None:
    option, value, project = variant
    assert project_files(project) == expected_files(option, value)


def test_variant_render_is_clean(variant: tuple[str, str, Path]) -> None:
    check_project(variant[2])


@pytest.mark.parametrize("version", CHOICES["python_version"])
def test_python_version_reaches_every_tool(version: str, tmp_path: Path) -> None:
    project = render(tmp_path, python_version=version)
    assert (project / ".python-version").read_text().strip() == version
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={version}"
    assert pyproject["tool"]["ruff"]["target-version"] == f"py{version.replace('.', '')}"
    assert pyproject["tool"]["mypy"]["python_version"] == version


@pytest.mark.parametrize(
    ("license_id", "text"),
    [
        ("MIT", "MIT License"),
        ("Apache-2.0", "Apache License"),
        ("BSD-3-Clause", "BSD 3-Clause License"),
        ("Proprietary", "All rights reserved"),
    ],
)
def test_license_text_and_metadata(license_id: str, text: str, tmp_path: Path) -> None:
    project = render(tmp_path, license=license_id)
    assert text in (project / "LICENSE").read_text()
    declared = tomllib.loads((project / "pyproject.toml").read_text())["project"]["license"]
    assert declared == (license_id if license_id != "Proprietary" else "LicenseRef-Proprietary")


@pytest.mark.parametrize(
    ("remote", "url", "dependency"),
    [
        ("local", "~/dvc-storage/penguins-ml", "dvc>="),
        ("s3", "s3://", "dvc[s3]>="),
        ("gcs", "gs://", "dvc[gcs]>="),
        ("azure", "azure://", "dvc[azure]>="),
        ("none", None, "dvc>="),
    ],
)
def test_dvc_remote(remote: str, url: str | None, dependency: str, tmp_path: Path) -> None:
    project = render(tmp_path, dvc_remote=remote)
    config = (project / ".dvc" / "config").read_text()
    assert 'remote "sample"' in config  # the example data's in-repo remote is always there
    if url is None:
        assert 'remote "storage"' not in config
        assert "remote = storage" not in config
    else:
        assert "remote = storage" in config
        assert f"url = {url}" in config
    dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    assert any(dep.startswith(dependency) for dep in dependencies)


@pytest.mark.parametrize(
    ("task", "dataset", "target", "model"),
    [
        ("classification", "penguins", "species", "logistic_regression"),
        ("regression", "penguins_body_mass", "body_mass_g", "ridge"),
    ],
)
def test_task_picks_the_default_dataset_only(
    task: str, dataset: str, target: str, model: str, tmp_path: Path
) -> None:
    """The task is configuration: the option selects an example dataset, whose config selects
    the task's defaults (conf/task/); both tasks' configs ship in every project."""
    project = render(tmp_path, task=task)
    composed = compose_conf(project)
    data = composed["data"]
    assert (data["name"], data["task"], data["target"]) == (dataset, task, target)
    assert composed["model"]["name"] == model
    assert {"classification.yaml", "regression.yaml"} <= {
        path.name for path in (project / "conf" / "task").iterdir()
    }
    for other in ("penguins", "penguins_body_mass"):
        switched = compose_conf(project, [f"data={other}"])
        assert switched["data"]["task"] != data["task"] or other == dataset


def test_the_task_option_is_read_only_where_the_default_dataset_is_chosen() -> None:
    """No YAML or code is generated per task: conf/config.yaml selects the example dataset,
    and params.yaml is that configuration composed (checked above)."""
    project = TEMPLATE / "{{cookiecutter.project_slug}}"
    readers = sorted(
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file()
        and path.suffix not in {".csv", ".parquet"}
        and ".dvc/cache" not in path.as_posix()
        and "cookiecutter.task" in path.read_text(errors="replace")
    )
    assert readers == ["conf/config.yaml", "params.yaml"]


def test_derived_names_follow_the_project_name(tmp_path: Path) -> None:
    project = render(tmp_path, project_name="Churn Forecast")
    assert project.name == "churn-forecast"
    assert (project / "src" / "churn_forecast" / "cli.py").is_file()
    assert "churn_forecast = " in (project / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"package_name": "class"}, "package_name='class'"),
        ({"package_name": "mlflow"}, "package_name='mlflow'"),
        ({"project_slug": "Bad Slug"}, "project_slug='Bad Slug'"),
        ({"author_email": "nobody"}, "author_email='nobody'"),
    ],
)
def test_bad_option_fails_and_leaves_nothing(
    options: dict[str, str], named: str, tmp_path: Path
) -> None:
    """Run cookiecutter as a user would: one line naming the option, and no directory left."""
    args = [f"{key}={value}" for key, value in options.items()]
    result = run(
        ["cookiecutter", "--no-input", str(TEMPLATE), "-o", str(tmp_path), *args],
        tmp_path,
        check=False,
    )
    assert result.returncode != 0
    assert named in result.stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FailedHookException):
        render(tmp_path, **options)
    assert list(tmp_path.iterdir()) == []


def test_bad_choice_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="task"):
        render(tmp_path, task="clustering")
    assert list(tmp_path.iterdir()) == []


def test_every_template_file_is_in_git() -> None:
    """A file the project's own .gitignore hides must still be committed in the template repo.

    Otherwise renders from a fresh clone (CI, users) silently lack it.
    """
    ignored = run(
        ["git", "ls-files", "--others", "--ignored", "--exclude-standard", "--", "."],
        TEMPLATE / "{{cookiecutter.project_slug}}",
    ).stdout.split()
    assert [path for path in ignored if "__pycache__" not in path] == []
