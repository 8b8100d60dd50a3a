"""The one command-line interface: a thin command per pipeline stage and job.

Each command loads the typed config and calls one module; no logic lives here. Stage
commands are what `dvc.yaml` runs, so `dvc repro` and running a stage by hand do the same.
"""

from pathlib import Path
from typing import Annotated, Literal

import typer

from .core.config import Config
from .core.errors import ProjectError
from .io.params import load, load_params, write_params

app = typer.Typer(
    help="Train, evaluate, release, serve and monitor this project's model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Bring your own data.", no_args_is_help=True)
app.add_typer(data_app, name="data")
feedback_app = typer.Typer(
    help="Ground truth: import labels, export the review queue; forget an entity's data."
)
app.add_typer(feedback_app, name="feedback", no_args_is_help=True)

Overrides = Annotated[
    list[str] | None,
    typer.Argument(help="Hydra overrides, e.g. model=random_forest model.n_estimators=300"),
]


@app.command()
def params(
    check: Annotated[bool, typer.Option(help="Only check that params.yaml matches conf/.")] = False,
) -> None:
    """Compose conf/ into params.yaml, the file DVC tracks parameters in."""
    if check:
        load_params()
        typer.echo("params.yaml matches conf/")
        return
    changed = write_params()
    typer.echo("params.yaml updated from conf/" if changed else "params.yaml already matches conf/")


@app.command()
def validate() -> None:
    """Stage 1: check raw data against the schema in conf/data; write validated Parquet."""
    from .jobs import validate as validation

    validation.run(load_params())


@app.command()
def split() -> None:
    """Stage 2: split validated data into train/valid/test and a reference snapshot."""
    from .jobs import split as splitting

    splitting.run(load_params())


@app.command()
def train(
    overrides: Overrides = None,
    multirun: Annotated[
        bool, typer.Option("--multirun", "-m", help="Sweep: one run per combination of values.")
    ] = False,
) -> None:
    """Stage 3: fit the model pipeline. With overrides it is an MLflow-only experiment."""
    from .core.sweep import expand
    from .jobs import train as training

    if not overrides:
        training.run(load_params(), persist=True)
        return
    runs = expand(overrides) if multirun else [overrides]
    for index, combination in enumerate(runs, start=1):
        if len(runs) > 1:
            typer.echo(f"[{index}/{len(runs)}] {' '.join(combination)}")
        training.run(load(combination), persist=False, overrides=combination)
    typer.echo("Experiment runs are in MLflow (`make mlflow-ui`); models/ was left untouched.")


@app.command()
def tune(overrides: Overrides = None) -> None:
    """Model selection: search conf/model/ and conf/tune/ spaces with Optuna; write the best back.

    Each trial is an MLflow run under the study's run. The best configuration becomes
    conf/model/tuned.yaml, selected in conf/config.yaml: `make pipeline` trains it. Run it on
    several machines with one shared tune.storage (or OPTUNA_STORAGE) to share the study.
    """
    from .jobs import tune as tuning

    tuning.run(load(overrides), overrides)


@app.command()
def evaluate() -> None:
    """Stage 4: metrics, slices and plots of the trained model on the test split."""
    from .jobs import evaluate as evaluation

    evaluation.run(load_params())


@app.command()
def register() -> None:
    """Register the last trained model in the MLflow registry as 'challenger'."""
    from .jobs import register as registering

    registering.register(load_params())


Hold = Annotated[
    bool, typer.Option(help="Never promote: a pass only sets 'staging' (CD with approval).")
]


@app.command()
def gate(hold: Hold = False) -> None:
    """Gate challenger vs champion on the same held-out data; promote in auto mode.

    Exits 3 when the challenger is rejected, so `make release` and CI stop there.
    """
    from .jobs import gate as gating

    if not gating.gate(load_params(), hold=hold).passed:
        raise typer.Exit(gating.GATE_EXIT_REJECTED)


@app.command()
def release(hold: Hold = False) -> None:
    """`register`, then `gate`, in one process: Python and MLflow start once (`make release`).

    Exits 3 when the challenger is rejected, like `gate`.
    """
    from .jobs import gate as gating
    from .jobs import register as registering

    config = load_params()
    registering.register(config)
    if not gating.gate(config, hold=hold).passed:
        raise typer.Exit(gating.GATE_EXIT_REJECTED)


