"""Where each pipeline stage reads and writes; `dvc.yaml` declares the same paths.

Paths are relative to the project root, where DVC runs every stage. A test checks that
`dvc.yaml` and this module agree.
"""

from pathlib import Path

# Labelled production rows that `retrain` added: one DVC-tracked folder per dataset
# (`production_dir`), one Parquet file per retrain; `validate` reads them after the raw file.
PRODUCTION_DIR = Path("data/production")

VALIDATED = Path("data/interim/validated.parquet")
VALIDATION_REPORT = Path("reports/validation.json")

PROCESSED_DIR = Path("data/processed")
TRAIN = PROCESSED_DIR / "train.parquet"
VALID = PROCESSED_DIR / "valid.parquet"
TEST = PROCESSED_DIR / "test.parquet"
REFERENCE = PROCESSED_DIR / "reference.parquet"

MODEL = Path("models/model.joblib")
TRAIN_RUN = Path("models/run.json")
TRAIN_METRICS = Path("reports/train_metrics.json")

METRICS = Path("reports/metrics.json")
SLICES = Path("reports/slices.json")
FAIRNESS = Path("reports/fairness.json")  # group metrics and disparities per sensitive attribute
PLOTS_DIR = Path("reports/plots")
PREDICTIONS_PLOT = PLOTS_DIR / "predictions.csv"
IMPORTANCE_PLOT = PLOTS_DIR / "importance.csv"
EXPLANATIONS_PLOT = PLOTS_DIR / "explanations.csv"  # mean |contribution| per input column
SCORED_REFERENCE = PROCESSED_DIR / "reference_scored.parquet"

MONITORING_DIR = Path("reports/monitoring")
MONITORING_LATEST = MONITORING_DIR / "latest.json"

GATE_DECISION = Path("reports/gate.json")
MODEL_CARD = Path("reports/model_card.md")


def production_dir(dataset: str) -> Path:
    """The folder of a dataset's production batches (tracked by ``<dataset>.dvc`` beside it)."""
    return PRODUCTION_DIR / dataset
