"""Fixtures: rendered projects (cheap) and set-up generated projects (e2e).

Setting a project up (its locked environment, ~1.2 GB) is the slowest step of the suite, and
most end-to-end files want the same one. So each distinct option set is rendered and set up
once per test run, shared by the xdist workers through a file lock, and every test module
gets its own copy of it (the environment hard-linked, the rest copied) on which the real
`make setup` then runs in seconds. Each module still owns its project: tests change it freely.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from uv import find_uv_bin

from helpers import DEFAULTS, project_env, render, run
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


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run sees (the session's own, without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def default_of(option: str) -> str:
    value = DEFAULTS[option]
    return value[0] if isinstance(value, list) else value


def set_up_base(root: Path, env: dict[str, str], extras: str, options: dict[str, str]) -> Path:
    """The project rendered with ``options`` and set up with ``extras``, built once per run.

    The environment is created relocatable (its scripts find their interpreter relative to
    themselves), so a copy of the project runs its own copy of it, not this one's. Any other
    option set starts from the default one's environment (hard-linked, compiled already), which
    its own `make setup` then syncs to its extras and lock.
    """
    options = {key: value for key, value in options.items() if value != default_of(key)}
    key = "-".join([extras or "base", *(f"{k}={v}" for k, v in sorted(options.items()))])
    folder = root / "set-up" / re.sub(r"[^\w=.-]+", "_", key)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder; the other workers wait, then reuse
        ready = folder / "ready"
        if ready.is_file():
            return Path(ready.read_text())
        shutil.rmtree(folder / "render", ignore_errors=True)  # a build that failed before
        project = render(folder / "render", **options)
        if extras or options:
            seed = set_up_base(root, env, "", {}) / ".venv"
            shutil.copytree(seed, project / ".venv", symlinks=True, copy_function=os.link)
        else:
            run(["uv", "venv", "--quiet", "--relocatable", ".venv"], project, env=env)
        run(["make", "setup", f"EXTRAS={extras}"], project, env=env)
        ready.write_text(str(project))
        return project


def copy_project(base: Path, destination: Path) -> None:
    """Copy a set-up project: its environment as hard links (installers and Python replace
    files, never write into them), everything else as real copies."""
    destination.mkdir(parents=True)
    for entry in base.iterdir():
        target = destination / entry.name
        if entry.name == ".venv":
            shutil.copytree(entry, target, symlinks=True, copy_function=os.link)
        elif entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, target, symlinks=True)
        else:
            shutil.copy2(entry, target, follow_symlinks=False)


@pytest.fixture(scope="session")
def setup_project(
    tmp_path_factory: pytest.TempPathFactory, uv_env: dict[str, str]
) -> Callable[..., Path]:
    """A project rendered with ``options`` on which the generated `make setup` ran (with
    ``extras``, e.g. "team"): a private copy of the run's shared set-up of those options."""

    def make(name: str, extras: str = "", **options: str) -> Path:
        base = set_up_base(shared_root(tmp_path_factory), uv_env, extras, options)
        project = tmp_path_factory.mktemp(name) / base.name
        copy_project(base, project)
        # The real target, on the copy: it installs the project from the copy's own src/
        # and points the git hooks at the copy's environment.
        run(["make", "setup", f"EXTRAS={extras}"], project, env=uv_env)
        return project

    return make


@pytest.fixture(scope="session")
def default_environment(tmp_path_factory: pytest.TempPathFactory, uv_env: dict[str, str]) -> Path:
    """The run's shared set-up default project's `.venv`: to hard-link, never to change."""
    return set_up_base(shared_root(tmp_path_factory), uv_env, "", {}) / ".venv"


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
