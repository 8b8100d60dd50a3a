"""What several benchmarks need: a command that must succeed, and a released project."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent


def sh(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run ``command``; its stdout, or exit the benchmark with its whole output."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def released_project(work: Path, env: dict[str, str], extras: str = "") -> Path:
    """Render, set up (with ``extras``), train and release a project: a champion to use."""
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(work)))
    for target in (["setup", f"EXTRAS={extras}"], ["pipeline"], ["release"]):
        print(f"make {' '.join(target)} ...", flush=True)
        sh(["make", *target], project, env)
    return project
