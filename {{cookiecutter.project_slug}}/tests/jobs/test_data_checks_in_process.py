"""A new table with a leaking column, end to end in process: `data init` flags it, the pipeline
stops at `validate` before any model is trained, and trains once the user has decided.

The jobs run as `make pipeline` runs them, in a temporary copy of the project (`workspace`).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.core.errors import DataValidationError
from {{ cookiecutter.package_name }}.io import params, paths
from {{ cookiecutter.package_name }}.io.files import read_json
from {{ cookiecutter.package_name }}.jobs import data_init, split, train, validate

ROWS = 300
LEAK = "'hours_worked' alone predicts 'working' with a cross-validated balanced accuracy of 1.000"


def survey(path: Path) -> Path:
    """Who works: ``hours_worked`` is positive exactly for those who do, as in the field."""
    rng = np.random.default_rng(0)
    age = rng.integers(18, 70, ROWS).astype(float)
    working = rng.random(ROWS) < 0.3 + 0.01 * (age - 18)
    pd.DataFrame(
        {
            "respondent": [f"r{i:04d}" for i in range(ROWS)],  # an identifier: not a feature
            "age": age,
            "education": rng.choice(["school", "college", "university"], ROWS),
            "hours_worked": np.where(working, rng.integers(5, 60, ROWS), 0).astype(float),
            "working": np.where(working, "yes", "no"),
        }
    ).to_csv(path, index=False)
    return path


def test_a_leaking_column_stops_the_pipeline_before_training(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf_file = data_init.run(
        survey(workspace / "survey.csv"), target="working", name=None, task=None, group=None,
        time=None,
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert LEAK in printed
    assert "identifier: 'respondent' has a distinct value in 100.0% of rows" in printed

    with pytest.raises(DataValidationError) as caught:
        validate.run(params.load_params())
    assert LEAK in str(caught.value)
    assert "(max_score 0.98)" in str(caught.value)
    assert not paths.VALIDATED.exists() and not paths.MODEL.exists()
    assert read_json(paths.VALIDATION_REPORT)["findings"][0]["column"] == "hours_worked"

    # The user decides: the hours are only known afterwards, so they are not an input.
    document = yaml.safe_load(conf_file.read_text())
    document["columns"]["hours_worked"]["feature"] = False
    conf_file.write_text(yaml.safe_dump(document, sort_keys=False))
    params.write_params()
    config = params.load_params()
    validate.run(config)
    split.run(config)
    train.run(config, persist=True)
    assert paths.MODEL.is_file()
    assert sorted(config.data.feature_columns) == ["age", "education"]