@app.command()
def promote(
    reason: Annotated[str, typer.Option(help="Why: recorded in the audit trail.")],
    version: Annotated[str | None, typer.Option(help="Model version to promote.")] = None,
    from_alias: Annotated[
        str | None, typer.Option(help="Promote the version with this alias, e.g. staging.")
    ] = None,
    approve: Annotated[bool, typer.Option(help="Confirm the promotion.")] = False,
) -> None:
    """Approve a version that passed the gate: it becomes champion (release mode manual)."""
    from .jobs import promote as promoting

    promoting.promote(load_params(), version, approve=approve, reason=reason, from_alias=from_alias)


@app.command()
def rollback(
    reason: Annotated[str, typer.Option(help="Why: recorded in the audit trail.")] = "rollback",
) -> None:
    """Restore the previous champion in one step."""
    from .jobs import promote as promoting

    promoting.rollback(load_params(), reason)


@app.command()
def history() -> None:
    """Every model version with its aliases and audit trail (who, when, why)."""
    from .jobs import history as registry_history

    registry_history.history(load_params())


@app.command()
def lineage(
    model_uri: Annotated[str, typer.Argument(help="models:/<name>@<alias> or models:/<name>/<n>")],
) -> None:
    """Print data -> code -> config -> run -> model version -> aliases for a model."""
    from .jobs import history as registry_history

    registry_history.lineage(load_params(), model_uri)


@app.command()
def export(
    to: Annotated[Path, typer.Option(help="Directory to write the model bundle to.")],
    alias: Annotated[str, typer.Option(help="Registry alias to export.")] = "champion",
    force: Annotated[bool, typer.Option(help="Replace a non-empty directory.")] = False,
) -> None:
    """Write a self-contained model bundle that serves without the registry."""
    from .jobs import export as exporting

    exporting.export(load_params(), alias, to, force=force)

{% if cookiecutter.include_api == 'yes' %}
@app.command()
def serve(
    overrides: Overrides = None,
    champion: Annotated[
        str | None, typer.Option(help="Model source: models:/<name>@<alias> or a bundle dir.")
    ] = None,
    challenger: Annotated[str | None, typer.Option(help="Challenger source.")] = None,
    host: Annotated[str | None, typer.Option(help="Interface (default: conf/serve).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: conf/serve).")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (one log, one set of metrics).")
    ] = 1,
) -> None:
    """Serve predictions over HTTP (FastAPI + uvicorn); e.g. `serve serve=canary`."""
    from .jobs.serving import app as serving

    config = load(overrides)
    serving.serve(
        config, champion=champion, challenger=challenger, host=host, port=port, workers=workers
    )

{% endif %}
@app.command()
def predict(
    input_path: Annotated[
        str,
        typer.Option(
            "--input",
            help="CSV or Parquet file to score (Spark: also a directory, s3a://... or a table).",
        ),
    ],
    output: Annotated[
        str,
        typer.Option(help="CSV or Parquet file to write (Spark: a directory of partitions)."),
    ],
    model: Annotated[
        str | None,
        typer.Option(help="models:/<name>@<alias> or a bundle dir (default: the champion)."),
    ] = None,
    chunk_rows: Annotated[int, typer.Option(min=1, help="Rows scored at a time.")] = 100_000,
    probabilities: Annotated[
        bool, typer.Option(help="Write a classifier's proba_<class> columns.")
    ] = True,
    explain: Annotated[
        bool,
        typer.Option(help="Write each row's base_value and contribution_<column> columns."),
    ] = False,
    engine: Annotated[
        Literal["pandas", "spark"] | None,
        typer.Option(help="pandas: in this process; spark: on a cluster (default: conf/predict)."),
    ] = None,
    master: Annotated[
        str | None,
        typer.Option(help="Spark master: local[*], spark://host:7077, ... (default: conf/predict)"),
    ] = None,
) -> None:
    """Score a file in chunks with the champion; invalid rows go to <output>.invalid.csv.

    With --engine spark, on a Spark cluster: Parquet partitions <output>/outcome=scored and
    <output>/outcome=invalid (with invalid_reason). Needs `make setup EXTRAS=spark`.
    """
    from .io.bundle import load_bundle
    from .jobs import predict as batch

    config = load_params()
    engine = engine or config.predict.engine
    if engine != "spark" and master is not None:
        raise ProjectError("--master only applies to --engine spark.")
    if engine == "spark" and explain:
        raise ProjectError("--explain is not available with --engine spark; use --engine pandas.")
    source = model or f"models:/{config.mlflow.registered_model_name}@champion"
    bundle = load_bundle(source, config, background=explain)
    if engine == "spark":
        batch.run_spark(
            bundle,
            input_path,
            output,
            config.predict.spark,
            master=master,
            chunk_rows=chunk_rows,
            probabilities=probabilities,
        )
        return
    batch.run(
        bundle,
        Path(input_path),
        Path(output),
        chunk_rows=chunk_rows,
        probabilities=probabilities,
        explain=explain,
    )


