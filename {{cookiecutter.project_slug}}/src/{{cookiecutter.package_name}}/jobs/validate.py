"""The `validate` stage: raw data, plus the production rows `retrain` added, against the schema.

The rules are in `core/validation.py`, the data checks of the features (leakage, identifiers,
constant columns) in `core/data_checks.py`. The raw file is never edited; labelled production
rows arrive as batch files in ``data/production/<dataset>/`` (DVC-tracked) and are read after
it, as one table. `run` writes the report and, only when nothing is wrong and no check blocks,
the validated Parquet file. On failure it raises, so DVC stops before any later stage and the
previous validated data stays as it was.
"""

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from ..core.config import Config
from ..core.data_checks import Finding, column_findings, failure, warnings
from ..core.errors import DataValidationError, ProjectError
from ..core.validation import WHOLE_FILE, Violation, check_frame, clean_frame
from ..io import dvc, paths
from ..io.files import read_table, write_json, write_table


def production_batches(dataset: str) -> list[Path]:
    """The dataset's production batch files, oldest first (none before the first retrain)."""
    folder = paths.production_dir(dataset)
    if dvc.pointer(folder).is_file() and not folder.is_dir():
        raise ProjectError(
            f"{folder} is tracked by DVC ({dvc.pointer(folder)}) but not here: fetch it with "
            "`make data` (dvc pull), or the model would train without the production rows."
        )
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def read_sources(sources: list[Path]) -> pd.DataFrame:
    frames = [read_table(source) for source in sources]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def report(
    sources: list[Path],
    rows: int,
    violations: list[Violation],
    kept: int | None,
    findings: Sequence[Finding] = (),
) -> dict[str, object]:
    return {
        "file": str(sources[0]),
        "production_batches": [str(source) for source in sources[1:]],
        "rows": rows,
        "rows_kept": kept,
        "valid": not violations and not any(finding.blocking for finding in findings),
        "violations": [asdict(violation) for violation in violations],
        "findings": [asdict(finding) for finding in findings],
    }


def run(config: Config) -> None:
    """Validate raw and production rows; write the validated Parquet only when all pass."""
    sources = [Path(config.data.path), *production_batches(config.data.name)]
    extra = len(sources) - 1
    named = f"{sources[0]} + {extra} production batch(es)" if extra else str(sources[0])
    try:
        frame = read_sources(sources)
    except ProjectError as error:
        violations = [Violation(WHOLE_FILE, "unreadable", str(error))]
        write_json(report(sources, 0, violations, None), paths.VALIDATION_REPORT)
        raise DataValidationError(f"Data validation failed for {named}: {error}") from error
    violations = check_frame(frame, config.data)
    if violations:
        write_json(report(sources, len(frame), violations, None), paths.VALIDATION_REPORT)
        lines = "\n".join(f"  - {violation.describe()}" for violation in violations)
        raise DataValidationError(
            f"Data validation failed for {named} ({len(violations)} problem(s)):\n{lines}\n"
            f"Fix the data or the schema in conf/data/{config.data.name}.yaml; "
            f"{paths.VALIDATED} was left as it was."
        )
    cleaned = clean_frame(frame, config.data)
    findings = column_findings(cleaned, config.data, config.data.feature_columns)
    stop = failure(findings, named, config.data.name)
    if stop:
        write_json(report(sources, len(frame), [], None, findings), paths.VALIDATION_REPORT)
        raise DataValidationError(f"{stop}\n{paths.VALIDATED} was left as it was.")
    for warning in warnings(findings):
        print(warning)
    write_table(cleaned, paths.VALIDATED)
    write_json(report(sources, len(frame), [], len(cleaned), findings), paths.VALIDATION_REPORT)
    dropped = len(frame) - len(cleaned)
    print(
        f"{named}: {len(frame)} rows valid, {dropped} without target dropped -> {paths.VALIDATED}"
    )
