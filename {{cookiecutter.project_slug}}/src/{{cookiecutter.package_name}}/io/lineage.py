"""Where a model came from: code version, data hashes, config hash and package versions.

No MLflow here: these are plain facts, recorded by `tracking` as run tags and printed by the
release tooling.
"""

import hashlib
import json
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = ("scikit-learn", "pandas", "numpy", "mlflow", "dvc", "hydra-core")


def _git(*args: str) -> str | None:
    try:
        result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def git_state() -> dict[str, str]:
    """Commit and whether the work tree had uncommitted changes (``unknown`` outside git)."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"git.commit": "unknown", "git.dirty": "unknown"}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git.commit": commit, "git.dirty": str(bool(status)).lower()}


def file_md5(path: Path) -> str:
    """The same MD5 that DVC records for a file, so a tag can be matched to `dvc.lock`."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_hashes(files: dict[str, Path]) -> dict[str, str]:
    """``data.<name>.path`` and ``data.<name>.md5`` for each input file."""
    tags: dict[str, str] = {}
    for name, path in files.items():
        tags[f"data.{name}.path"] = str(path)
        tags[f"data.{name}.md5"] = file_md5(path)
    return tags


def config_hash(config: dict[str, Any]) -> str:
    """A stable hash of the resolved config: same settings, same hash."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def package_versions() -> dict[str, str]:
    versions = {"version.python": platform.python_version()}
    for package in TRACKED_PACKAGES:
        try:
            versions[f"version.{package}"] = version(package)
        except PackageNotFoundError:
            versions[f"version.{package}"] = "not installed"
    return versions