@data_app.command("init")
def data_init(
    path: Annotated[Path, typer.Argument(help="CSV or Parquet file with your data.")],
    target: Annotated[str, typer.Option(help="Column to predict.")],
    name: Annotated[str | None, typer.Option(help="Dataset name (default: file name).")] = None,
    task: Annotated[
        str | None, typer.Option(help="classification or regression (default: inferred).")
    ] = None,
    group: Annotated[str | None, typer.Option(help="Group column (group split, slices).")] = None,
    time: Annotated[str | None, typer.Option(help="Time column (time split).")] = None,
) -> None:
    """Infer conf/data/<name>.yaml from a file and make it the pipeline's dataset."""
    from .jobs import data_init as inference

    if task not in (None, "classification", "regression"):
        raise ProjectError(f"--task must be classification or regression, not {task!r}.")
    inference.run(path, target=target, name=name, task=task, group=group, time=time)  # type: ignore[arg-type]


@app.command()
def monitor(
    current: Annotated[
        Path | None,
        typer.Option(
            "--current",
            help="CSV or Parquet file with production rows (default: the prediction log).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="models:/<name>/<n> or a bundle dir to judge against (default: champion)."
        ),
    ] = None,
) -> None:
    """Drift, data quality and performance of a window vs the model's reference; exit = status.

    The reference snapshot and test baseline are the judged model's own (the champion's unless
    --model), whatever this checkout trained last. Without --current: the served predictions
    of conf/monitor `window`, with feedback labels and service health. 0 ok, 3 drift,
    4 degraded (data quality or performance), 5 not enough data.
    """
    from .core.assessment import EXIT_CODES
    from .jobs import monitor as monitoring

    config = load_params()
    if current is None:
        status = monitoring.run_from_log(config, model=model)
    else:
        status = monitoring.run(config, current, model=model)
    raise typer.Exit(EXIT_CODES[status])


@feedback_app.command("import")
def feedback_import(
    path: Annotated[
        Path, typer.Argument(help="CSV (request_id,label[,record]) or Label Studio JSON export.")
    ],
) -> None:
    """Store true labels of served predictions; all must fit the target's schema."""
    from .jobs import feedback as jobs

    jobs.import_labels(load_params(), path)


@feedback_app.command("export-review")
def feedback_export_review(
    to: Annotated[Path, typer.Option(help="File to write (.json for Label Studio, .csv).")],
    fmt: Annotated[str, typer.Option("--format", help="labelstudio or csv.")] = "labelstudio",
) -> None:
    """Export the least confident unlabelled predictions for people to label."""
    from .jobs import feedback as jobs

    if fmt not in ("labelstudio", "csv"):
        raise ProjectError(f"--format must be labelstudio or csv, not {fmt!r}.")
    jobs.export_review(load_params(), fmt, to)  # type: ignore[arg-type]


@feedback_app.command("forget")
def feedback_forget(
    entity_id: Annotated[
        str, typer.Option("--entity-id", help="The entity_id its requests were sent with.")
    ],
) -> None:
    """Erase an entity's rows from the prediction log, the labels and the review exports.

    Needs PII_HASH_KEY (the key its rows were stored with); the erasure is recorded, without
    the id, in erasures.jsonl beside the prediction log.
    """
    from .jobs import feedback as jobs

    jobs.forget(load_params(), entity_id)


@app.command()
def retrain(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would happen; change nothing.")
    ] = False,
) -> None:
    """Retrain on drift, a performance drop or an old champion, within guardrails; then gate.

    Exits 0 when done or not needed, 3 when the gate rejected the challenger.
    """
    from .core.gate import Decision
    from .io.registry import Version
    from .jobs import gate as gating
    from .jobs import register as registering
    from .jobs import retrain as retraining

    def release(config: Config) -> tuple[Version, Decision]:
        """What `retrain` runs after rebuilding: register the new model, then gate it."""
        return registering.register(config), gating.gate(config)

    status = retraining.run(load_params(), release, dry_run=dry_run)
    if status == "rejected":
        raise typer.Exit(retraining.EXIT_REJECTED)


def main() -> None:
    """Console-script entry point: user errors become one message and an exit code."""
    try:
        app()
    except ProjectError as error:
        typer.echo(f"error: {error}", err=True)
        raise SystemExit(error.exit_code) from None
