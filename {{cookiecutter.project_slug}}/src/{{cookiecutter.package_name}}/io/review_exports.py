"""Review-queue exports: written whole, remembered, and rewritable without one entity's rows.

An export is served records copied out for people to label, so every file written is listed
in ``review_exports.json`` beside the prediction log; erasing an entity rewrites each listed
file that still exists without its rows. Copies beyond this machine (a Label Studio project
the file was imported into) are out of reach: the rows carry ``entity`` to find them there.
"""

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import ProjectError
from ..core.review import rows_without, tasks_without
from .files import atomic_path, read_json, read_table, write_json, write_table

MANIFEST = "review_exports.json"
LABEL_STUDIO_SUFFIX = ".json"  # tasks; any other suffix is a table (CSV or Parquet)


def manifest_path(prediction_log: Path) -> Path:
    return prediction_log.parent / MANIFEST


def exports(prediction_log: Path) -> list[Path]:
    """The exports written from this log that still exist."""
    listed = manifest_path(prediction_log)
    if not listed.is_file():
        return []
    return [Path(name) for name in read_json(listed) if Path(name).is_file()]


def write_export(
    prediction_log: Path, to: Path, export: list[dict[str, Any]] | pd.DataFrame
) -> None:
    """Write Label Studio tasks (a list) or a table to ``to``, and list the file."""
    if isinstance(export, pd.DataFrame):
        write_table(export, to)
    else:
        with atomic_path(to) as temporary:
            temporary.write_text(json.dumps(export, indent=2) + "\n")
    known = {str(path) for path in exports(prediction_log)} | {str(to.resolve())}
    write_json(sorted(known), manifest_path(prediction_log))


def erase(prediction_log: Path, entity: str) -> dict[str, int]:
    """Rewrite every listed export without the rows about ``entity``: rows removed per file."""
    removed = {}
    for path in exports(prediction_log):
        if path.suffix == LABEL_STUDIO_SUFFIX:
            try:
                tasks = json.loads(path.read_text())
            except json.JSONDecodeError as error:
                raise ProjectError(
                    f"{path} (a review export listed in {manifest_path(prediction_log)}) is not "
                    f"valid JSON ({error}); fix or delete it, then erase again."
                ) from error
            kept: list[dict[str, Any]] | pd.DataFrame = tasks_without(tasks, entity)
            before = len(tasks)
        else:
            table = read_table(path)
            kept, before = rows_without(table, entity), len(table)
        if len(kept) < before:
            write_export(prediction_log, path, kept)
            removed[str(path)] = before - len(kept)
    return removed
