"""The real pipeline and release, in process: validate -> split -> train -> evaluate ->
register -> gate on a slice of the project's own data, in seconds.

The jobs run as `dvc repro` and `make release` run them, in a temporary copy of the project
with an MLflow store of its own (the `workspace` fixture). Only settings that cost time and
prove nothing here are shrunk, through Hydra overrides, as on the command line.
"""

from pathlib import Path

import yaml
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.core.config import Config
from {{ cookiecutter.package_name }}.io import params, paths
from {{ cookiecutter.package_name }}.io.files import read_json, read_table
from {{ cookiecutter.package_name }}.io.registry import CHAMPION, Registry
from {{ cookiecutter.package_name }}.jobs import evaluate, gate, register, split, train, validate

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FAST = [
    "release=auto",  # a passing challenger is promoted, whatever conf/config.yaml picks
    "release.bootstrap_samples=50",
    "release.latency_rows=20",
    "evaluate.importance_repeats=1",
    "evaluate.fairness.bootstrap_samples=10",
    "evaluate.cv_folds=2",  # cross-validation runs too, on few folds
]


def declared_outputs() -> list[Path]:
    """Every output and metrics file that the stages of dvc.yaml promise."""
    stages = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text())["stages"]
    return [
        Path(next(iter(entry)) if isinstance(entry, dict) else entry)
        for stage in stages.values()
        for entry in [*stage.get("outs", []), *stage.get("metrics", [])]
    ]


def run_stages(config: Config) -> str:
    """The four DVC stages in order; the id of the training run."""
    validate.run(config)
    split.run(config)
    run_id = train.run(config, persist=True).run_id
    evaluate.run(config)
    return run_id


def test_the_pipeline_then_the_gate_make_a_first_champion(workspace: Path) -> None:
    config = params.load(FAST)
    run_id = run_stages(config)
    missing = [str(path) for path in declared_outputs() if not path.exists()]
    assert not missing, f"declared in dvc.yaml, not written: {missing}"
    assert read_json(paths.TRAIN_RUN)["run_id"] == run_id

    version = register.register(config)
    decision = gate.gate(config)

    assert decision.passed, decision.reason
    champion = Registry(config.mlflow).by_alias(CHAMPION)
    assert champion is not None
    assert (champion.version, champion.run_id) == (version.version, run_id)
    gate_report = read_json(paths.GATE_DECISION)
    assert (gate_report["challenger"], gate_report["champion"]) == (version.version, None)
    assert paths.MODEL_CARD.is_file()
    summary = read_table(paths.EXPLANATIONS_PLOT)  # the local explanations, summed up
    assert sorted(summary["column"]) == sorted(config.data.feature_columns)
    assert "| column | mean absolute contribution |" in paths.MODEL_CARD.read_text()


def test_a_training_experiment_is_tracked_and_leaves_the_pipeline_alone(workspace: Path) -> None:
    overrides = [*FAST, "seed=7"]
    config = params.load(overrides)
    validate.run(config)
    split.run(config)

    result = train.run(config, persist=False, overrides=overrides)

    assert not paths.MODEL.exists() and not paths.TRAIN_RUN.exists()
    tags = MlflowClient().get_run(result.run_id).data.tags
    assert tags["config.overrides"] == " ".join(overrides)
