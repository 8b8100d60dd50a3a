"""The `split` stage: validated data into train/valid/test plus a reference snapshot.

The strategy is chosen in `conf/split/`; the strategies themselves are in `core/split.py`.
The splits are checked first (`core/data_checks.py`: rows copied across splits, groups shared
by a group split, training rows from the future under a time split): on a blocking finding it
raises before writing, so DVC stops before training.
"""

from ..core.config import Config
from ..core.data_checks import failure, split_findings, warnings
from ..core.errors import DataValidationError
from ..core.split import reference_snapshot, split_frame
from ..io import paths
from ..io.files import read_table, write_table


def run(config: Config) -> None:
    frame = read_table(paths.VALIDATED)
    splits = split_frame(frame, config.data, config.split, config.seed)
    findings = split_findings(splits, config.data, config.split.strategy)
    stop = failure(findings, f"split.strategy={config.split.strategy}", config.data.name)
    if stop:
        raise DataValidationError(f"{stop}\nThe previous splits were left as they were.")
    for warning in warnings(findings):
        print(warning)
    write_table(splits.train, paths.TRAIN)
    write_table(splits.valid, paths.VALID)
    write_table(splits.test, paths.TEST)
    write_table(
        reference_snapshot(splits.train, config.split.reference_size, config.seed), paths.REFERENCE
    )
    print(
        f"split ({config.split.strategy}): train={len(splits.train)} valid={len(splits.valid)} "
        f"test={len(splits.test)} rows -> {paths.PROCESSED_DIR}"
    )
