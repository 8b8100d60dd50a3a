"""Reading and writing tables and JSON; writes are atomic so a failure never leaves half a file."""

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import ProjectError

TABLE_SUFFIXES = (".csv", ".parquet")


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file; a missing, empty or unknown file is a clear error."""
    if not path.is_file():
        raise ProjectError(f"{path}: file not found.")
    if path.suffix not in TABLE_SUFFIXES:
        raise ProjectError(
            f"{path}: unsupported file type; use one of {', '.join(TABLE_SUFFIXES)}."
        )
    if path.stat().st_size == 0:
        raise ProjectError(f"{path}: the file is empty.")
    if path.suffix == ".csv":
        try:
            return pd.read_csv(path)
        except pd.errors.EmptyDataError as error:
            raise ProjectError(f"{path}: the file has no columns ({error}).") from error
        except pd.errors.ParserError as error:
            raise ProjectError(f"{path}: not a valid CSV file ({error}).") from error
    return pd.read_parquet(path)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and move it into place only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temporary)
        Path(temporary).replace(path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as temporary:
        if path.suffix == ".csv":
            frame.to_csv(temporary, index=False)
        else:
            frame.to_parquet(temporary, index=False)


def write_json(payload: Any, path: Path) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(payload, indent=2, sort_keys=False, allow_nan=False) + "\n")


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise ProjectError(
            f"{path}: not found; run the stage that writes it first (`make pipeline`)."
        )
    return json.loads(path.read_text())
