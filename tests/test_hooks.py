"""The hooks' logic, loaded by path (cookiecutter runs them from a temporary copy)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from helpers import TEMPLATE

VALID = {
    "project_name": "Penguins ML",
    "project_slug": "penguins-ml",
    "package_name": "penguins_ml",
    "description": "Predicts penguin species.",
    "author_name": "ML Team",
    "author_email": "ml-team@example.com",
}


def load_hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TEMPLATE / "hooks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pre_gen = load_hook("pre_gen_project")
post_gen = load_hook("post_gen_project")


def test_valid_options_pass() -> None:
    assert pre_gen.validate(VALID) == []


@pytest.mark.parametrize(
    ("option", "value", "rule"),
    [
        ("package_name", "class", "keyword"),
        ("package_name", "match", "keyword"),
        ("package_name", "json", "standard-library"),
        ("package_name", "mlflow", "dependency"),
        ("package_name", "sklearn", "dependency"),
        ("package_name", "src", "dependency"),
        ("package_name", "1model", "identifier"),
        ("package_name", "my-model", "identifier"),
        ("package_name", "MyModel", "identifier"),
        ("project_slug", "My Project", "lowercase"),
        ("project_slug", "-project", "lowercase"),
        ("project_slug", "project--x", "lowercase"),
        ("project_slug", "a" * 65, "at most 64"),
        ("author_email", "not-an-email", "e-mail"),
        ("author_email", "a@b", "e-mail"),
        ("project_name", "  ", "non-empty"),
        ("description", "two\nlines", "one non-empty line"),
        ("author_name", "", "non-empty"),
    ],
)
def test_invalid_option_is_named_with_rule_and_example(option: str, value: str, rule: str) -> None:
    errors = pre_gen.validate({**VALID, option: value})
    assert len(errors) == 1
    message = errors[0]
    assert f"{option}={value!r}" in message
    assert rule in message
    assert "Example of a valid value:" in message
    assert "\n" not in message.replace(repr(value), "")


def test_every_error_is_reported_at_once() -> None:
    errors = pre_gen.validate({**VALID, "package_name": "dvc", "author_email": "x"})
    assert [e.split("=")[0] for e in errors] == [
        "Invalid option package_name",
        "Invalid option author_email",
    ]


DEFAULT_OPTIONS = {
    "package_name": "pkg",
    "ci_provider": "github",
    "include_api": "yes",
    "include_docker": "yes",
}


def test_defaults_exclude_only_the_other_providers() -> None:
    assert sorted(post_gen.excluded_paths(DEFAULT_OPTIONS)) == [
        ".gitlab-ci.yml",
        "azure-pipelines.yml",
    ]


@pytest.mark.parametrize(
    ("change", "removed", "kept"),
    [
        ({"ci_provider": "gitlab"}, ".github", ".gitlab-ci.yml"),
        ({"ci_provider": "azure-devops"}, ".gitlab-ci.yml", "azure-pipelines.yml"),
        ({"include_docker": "no"}, "Dockerfile", "src/pkg/jobs/serving/app.py"),
        ({"include_api": "no"}, "src/pkg/jobs/serving", "Dockerfile"),
        ({"include_api": "no"}, "conf/serve", "src/pkg/jobs/predict.py"),
        ({"include_api": "no"}, "tests/jobs/serving", "src/pkg/jobs/feedback.py"),
    ],
)
def test_option_removes_its_files(change: dict[str, str], removed: str, kept: str) -> None:
    excluded = post_gen.excluded_paths({**DEFAULT_OPTIONS, **change})
    assert removed in excluded
    assert kept not in excluded


def test_remove_paths_deletes_files_and_directories(tmp_path: Path) -> None:
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "sub" / "f.txt").write_text("x")
    (tmp_path / "file.txt").write_text("x")
    post_gen.remove_paths(tmp_path, ["dir", "file.txt", "absent.txt"])
    assert list(tmp_path.iterdir()) == []


def test_init_git_makes_one_commit(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("hello\n")
    message = post_gen.init_git(tmp_path, "A Person", "a@example.com")
    assert "initial commit" in message
    assert (tmp_path / ".git").is_dir()


def test_init_git_without_git_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    message = post_gen.init_git(tmp_path, "A Person", "a@example.com")
    assert "git is not installed" in message
    assert not (tmp_path / ".git").exists()


def test_next_steps_under_cruft_start_with_the_commit_that_includes_cruft_json() -> None:
    assert post_gen.next_steps("p", by_cruft=False) == "Next: cd p && make setup && make pipeline"
    steps = post_gen.next_steps("p", by_cruft=True)
    assert ".cruft.json" in steps
    assert "cd p && git init -b main && git add --all && git commit" in steps
    assert steps.index("git commit") < steps.index("make setup")
