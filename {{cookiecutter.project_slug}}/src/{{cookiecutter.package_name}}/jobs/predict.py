"""Batch scoring: ``predict --input X --output Y`` for CSV or Parquet files of any size.

The file is streamed in chunks; each chunk is checked with the same rules as the API (the
model's schema, vectorised) and its valid rows are scored with the same model through the
pipeline itself. Invalid rows are not scored and not dropped silently: every broken rule is
written to ``<output stem>.invalid.csv`` (row number, field, rule, value). Columns outside the
schema (ids, labels) pass through to the output next to ``prediction`` and ``proba_<class>``
(a classifier's probabilities; ``probabilities=False`` leaves them out and saves their cost).
``explain=True`` adds each row's explanation (`core/explanations.py`): ``explained`` (the
output explained), ``base_value`` and one ``contribution_<column>`` per input column.

``score_on_spark`` does the same on a Spark cluster (`io/spark.py`), partition by partition,
for inputs larger than one machine: every row lands once in Parquet partitions of the output
directory, ``outcome=scored`` with its predictions, ``outcome=invalid`` with ``invalid_reason``.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.batch import INVALID, INVALID_REASON, OUTCOME, SCORED, check_rows, predict
from ..core.columns import PREDICTION, PROBA_PREFIX
from ..core.config import ColumnSpec, SparkConfig
from ..core.errors import ProjectError
from ..core.explanations import Explainer
from ..core.predictor import Predictor
from ..core.request_schema import columns_of, missing_columns
from ..io import spark
from ..io.bundle import Bundle
from ..io.files import TABLE_SUFFIXES, atomic_path, write_table


@dataclass(frozen=True)
class BatchResult:
    """What a run did: rows read, scored and refused, and where the outputs went."""

    rows: int
    scored: int
    invalid: int
    output: Path
    invalid_file: Path | None


def invalid_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.invalid.csv")


def read_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """The file in chunks of ``rows``, with a running index (the row number in the file)."""
    if not path.is_file():
        raise ProjectError(f"{path}: file not found.")
    if path.suffix not in TABLE_SUFFIXES:
        raise ProjectError(
            f"{path}: unsupported file type; use one of {', '.join(TABLE_SUFFIXES)}."
        )
    if path.suffix == ".csv":
        try:
            yield from pd.read_csv(path, chunksize=rows)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise ProjectError(f"{path}: not a valid CSV file ({error}).") from error
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = 0
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
            frame = batch.to_pandas()
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame
    except pa.ArrowException as error:
        raise ProjectError(f"{path}: not a valid Parquet file ({error}).") from error


def total_rows(path: Path) -> int | None:
    """Rows in the file when that is cheap to know (Parquet metadata), for the progress bar."""
    if path.suffix != ".parquet" or not path.is_file():
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except pa.ArrowException:  # not Parquet: `read_chunks` says so
        return None


def score_chunk(
    predictor: Predictor,
    columns: dict[str, ColumnSpec],
    chunk: pd.DataFrame,
    *,
    probabilities: bool,
    explainer: Explainer | None = None,
) -> pd.DataFrame:
    """Valid rows with ``prediction`` (and ``proba_<class>``, explanation) columns (pure)."""
    added = predict(predictor, columns, chunk, probabilities=probabilities)
    if explainer is not None:
        explained = explainer.explain(chunk, added[PREDICTION].tolist()).table()
        added = added.assign(**explained)
    return pd.concat([chunk, added], axis=1)


class ChunkWriter:
    """Appends chunks to one CSV or Parquet file (the Parquet schema is the first chunk's)."""

    def __init__(self, path: Path, *, parquet: bool) -> None:
        self.path, self.parquet = path, parquet
        self._parquet: Any = None
        self._started = False

    def write(self, frame: pd.DataFrame) -> None:
        if not self.parquet:
            frame.to_csv(
                self.path, mode="a" if self._started else "w", header=not self._started, index=False
            )
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._parquet is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            else:
                table = pa.Table.from_pandas(
                    frame, schema=self._parquet.schema, preserve_index=False
                )
            self._parquet.write_table(table)
        self._started = True

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()


def score_file(
    bundle: Bundle,
    source: Path,
    output: Path,
    *,
    chunk_rows: int,
    probabilities: bool = True,
    explain: bool = False,
    progress: bool = True,
) -> BatchResult:
    """Validate and score ``source`` chunk by chunk into ``output`` (written atomically)."""
    from tqdm import tqdm

    if output.suffix not in TABLE_SUFFIXES:
        raise ProjectError(
            f"{output}: unsupported file type; use one of {', '.join(TABLE_SUFFIXES)}."
        )
    columns = columns_of(bundle.metadata)
    predictor = Predictor(bundle.pipeline, columns)
    explainer = explainer_of(bundle, predictor) if explain else None
    rows = scored = 0
    problems: list[pd.DataFrame] = []
    bar = tqdm(total=total_rows(source), unit="rows", desc="predict", disable=not progress)
    with atomic_path(output) as temporary, bar:
        writer = ChunkWriter(temporary, parquet=output.suffix == ".parquet")
        try:
            for raw in read_chunks(source, chunk_rows):
                absent = missing_columns(raw, columns)
                if absent:
                    raise ProjectError(f"{source}: required columns missing: {', '.join(absent)}")
                checked = check_rows(raw, columns)
                if len(checked.valid):
                    scored_chunk = score_chunk(
                        predictor,
                        columns,
                        checked.valid,
                        probabilities=probabilities,
                        explainer=explainer,
                    )
                    writer.write(scored_chunk)
                problems.append(checked.problems)
                rows, scored = rows + len(raw), scored + len(checked.valid)
                bar.update(len(raw))
        finally:
            writer.close()
        invalid_file = write_invalid(problems, invalid_path(output))
        if scored == 0:
            raise ProjectError(f"{source}: no valid row to score (reasons in {invalid_file}).")
    invalid = rows - scored
    return BatchResult(rows, scored, invalid, output, invalid_file)


def explainer_of(bundle: Bundle, predictor: Predictor) -> Explainer:
    """What explains the predictions; a model without background rows cannot."""
    if bundle.background is None:
        raise ProjectError(
            f"{bundle.metadata.name} version {bundle.metadata.version} cannot explain: it has "
            "no reference rows to explain against. Use a version evaluated with one (`make "
            "pipeline release`), or a bundle exported from it (`export`)."
        )
    return Explainer(predictor, bundle.background)


def write_invalid(problems: list[pd.DataFrame], path: Path) -> Path | None:
    """The broken rules of every refused row, or no file (and none left over) when none was."""
    path.unlink(missing_ok=True)
    report = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame()
    if report.empty:
        return None
    write_table(report, path)
    return path


def run(
    bundle: Bundle,
    source: Path,
    output: Path,
    *,
    chunk_rows: int,
    probabilities: bool,
    explain: bool = False,
) -> BatchResult:
    """`predict`: score a file and say what happened, naming the invalid-rows file."""
    result = score_file(
        bundle,
        source,
        output,
        chunk_rows=chunk_rows,
        probabilities=probabilities,
        explain=explain,
    )
    metadata = bundle.metadata
    print(
        f"scored {result.scored} of {result.rows} rows with {metadata.name} version "
        f"{metadata.version} -> {result.output}"
    )
    if result.invalid_file is not None:
        print(f"{result.invalid} invalid rows not scored; reasons in {result.invalid_file}")
    return result


@dataclass(frozen=True)
class SparkResult:
    """What a Spark run did: rows read, scored and refused, and the directory written."""

    rows: int
    scored: int
    invalid: int
    output: str

    def partition(self, outcome: str) -> str:
        return f"{self.output.rstrip('/')}/{OUTCOME}={outcome}"


def check_columns(source: str, names: list[str], columns: dict[str, ColumnSpec]) -> None:
    """The input has every required schema column, and none named like an output column."""
    absent = missing_columns(pd.DataFrame(columns=names), columns)
    if absent:
        raise ProjectError(f"{source}: required columns missing: {', '.join(absent)}")
    taken = [
        name
        for name in names
        if name in {PREDICTION, OUTCOME, INVALID_REASON} or name.startswith(PROBA_PREFIX)
    ]
    if taken:
        raise ProjectError(
            f"{source}: columns {', '.join(taken)} are names the output uses; rename them."
        )


def score_on_spark(
    bundle: Bundle,
    source: str,
    output: str,
    settings: SparkConfig,
    *,
    master: str | None,
    chunk_rows: int,
    probabilities: bool = True,
) -> SparkResult:
    """Validate and score ``source`` on Spark into Parquet partitions under ``output``.

    Each executor checks and scores ``chunk_rows`` rows at a time. A local output replaces
    the previous one only once complete.
    """
    columns = columns_of(bundle.metadata)
    predictor = Predictor(bundle.pipeline, columns)
    spark.check_input(source)
    spark.check_output(output)
    name = f"predict {bundle.metadata.name} version {bundle.metadata.version}"
    with spark.session(settings, master=master, app_name=name, batch_rows=chunk_rows) as session:
        frame = spark.read(session, source)
        check_columns(source, frame.columns, columns)
        scored = spark.score(frame, predictor, columns, probabilities=probabilities)
        with (
            spark.output(session, output) as target,
            spark.reporting(f"scoring {source} into {output} failed"),
        ):
            written = spark.write_partitioned(scored, target, by=OUTCOME)
    result = SparkResult(
        sum(written.values()), written.get(SCORED, 0), written.get(INVALID, 0), output
    )
    if result.scored == 0:
        raise ProjectError(
            f"{source}: no valid row to score (reasons in {result.partition(INVALID)})."
        )
    return result


def run_spark(
    bundle: Bundle,
    source: str,
    output: str,
    settings: SparkConfig,
    *,
    master: str | None,
    chunk_rows: int,
    probabilities: bool,
) -> SparkResult:
    """`predict --engine spark`: score on Spark and say what happened, and where."""
    result = score_on_spark(
        bundle,
        source,
        output,
        settings,
        master=master,
        chunk_rows=chunk_rows,
        probabilities=probabilities,
    )
    metadata = bundle.metadata
    print(
        f"scored {result.scored} of {result.rows} rows with {metadata.name} version "
        f"{metadata.version} -> {result.partition(SCORED)}"
    )
    if result.invalid:
        print(
            f"{result.invalid} invalid rows not scored; rows and reasons in "
            f"{result.partition(INVALID)}"
        )
    return result
