"""Spark: a session from conf/predict, tables in, every row validated and scored per partition,
Parquet partitions out.

pyspark is an optional dependency (`make setup EXTRAS=spark`), imported here only when a
function needs it, so every other command and the default install do without it. Rows are
scored on the executors by `core/batch.py`, the code the in-process engine runs, with the
predictor broadcast once (each Python worker unpickles it once). Executors must have this
package and the model's libraries installed, as the driver has (docs: Scaling out).

Where data is: a ``.csv`` path is CSV (every column read as text: the schema's numeric columns
are converted per batch, and a value that is no number is refused as the API refuses it), any
other path, local or ``s3a://``/``hdfs://``/..., is Parquet (a file or a directory of parts),
and a name without a slash (``sales.penguins``) is a table of the session's catalog.
"""

import re
import shutil
import sys
import uuid
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..core.batch import INVALID_REASON, OUTCOME, check_rows, predict
from ..core.columns import PREDICTION, probability_columns
from ..core.config import ColumnSpec, SparkConfig
from ..core.errors import ProjectError
from ..core.predictor import Predictor

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType

INSTALL = "install it with `make setup EXTRAS=spark` (or `uv sync --extra spark`)"
# pyspark 4.3 warns on every pandas 3 conversion; what it does with pandas here is tested.
PANDAS_WARNING = "PySpark does not yet fully support pandas"
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
ERROR_CLASS = re.compile(r"\[[A-Z][A-Z0-9_.]*\][^\n]*")
MAX_MESSAGE = 600

Format = Literal["csv", "parquet", "table"]


def input_format(location: str) -> Format:
    """How to read ``location``: by its suffix, else Parquet for a path, else a catalog table."""
    name = location.rstrip("/")
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet") or "/" in name or SCHEME.match(name) or Path(name).exists():
        return "parquet"
    return "table"


def local_path(location: str) -> Path | None:
    """The local file system path of ``location`` (plain or ``file:``), else None."""
    if location.startswith("file:"):
        return Path(re.sub(r"^file:(//)?", "", location))
    return None if SCHEME.match(location) else Path(location)


def error_message(error: BaseException) -> str:
    """What Spark said, without the Java stack: each ``[ERROR_CLASS] message`` it names, the
    innermost cause last, or else its first line."""
    text = str(error)
    found = [match.split(" SQLSTATE:")[0].strip() for match in ERROR_CLASS.findall(text)]
    kept = list(dict.fromkeys(found)) or [next(iter(text.strip().splitlines()), repr(error))]
    message = "; ".join(kept)
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ProjectError(f"--engine spark needs pyspark: {INSTALL}.") from None
    warnings.filterwarnings("ignore", message=PANDAS_WARNING, category=FutureWarning)


def failures() -> tuple[type[BaseException], ...]:
    """The exceptions Spark raises for bad data, paths or clusters (Python and Java side)."""
    _require_pyspark()
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return PySparkException, Py4JError


@contextmanager
def reporting(what: str) -> Iterator[None]:
    """Spark's errors inside the block as one `ProjectError`: ``what`` failed, and why."""
    try:
        yield
    except failures() as error:
        raise ProjectError(f"{what}: {error_message(error)}") from error


def settings_for(settings: SparkConfig, *, master: str, batch_rows: int) -> dict[str, str]:
    """The session's settings: conf/predict's, over defaults that fit scoring from this venv."""
    chosen: dict[str, str] = {
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(batch_rows),
        "spark.executorEnv.PYTHONWARNINGS": f"ignore:{PANDAS_WARNING}:FutureWarning",
    }
    if master.startswith("local"):  # the workers run this interpreter, with this package
        chosen["spark.pyspark.python"] = sys.executable
    for key, value in settings.conf.items():
        chosen[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return chosen


@contextmanager
def session(
    settings: SparkConfig, *, master: str | None, app_name: str, batch_rows: int
) -> Iterator["SparkSession"]:
    """A Spark session on ``master`` (default: conf/predict), stopped afterwards unless one
    was already running (a notebook's, say)."""
    _require_pyspark()
    from pyspark.sql import SparkSession

    cluster = master or settings.master
    running = SparkSession.getActiveSession()
    builder = SparkSession.builder.master(cluster).appName(app_name)
    for key, value in settings_for(settings, master=cluster, batch_rows=batch_rows).items():
        builder = builder.config(key, value)
    hint = "Spark needs Java 17 or newer (java on PATH, or JAVA_HOME)"
    with reporting(f"Spark could not start on master {cluster!r} ({hint})"):
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.log_level)
    try:
        yield spark
    finally:
        if running is None:
            spark.stop()


def check_input(location: str) -> None:
    """A local input exists (checked before Spark starts, which takes a while)."""
    path = local_path(location)
    if input_format(location) != "table" and path is not None and not path.exists():
        raise ProjectError(f"{location}: file or directory not found.")


