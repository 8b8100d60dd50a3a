"""Fixtures: rendered projects (cheap) and set-up generated projects (one venv each, e2e)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from uv import find_uv_bin

from helpers import project_env, render, run
from servers import Postgres, S3Server, postgres_bindir


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
    """Render with options and run the generated `make setup` (with ``extras``, e.g. "team");
    returns the project path."""

    def make(name: str, extras: str = "", **options: str) -> Path:
        project = render(tmp_path_factory.mktemp(name), **options)
        run(["make", "setup", f"EXTRAS={extras}"], project, env=uv_env)
        return project

    return make


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """One PostgreSQL server for the session (team-stack tests make their own databases)."""
    bindir = postgres_bindir()
    if bindir is None:
        reason = (
            "no PostgreSQL server programs (initdb) on this machine: install Debian's "
            "'postgresql' package (.ci/run does)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs it: a skip there would hide a broken set-up
        pytest.skip(reason)
    server = Postgres(bindir, tmp_path_factory.mktemp("postgres") / "postgres.log")
    yield server
    server.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One S3 API server (moto) for the session; tests make their own buckets."""
    server = S3Server(tmp_path_factory.mktemp("s3") / "moto.log")
    yield server
    server.stop()
