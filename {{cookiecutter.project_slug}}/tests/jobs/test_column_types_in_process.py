"""Every column type, end to end and in process: a table with a date, free text, a
high-cardinality category and a yes/no column goes through `data init` -> validate -> split ->
train -> evaluate -> batch scoring, with no edit but the `data init` command, and the API's
road gives the same predictions as batch scoring.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.core.predictor import Predictor
from {{ cookiecutter.package_name }}.core.request_schema import request_model
from {{ cookiecutter.package_name }}.io import params, paths
from {{ cookiecutter.package_name }}.io.bundle import load_bundle
from {{ cookiecutter.package_name }}.io.files import read_json
from {{ cookiecutter.package_name }}.jobs import data_init, evaluate, register, split, train, validate
from {{ cookiecutter.package_name }}.jobs.predict import score_file

FAST = ["release.latency_rows=20", "evaluate.importance_repeats=1", "evaluate.cv_folds=2"]
WORDS = ["fast", "box", "colour", "size", "price", "gift", "again", "order", "nice", "ok"]


def orders(rows: int, seed: int) -> pd.DataFrame:
    """Orders and whether they came back (about one in five): returns follow the city, the
    review's words, membership and the hour, with noise, as real returns would."""
    rng = np.random.default_rng(seed)
    city = rng.integers(0, 120, rows)
    member = rng.random(rows) < 0.5
    broken = rng.random(rows) < 0.2
    ordered = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 24 * 365, rows), "h")
    late_night = ordered.hour >= 22
    score = 1.5 * broken + 0.8 * (city % 7 == 0) + 0.6 * late_night - 0.5 * member
    returned = score + rng.normal(0, 0.5, rows) > 1.0
    reviews = [
        " ".join([*rng.choice(WORDS, 4), *(["arrived", "broken"] if bad else [])]) for bad in broken
    ]
    return pd.DataFrame(
        {
            "order_id": [f"o-{seed}-{index:05d}" for index in range(rows)],
            "ordered_at": ordered.strftime("%Y-%m-%dT%H:%M:%S"),
            "city": [f"city{value:03d}" for value in city],
            "member": np.where(member, "yes", "no"),
            "review": reviews,
            "amount": rng.uniform(5, 500, rows).round(2),
            "returned": np.where(returned, "yes", "no"),
        }
    )


def test_a_table_of_every_column_type_trains_and_scores(workspace: Path) -> None:
    source = workspace / "orders.csv"
    orders(600, seed=0).to_csv(source, index=False)
    data_init.run(source, target="returned", name=None, task=None, group=None, time=None)

    config = params.load([*FAST, "imbalance=threshold"])
    types = {name: (spec.type, spec.feature) for name, spec in config.data.columns.items()}
    assert types == {
        "order_id": ("categorical", False),  # an identifier: never a model input
        "ordered_at": ("datetime", True),
        "city": ("categorical", True),  # 120 values: high-cardinality, target-encoded
        "member": ("boolean", True),
        "review": ("text", True),
        "amount": ("numeric", True),
        "returned": ("categorical", True),
    }
    validate.run(config)
    split.run(config)
    result = train.run(config, persist=True)
    evaluate.run(config)

    run = MlflowClient().get_run(result.run_id).data
    assert 0.0 < run.metrics["imbalance.threshold"] < 1.0
    assert run.params["imbalance.strategy"] == "threshold"
    assert read_json(paths.METRICS)["test"]["f1_macro"] > 0.6

    version = register.register(config)
    bundle = load_bundle(f"models:/{config.mlflow.registered_model_name}/{version.version}", config)
    new = orders(40, seed=1)
    new.loc[0, "city"] = "a city never seen"
    new.loc[1, ["review", "ordered_at"]] = [np.nan, np.nan]
    new.loc[2, "member"] = "No"
    new.loc[3, "ordered_at"] = "2031-06-01T08:00:00"  # the future
    new.loc[4, "ordered_at"] = "soon"  # refused, with its reason
    batch_file = workspace / "new.csv"
    new.drop(columns="returned").to_csv(batch_file, index=False)
    scored_file = workspace / "scored.csv"

    outcome = score_file(bundle, batch_file, scored_file, chunk_rows=16, progress=False)

    assert (outcome.rows, outcome.scored, outcome.invalid) == (40, 39, 1)
    scored = pd.read_csv(scored_file)
    assert set(scored["prediction"]) <= {"no", "yes"}
    # The API's road: JSON records (ISO dates, true/false) through the request model.
    columns = dict(bundle.metadata.columns)
    records = [
        {name: (row[name] == "yes" if name == "member" else row[name]) for name in columns}
        for row in new.drop(index=4).replace({np.nan: None}).to_dict("records")
    ]
    request = request_model(columns, max_records=100).model_validate({"records": records})
    served = Predictor(bundle.pipeline, columns).score_records(
        [record.model_dump() for record in request.records]  # type: ignore[attr-defined]
    )
    assert served.predictions == list(scored["prediction"])
