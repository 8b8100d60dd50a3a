"""End to end: a freshly generated project passes its own quality gates out of the box."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import run

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def project(setup_project) -> Path:
    return setup_project("quality")


@pytest.mark.parametrize("target", ["lint", "typecheck", "test"])
def test_make_target_passes(project: Path, uv_env: dict[str, str], target: str) -> None:
    run(["make", target], project, env=uv_env)


def test_setup_locks_the_tested_versions(project: Path) -> None:
    assert (project / "uv.lock").is_file()
    assert (project / ".git" / "hooks" / "pre-commit").is_file()


def test_pre_commit_passes_on_the_fresh_repository(project: Path, uv_env: dict[str, str]) -> None:
    run(["uv", "run", "--no-sync", "pre-commit", "run", "--all-files"], project, env=uv_env)
    assert run(["git", "status", "--porcelain", "--untracked-files=no"], project).stdout == ""


def test_help_is_the_default_target(project: Path, uv_env: dict[str, str]) -> None:
    out = run(["make"], project, env=uv_env).stdout
    for target in ("setup", "lint", "format", "typecheck", "test", "pipeline", "clean"):
        assert f" {target} " in out