def check_output(location: str) -> None:
    """A local output replaces nothing but an earlier output of `predict --engine spark`."""
    path = local_path(location)
    if path is not None and path.exists() and not (path.is_dir() and _previous_output(path)):
        raise ProjectError(
            f"{location} exists and is not an output of `predict --engine spark`: choose "
            "another --output (a directory), or remove it."
        )


def read(spark: "SparkSession", location: str) -> "DataFrame":
    """The table at ``location`` (see the module's docstring for how it is read)."""
    kind = input_format(location)
    with reporting(f"{location}: cannot read it as {kind}"):
        if kind == "table":
            return spark.read.table(location)
        if kind == "csv":  # a malformed line fails the job instead of becoming nulls
            return spark.read.csv(location, header=True, mode="FAILFAST")
        return spark.read.parquet(location)


def _type_of(values: list[Any] | None) -> "DataType":
    from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType

    if values is None or not values:
        return DoubleType()
    if all(isinstance(value, str) for value in values):
        return StringType()
    if all(isinstance(value, bool | np.bool_) for value in values):
        return BooleanType()
    if all(isinstance(value, int | np.integer) for value in values):
        return LongType()
    return DoubleType()


def output_schema(
    schema: "StructType",
    predictor: Predictor,
    columns: Mapping[str, ColumnSpec],
    *,
    probabilities: bool,
) -> "StructType":
    """The input's columns (absent optional ones added), the prediction columns, the reason."""
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    fields = list(schema.fields)
    fields += [
        StructField(name, DoubleType() if spec.type == "numeric" else StringType())
        for name, spec in columns.items()
        if name not in schema.fieldNames()
    ]
    fields.append(StructField(PREDICTION, _type_of(predictor.classes)))
    if probabilities and predictor.classes is not None:
        empty = np.empty((0, len(predictor.classes)))
        names = probability_columns(predictor.classes, empty)
        fields += [StructField(name, DoubleType()) for name in names]
    fields += [StructField(INVALID_REASON, StringType()), StructField(OUTCOME, StringType())]
    return StructType(fields)


def score(
    frame: "DataFrame",
    predictor: Predictor,
    columns: Mapping[str, ColumnSpec],
    *,
    probabilities: bool,
) -> "DataFrame":
    """Every row of ``frame`` once: validated and scored on the executors, batch by batch."""
    schema = output_schema(frame.schema, predictor, columns, probabilities=probabilities)
    names = schema.fieldNames()
    shared = frame.sparkSession.sparkContext.broadcast(predictor)

    def score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = shared.value
        for raw in batches:
            checked = check_rows(raw, columns)
            predictions = predict(model, columns, checked.valid, probabilities=probabilities)
            yield checked.outcomes(predictions)[names]

    return frame.mapInPandas(score_batches, schema)


def _previous_output(path: Path) -> bool:
    """True when ``path`` holds only what `write_partitioned` writes (so it may be replaced)."""
    return all(
        entry.name.startswith((f"{OUTCOME}=", "_SUCCESS", "._SUCCESS")) for entry in path.iterdir()
    )


@contextmanager
def output(spark: "SparkSession", location: str) -> Iterator[str]:
    """Where to write ``location``'s partitions, in place only once all were written.

    A local output is written beside it and then swapped in, so a failed run leaves the
    previous output as it was; a remote one is written in place (Spark writes ``_SUCCESS``
    last: readers wait for it). Anything at ``location`` but an earlier output is refused.
    """
    path = local_path(location)
    if path is None:
        with reporting(f"{location}: cannot check what is there"):
            previous = _remote_columns(spark, location)
        if previous is not None and OUTCOME not in previous:
            raise ProjectError(f"{location} holds other data: choose an empty location.")
        yield location
        return
    check_output(location)
    # Not hidden (no leading . or _): Spark does not read hidden directories back.
    staging = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")
    retired = path.with_name(f"{path.name}.{uuid.uuid4().hex}.replaced")
    try:
        yield str(staging)
        if path.exists():
            path.replace(retired)
        staging.replace(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)


def _remote_columns(spark: "SparkSession", location: str) -> list[str] | None:
    """The columns of the Parquet data at ``location``, or None when nothing is there."""
    from pyspark.errors import AnalysisException

    try:
        return list(spark.read.parquet(location).columns)
    except AnalysisException as error:
        if error.getCondition() == "PATH_NOT_FOUND":
            return None
        raise


def write_partitioned(frame: "DataFrame", location: str, *, by: str) -> dict[str, int]:
    """Write ``frame`` as Parquet partitioned by column ``by``; the rows written per value."""
    frame.write.mode("overwrite").partitionBy(by).parquet(location)
    written = frame.sparkSession.read.parquet(location).groupBy(by).count().collect()
    return {str(row[by]): int(row["count"]) for row in written}
