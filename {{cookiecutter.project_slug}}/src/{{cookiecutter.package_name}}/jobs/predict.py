"""Batch scoring: ``predict --input X --output Y`` for CSV or Parquet files of any size.

The file is streamed in chunks; each chunk is checked with the same rules as the API (the
model's schema, vectorised) and its valid rows are scored with the same model through the
pipeline itself. Invalid rows are not scored and not dropped silently: every broken rule is
written to ``<output stem>.invalid.csv`` (row number, field, rule, value). Columns outside the
schema (ids, labels) pass through to the output next to ``prediction`` and ``proba_<class>``
(a classifier's probabilities; ``probabilities=False`` leaves them out and saves their cost).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.columns import PREDICTION, probability_columns
from ..core.errors import ProjectError
from ..core.predictor import Predictor
from ..core.request_schema import columns_of, invalid_rows, missing_columns
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
        yield from pd.read_csv(path, chunksize=rows)
        return
    import pyarrow.parquet as pq

    start = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
        frame = batch.to_pandas()
        frame.index = pd.RangeIndex(start, start + len(frame))
        start += len(frame)
        yield frame


def total_rows(path: Path) -> int | None:
    """Rows in the file when that is cheap to know (Parquet metadata), for the progress bar."""
    if path.suffix != ".parquet" or not path.is_file():
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def score_chunk(predictor: Predictor, chunk: pd.DataFrame, *, probabilities: bool) -> pd.DataFrame:
    """The chunk with ``prediction`` (and ``proba_<class>``) columns (pure)."""
    scores = predictor.score_frame(chunk, probabilities=probabilities)
    added: dict[str, Any] = {PREDICTION: scores.predictions}
    if scores.probabilities is not None and predictor.classes is not None:
        added.update(probability_columns(predictor.classes, scores.probabilities))
    return pd.concat([chunk, pd.DataFrame(added, index=chunk.index)], axis=1)


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
                chunk = raw.assign(**{name: np.nan for name in columns if name not in raw})
                found = invalid_rows(chunk, columns)
                valid = chunk[~chunk.index.isin(found["row"])] if len(found) else chunk
                if len(valid):
                    writer.write(score_chunk(predictor, valid, probabilities=probabilities))
                problems.append(found)
                rows, scored = rows + len(chunk), scored + len(valid)
                bar.update(len(chunk))
        finally:
            writer.close()
        invalid_file = write_invalid(problems, invalid_path(output))
        if scored == 0:
            raise ProjectError(f"{source}: no valid row to score (reasons in {invalid_file}).")
    invalid = rows - scored
    return BatchResult(rows, scored, invalid, output, invalid_file)


def write_invalid(problems: list[pd.DataFrame], path: Path) -> Path | None:
    """The broken rules of every refused row, or no file (and none left over) when none was."""
    path.unlink(missing_ok=True)
    report = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame()
    if report.empty:
        return None
    write_table(report, path)
    return path


def run(
    bundle: Bundle, source: Path, output: Path, *, chunk_rows: int, probabilities: bool
) -> BatchResult:
    """`predict`: score a file and say what happened, naming the invalid-rows file."""
    result = score_file(bundle, source, output, chunk_rows=chunk_rows, probabilities=probabilities)
    metadata = bundle.metadata
    print(
        f"scored {result.scored} of {result.rows} rows with {metadata.name} version "
        f"{metadata.version} -> {result.output}"
    )
    if result.invalid_file is not None:
        print(f"{result.invalid} invalid rows not scored; reasons in {result.invalid_file}")
    return result
