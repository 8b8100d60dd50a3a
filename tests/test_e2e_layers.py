"""End to end: the layer contracts of a generated project catch an import that breaks them.

`make lint` runs `lint-imports` with the contracts in the project's pyproject.toml. Each case
adds one import that breaks a rule to a copy of the set-up project, and the tool must fail,
naming the broken contract and the offending import; the untouched project must pass.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import DEFAULT_PACKAGE, run

pytestmark = pytest.mark.e2e

LAYERS = "Layers: cli -> jobs -> io -> core"
INDEPENDENT = "Jobs are independent of each other"
# (module under src/<package>/, code appended to it, the contract it breaks, the import named)
BREAKS = {
    "core-imports-a-job": (
        "core/metrics.py",
        "from ..jobs import train  # noqa: F401\n",
        LAYERS,
        f"{DEFAULT_PACKAGE}.core.metrics -> {DEFAULT_PACKAGE}.jobs.train",
    ),
    "io-imports-the-cli": (
        "io/files.py",
        "from .. import cli  # noqa: F401\n",
        LAYERS,
        f"{DEFAULT_PACKAGE}.io.files -> {DEFAULT_PACKAGE}.cli",
    ),
    "an-import-hidden-in-a-function": (
        "core/split.py",
        "def hidden() -> None:\n    from ..io import files  # noqa: F401\n",
        LAYERS,
        f"{DEFAULT_PACKAGE}.core.split -> {DEFAULT_PACKAGE}.io.files",
    ),
    "a-job-imports-another-job": (
        "jobs/split.py",
        "from . import train  # noqa: F401\n",
        INDEPENDENT,
        f"{DEFAULT_PACKAGE}.jobs.split -> {DEFAULT_PACKAGE}.jobs.train",
    ),
}


@pytest.fixture(scope="module")
def project(setup_project: Callable[..., Path]) -> Path:
    return setup_project("layers")


def lint_imports(project: Path, env: dict[str, str]) -> tuple[int, str]:
    result = run(["uv", "run", "--no-sync", "lint-imports"], project, env=env, check=False)
    return result.returncode, result.stdout + result.stderr


def test_make_lint_runs_the_contracts(project: Path, uv_env: dict[str, str]) -> None:
    assert "lint-imports" in run(["make", "--dry-run", "lint"], project, env=uv_env).stdout
    code, output = lint_imports(project, uv_env)
    assert code == 0, output
    assert f"{LAYERS} KEPT" in output and f"{INDEPENDENT} KEPT" in output


@pytest.mark.parametrize("case", list(BREAKS))
def test_an_import_that_breaks_a_layer_fails(
    project: Path, uv_env: dict[str, str], case: str
) -> None:
    module, code, contract, chain = BREAKS[case]
    path = project / "src" / DEFAULT_PACKAGE / module
    original = path.read_text()
    path.write_text(f"{original}\n\n{code}")
    try:
        exit_code, output = lint_imports(project, uv_env)
    finally:
        path.write_text(original)
    assert exit_code != 0, output
    assert f"{contract} BROKEN" in output
    assert chain in output
