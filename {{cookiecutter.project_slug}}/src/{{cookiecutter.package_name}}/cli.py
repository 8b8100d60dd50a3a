"""The one command-line interface: a thin command per pipeline stage and job.

Each command loads the typed config and calls one module; no logic lives here. Stage
commands are what `dvc.yaml` runs, so `dvc repro` and running a stage by hand do the same.
"""

from pathlib import Path
from typing import Annotated

import typer

from . import config as configuration
from .errors import ProjectError

app = typer.Typer(
    help="Train, evaluate, release, serve and monitor this project's model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Bring your own data.", no_args_is_help=True)
app.add_typer(data_app, name="data")

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
        configuration.load_params()
        typer.echo("params.yaml matches conf/")
        return
    changed = configuration.write_params()
    typer.echo("params.yaml updated from conf/" if changed else "params.yaml already matches conf/")


@app.command()
def validate() -> None:
    """Stage 1: check raw data against the schema in conf/data; write validated Parquet."""
    from .data import validation

    validation.run(configuration.load_params())


@app.command()
def split() -> None:
    """Stage 2: split validated data into train/valid/test and a reference snapshot."""
    from .data import split as splitting

    splitting.run(configuration.load_params())


@app.command()
def train(
    overrides: Overrides = None,
    multirun: Annotated[
        bool, typer.Option("--multirun", "-m", help="Sweep: one run per combination of values.")
    ] = False,
) -> None:
    """Stage 3: fit the model pipeline. With overrides it is an MLflow-only experiment."""
    from . import train as training
    from .sweep import expand

    if not overrides:
        training.run(configuration.load_params(), persist=True)
        return
    runs = expand(overrides) if multirun else [overrides]
    for index, combination in enumerate(runs, start=1):
        if len(runs) > 1:
            typer.echo(f"[{index}/{len(runs)}] {' '.join(combination)}")
        training.run(configuration.load(combination), persist=False, overrides=combination)
    typer.echo("Experiment runs are in MLflow (`make mlflow-ui`); models/ was left untouched.")


@app.command()
def evaluate() -> None:
    """Stage 4: metrics, slices and plots of the trained model on the test split."""
    from . import evaluate as evaluation

    evaluation.run(configuration.load_params())


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
    from .data import inference

    if task not in (None, "classification", "regression"):
        raise ProjectError(f"--task must be classification or regression, not {task!r}.")
    inference.run(path, target=target, name=name, task=task, group=group, time=time)  # type: ignore[arg-type]


def main() -> None:
    """Console-script entry point: user errors become one message and an exit code."""
    try:
        app()
    except ProjectError as error:
        typer.echo(f"error: {error}", err=True)
        raise SystemExit(error.exit_code) from None
