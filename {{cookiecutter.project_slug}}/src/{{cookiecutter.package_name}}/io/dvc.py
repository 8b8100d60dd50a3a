"""DVC commands, run with this environment's own DVC (``python -m dvc``).

Looking ``dvc`` up on PATH fails when the CLI runs from the virtual environment without
activating it; the interpreter that runs this code always has the DVC it was installed with.
"""

import subprocess
import sys
from pathlib import Path

from ..core.errors import ProjectError


def run(*args: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    """``dvc ARGS``; its output goes to the terminal unless ``quiet``. Raises on failure."""
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args], capture_output=quiet, text=True, check=False
    )
    if check and result.returncode != 0:
        detail = f": {result.stderr.strip()}" if quiet and result.stderr else ""
        raise ProjectError(f"`dvc {' '.join(args)}` failed (exit code {result.returncode}){detail}")
    return result


def is_initialised() -> bool:
    """True in a project where `dvc init` has run (the working directory is its root)."""
    return Path(".dvc").is_dir()


def pointer(path: Path) -> Path:
    """The ``.dvc`` file beside ``path`` that tracks it (a file or a whole folder)."""
    return path.with_name(f"{path.name}.dvc")


def track(path: Path) -> str:
    """``dvc add`` a data file; say what happened, for the user."""
    if not is_initialised():
        return f"DVC is not set up here: track the file yourself with `dvc add {path}`."
    run("add", str(path), quiet=True)
    return f"tracked with DVC: {path}.dvc"
