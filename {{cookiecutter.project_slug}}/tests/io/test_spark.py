"""The Spark adapter's parts that need no Spark: where data is read from, how Spark's errors
read, the session's settings, the output swapped in only when complete, and a clear error when
pyspark is not installed. Spark itself runs in the template's end-to-end test."""

import sys
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.core.config import SparkConfig
from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.io import spark

NO_SESSION: Any = None  # a local output never asks Spark anything

JAVA_ERROR = """An error occurred while calling o43.collectToPython.
: org.apache.spark.SparkException: [FAILED_READ_FILE.NO_HINT] Encountered error while reading \
file file:///data/in.csv.  SQLSTATE: KD001
\tat org.apache.spark.sql.errors.QueryExecutionErrors$.cannotReadFilesError(Errors.scala:100)
Caused by: org.apache.spark.SparkRuntimeException: [MALFORMED_CSV_RECORD] Malformed CSV record: \
2,y,extra SQLSTATE: KD000
\tat org.apache.spark.sql.catalyst.csv.UnivocityParser.parse(UnivocityParser.scala:300)
"""


@pytest.mark.parametrize(
    ("location", "kind"),
    [
        ("data/in.csv", "csv"),
        ("s3a://bucket/batches/in.csv", "csv"),
        ("data/in.parquet", "parquet"),
        ("in.parquet", "parquet"),
        ("s3a://bucket/batches/2026-11-30", "parquet"),
        ("build/parts/", "parquet"),
        ("sales.penguins", "table"),
    ],
)
def test_the_format_follows_from_the_location(location: str, kind: str) -> None:
    assert spark.input_format(location) == kind


def test_an_existing_local_directory_is_a_path_not_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("batch").mkdir()
    assert spark.input_format("batch") == "parquet"


@pytest.mark.parametrize(
    ("location", "path"),
    [
        ("build/out", Path("build/out")),
        ("file:///data/out", Path("/data/out")),
        ("file:/data/out", Path("/data/out")),
        ("s3a://bucket/out", None),
        ("hdfs://namenode/out", None),
    ],
)
def test_local_paths_are_told_from_remote_ones(location: str, path: Path | None) -> None:
    assert spark.local_path(location) == path


def test_a_spark_error_reads_as_its_messages_without_the_java_stack() -> None:
    message = spark.error_message(RuntimeError(JAVA_ERROR))

    assert message == (
        "[FAILED_READ_FILE.NO_HINT] Encountered error while reading file file:///data/in.csv.; "
        "[MALFORMED_CSV_RECORD] Malformed CSV record: 2,y,extra"
    )
    assert spark.error_message(RuntimeError("no error class\nmore")) == "no error class"
    assert len(spark.error_message(RuntimeError("[X] " + "y" * 5000))) == spark.MAX_MESSAGE


def test_settings_start_from_scoring_defaults_and_take_conf_predict_over_them() -> None:
    settings = SparkConfig(
        conf={
            "spark.sql.execution.arrow.maxRecordsPerBatch": 500,
            "spark.hadoop.fs.s3a.path.style.access": True,
        }
    )

    local = spark.settings_for(settings, master="local[2]", batch_rows=10_000)
    cluster = spark.settings_for(SparkConfig(), master="spark://head:7077", batch_rows=10_000)

    assert local["spark.sql.execution.arrow.maxRecordsPerBatch"] == "500"
    assert local["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert local["spark.pyspark.python"] == sys.executable
    assert cluster["spark.sql.execution.arrow.maxRecordsPerBatch"] == "10000"
    assert "spark.pyspark.python" not in cluster  # the cluster's own Python


def test_without_pyspark_the_error_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # what `import pyspark` sees uninstalled

    with (
        pytest.raises(ProjectError, match=r"make setup EXTRAS=spark"),
        spark.session(SparkConfig(), master=None, app_name="test", batch_rows=10),
    ):
        pass


def test_a_missing_local_input_fails_before_spark_starts(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"in\.parquet: file or directory not found"):
        spark.check_input(str(tmp_path / "in.parquet"))


def write_parts(directory: Path, text: str) -> None:
    """What Spark leaves in a finished output: partitions and a _SUCCESS marker."""
    (directory / "outcome=scored").mkdir(parents=True)
    (directory / "outcome=scored" / "part-0.parquet").write_text(text)
    (directory / "_SUCCESS").write_text("")


def test_a_local_output_replaces_the_previous_one_only_when_complete(tmp_path: Path) -> None:
    output = tmp_path / "scores"
    write_parts(output, "previous")

    with pytest.raises(RuntimeError), spark.output(NO_SESSION, str(output)) as staging:
        write_parts(Path(staging), "half")
        raise RuntimeError("the job failed")
    assert (output / "outcome=scored" / "part-0.parquet").read_text() == "previous"

    with spark.output(NO_SESSION, str(output)) as staging:
        write_parts(Path(staging), "new")
    assert (output / "outcome=scored" / "part-0.parquet").read_text() == "new"
    assert [path.name for path in tmp_path.iterdir()] == ["scores"]  # nothing left beside it


def test_a_local_output_never_replaces_other_data(tmp_path: Path) -> None:
    (tmp_path / "keep.csv").write_text("a,b\n")
    taken = "is not an output of `predict --engine spark`"

    with pytest.raises(ProjectError, match=taken):
        spark.check_output(str(tmp_path))  # before Spark starts
    with pytest.raises(ProjectError, match=taken), spark.output(NO_SESSION, str(tmp_path)):
        pass
    assert (tmp_path / "keep.csv").exists()
