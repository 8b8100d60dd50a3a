"""Fixtures: rendered projects (cheap) and set-up generated projects (one venv each, e2e)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from uv import find_uv_bin

from helpers import project_env, render, run


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template rendered with its defaults, shared read-only by the render tests."""
    return render(tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="session")
def uv_env() -> dict[str, str]:
    """Environment whose PATH has the uv the template's tests use (its cache is shared)."""
    uv_dir = str(Path(find_uv_bin()).parent)
    env = project_env()
    env["PATH"] = f"{uv_dir}:{env['PATH']}"
    return env


@pytest.fixture(scope="session")
def setup_project(
    tmp_path_factory: pytest.TempPathFactory, uv_env: dict[str, str]
) -> Callable[..., Path]:
    """Render with options and run the generated `make setup`; returns the project path."""

    def make(name: str, **options: str) -> Path:
        project = render(tmp_path_factory.mktemp(name), **options)
        run(["make", "setup"], project, env=uv_env)
        return project

    return make
