"""Render the template and run commands in the generated project (shared by all tests)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent
DEFAULTS: dict[str, Any] = json.loads((TEMPLATE / "cookiecutter.json").read_text())
CHOICES = {
    key: value
    for key, value in DEFAULTS.items()
    if isinstance(value, list) and not key.startswith("_")
}
# The options of a default render, after cookiecutter derived slug and package from the name.
DEFAULT_SLUG = "penguins-ml"
DEFAULT_PACKAGE = "penguins_ml"
# One valid record of the default project's model input (a request to its API).
RECORD = {
    "island": "Biscoe",
    "bill_length_mm": 46.1,
    "bill_depth_mm": 13.2,
    "flipper_length_mm": 211.0,
    "body_mass_g": 4500.0,
    "sex": "female",
}


def render(output_dir: Path, **options: str) -> Path:
    """Render the template non-interactively; return the generated project's directory."""
    project = cookiecutter(
        str(TEMPLATE),
        no_input=True,
        extra_context=options,
        output_dir=str(output_dir),
        default_config=True,  # a developer's ~/.cookiecutterrc must not change what is tested
    )
    return Path(project)


def project_env(**extra: str) -> dict[str, str]:
    """Environment for commands in a generated project: a fixed git identity, no venv leak."""
    # A user runs the project's make at top level: drop what `make test` passes to children.
    leaked = {"VIRTUAL_ENV", "MAKELEVEL", "MAKEFLAGS", "MFLAGS"}
    env = {key: value for key, value in os.environ.items() if key not in leaked}
    env.update(
        GIT_AUTHOR_NAME="Template Tests",
        GIT_AUTHOR_EMAIL="tests@example.com",
        GIT_COMMITTER_NAME="Template Tests",
        GIT_COMMITTER_EMAIL="tests@example.com",
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
    )
    env.update(extra)
    return env


def run(
    command: list[str] | str,
    cwd: Path,
    *,
    check: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """Run a command and, if it fails while ``check``, fail with its whole output."""
    result = subprocess.run(
        command,
        cwd=cwd,
        shell=isinstance(command, str),
        capture_output=True,
        text=True,
        env=env or project_env(),
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{command!r} exited {result.returncode}\n--- stdout ---\n{result.stdout}"
            f"\n--- stderr ---\n{result.stderr}"
        )
    return result


def project_files(project: Path) -> set[str]:
    """Every file git would see in the project (what the user gets), relative to its root."""
    ignored = {".git"}
    files = set()
    for path in project.rglob("*"):
        relative = path.relative_to(project)
        if path.is_file() and relative.parts[0] not in ignored:
            files.add(relative.as_posix())
    return files


def set_option(project: Path, env: dict[str, str], file: str, key: str, value: str) -> None:
    """Change one line of a conf/ file and compose params.yaml again, as a user would."""
    path = project / "conf" / file
    lines = [f"{key}: {value}" if line.startswith(f"{key}:") else line
             for line in path.read_text().splitlines()]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    run(["make", "params"], project, env=env)
