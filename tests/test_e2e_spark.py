"""End to end: `predict --engine spark` on local Spark (Java from the machine), in a project set
up with `make setup EXTRAS=spark`.

One project: pipeline and release (a champion in the registry). A CSV of the test split, grown
to a few thousand rows with an id and three invalid rows, is scored by Spark across several
partitions (conf/predict sets a small split size) and by the in-process engine: every row
comes out once, scored or refused with its reason, and the predictions agree row by row. A
malformed CSV fails with one message naming the file and the problem, and writes nothing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import DEFAULT_PACKAGE, run

pytestmark = pytest.mark.e2e

REFUSED = {
    7: "island: categories",
    100: "flipper_length_mm: max",
    2500: "body_mass_g: type",
}
PARTITION_BYTES = 32_768  # the CSV is a few hundred KB: several partitions, several tasks


def cli(
    project: Path, env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run(["uv", "run", "--no-sync", DEFAULT_PACKAGE, *args], project, env=env, check=check)


@pytest.fixture(scope="module")
def released(setup_project, uv_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A project with pyspark, a champion, and Spark told to split inputs small."""
    project = setup_project("spark", extras="spark")
    env = dict(uv_env)
    run(["make", "pipeline"], project, env=env)
    run(["make", "release"], project, env=env)
    conf = project / "conf" / "predict" / "default.yaml"
    text = conf.read_text().replace(
        "  conf: {}", f"  conf:\n    spark.sql.files.maxPartitionBytes: {PARTITION_BYTES}"
    )
    conf.write_text(text)
    run(["make", "params"], project, env=env)
    return project, env


# Run in the project's environment (it has pandas and pyarrow; the template's has not).
MAKE_SOURCE = """
import sys
import pandas as pd
test = pd.read_parquet("data/processed/test.parquet")
rows = pd.concat([test] * (3000 // len(test) + 1), ignore_index=True).head(3000)
rows.insert(0, "id", range(len(rows)))
rows = rows.astype({"body_mass_g": object})
rows.loc[7, "island"] = "Atlantis"
rows.loc[100, "flipper_length_mm"] = 999.0
rows.loc[2500, "body_mass_g"] = "heavy"
rows.to_csv(sys.argv[1], index=False)
"""
COMPARE = """
import json, sys
from pathlib import Path
import pandas as pd
source, output, expected = sys.argv[1:]
scored = pd.read_parquet(f"{output}/outcome=scored")
invalid = pd.read_parquet(f"{output}/outcome=invalid")
spark = scored.assign(id=scored["id"].astype(int)).set_index("id").sort_index()
local = pd.read_parquet(expected).set_index("id").sort_index()
probabilities = [name for name in local.columns if name.startswith("proba_")]
print(json.dumps({
    "rows": len(pd.read_csv(source)),
    "scored": len(scored),
    "invalid": len(invalid),
    "part_files": len(list(Path(output, "outcome=scored").glob("part-*.parquet"))),
    "reasons": dict(zip(invalid["id"].astype(int).astype(str), invalid["invalid_reason"])),
    "invalid_predictions": int(invalid["prediction"].notna().sum()),
    "same_ids": list(spark.index) == list(local.index),
    "same_predictions": bool((spark["prediction"] == local["prediction"]).all()),
    "probabilities": probabilities,
    "max_difference": float((spark[probabilities] - local[probabilities]).abs().to_numpy().max()),
}))
"""


def python(project: Path, env: dict[str, str], code: str, *args: str) -> str:
    return run(["uv", "run", "--no-sync", "python", "-c", code, *args], project, env=env).stdout


@pytest.fixture(scope="module")
def source(released, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test split repeated to 3,000 rows with an ``id``; three rows break a rule each."""
    project, env = released
    path = tmp_path_factory.mktemp("input") / "batch.csv"
    python(project, env, MAKE_SOURCE, str(path))
    return path


def test_spark_scores_every_row_once_as_the_in_process_engine_does(
    released, source: Path, tmp_path: Path
) -> None:
    project, env = released
    output, expected = tmp_path / "scored", tmp_path / "expected.parquet"

    spark = cli(project, env, "predict", "--engine", "spark", "--master", "local[2]",
                "--input", str(source), "--output", str(output), "--chunk-rows", "500")  # fmt: skip
    cli(project, env, "predict", "--input", str(source), "--output", str(expected))

    found = json.loads(python(project, env, COMPARE, str(source), str(output), str(expected)))
    rows = found["rows"]
    assert f"scored {rows - len(REFUSED)} of {rows} rows" in spark.stdout
    assert f"{len(REFUSED)} invalid rows not scored" in spark.stdout
    assert found["scored"] + found["invalid"] == rows
    assert found["part_files"] > 1  # several partitions, scored by several tasks
    assert found["reasons"] == {str(row): reason for row, reason in REFUSED.items()}
    assert found["invalid_predictions"] == 0
    assert found["same_ids"]  # every valid row, once, in both
    assert found["same_predictions"]
    assert found["probabilities"]
    assert found["max_difference"] < 1e-9


def test_a_malformed_file_is_one_clear_error_and_writes_nothing(
    released, source: Path, tmp_path: Path
) -> None:
    project, env = released
    lines = source.read_text().splitlines()
    lines.insert(50, lines[50] + ",an extra field")
    malformed, output = tmp_path / "malformed.csv", tmp_path / "scored"
    malformed.write_text("\n".join(lines) + "\n")

    result = cli(project, env, "predict", "--engine", "spark", "--input", str(malformed),
                 "--output", str(output), check=False)  # fmt: skip

    assert result.returncode == 1, result
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert str(malformed) in errors[0]
    assert "Malformed CSV record" in errors[0]
    assert not output.exists()
    assert [path.name for path in tmp_path.iterdir()] == ["malformed.csv"]
