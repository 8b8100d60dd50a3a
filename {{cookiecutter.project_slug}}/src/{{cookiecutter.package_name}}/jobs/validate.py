"""The `validate` stage: raw data against the schema in `conf/data/<name>.yaml`.

The rules are in `core/validation.py`. `run` reads the raw file, writes the report and, only
when nothing is wrong, the validated Parquet file. On failure it raises, so DVC stops before
any later stage and the previous validated data stays as it was.
"""

from dataclasses import asdict
from pathlib import Path

from ..core.config import Config
from ..core.errors import DataValidationError, ProjectError
from ..core.validation import WHOLE_FILE, Violation, check_frame, clean_frame
from ..io import paths
from ..io.files import read_table, write_json, write_table


def report(
    path: Path, rows: int, violations: list[Violation], kept: int | None
) -> dict[str, object]:
    return {
        "file": str(path),
        "rows": rows,
        "rows_kept": kept,
        "valid": not violations,
        "violations": [asdict(violation) for violation in violations],
    }


def run(config: Config) -> None:
    """Validate the raw file; write the validated Parquet only when every rule passes."""
    source = Path(config.data.path)
    try:
        frame = read_table(source)
    except ProjectError as error:
        violations = [Violation(WHOLE_FILE, "unreadable", str(error))]
        write_json(report(source, 0, violations, None), paths.VALIDATION_REPORT)
        raise DataValidationError(f"Data validation failed for {source}: {error}") from error
    violations = check_frame(frame, config.data)
    if violations:
        write_json(report(source, len(frame), violations, None), paths.VALIDATION_REPORT)
        lines = "\n".join(f"  - {violation.describe()}" for violation in violations)
        raise DataValidationError(
            f"Data validation failed for {source} ({len(violations)} problem(s)):\n{lines}\n"
            f"Fix the data or the schema in conf/data/{config.data.name}.yaml; "
            f"{paths.VALIDATED} was left as it was."
        )
    cleaned = clean_frame(frame, config.data)
    write_table(cleaned, paths.VALIDATED)
    write_json(report(source, len(frame), [], len(cleaned)), paths.VALIDATION_REPORT)
    dropped = len(frame) - len(cleaned)
    print(
        f"{source}: {len(frame)} rows valid, {dropped} without target dropped -> {paths.VALIDATED}"
    )
