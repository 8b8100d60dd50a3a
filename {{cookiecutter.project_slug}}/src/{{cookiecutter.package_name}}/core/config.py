"""Typed configuration: the schema every composed ``conf/`` tree must fit, checked at start-up.

Strict, frozen pydantic models: an unknown or misspelled key fails naming its dotted path.
Composing ``conf/`` and reading ``params.yaml`` is I/O and lives in `io/params.py`.
"""

import os
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError
from .metrics import metric_for, registered_metric
from .task import Task

# A metric of the registry in core/metrics.py; `Config` checks that it fits the task.
MetricName = Annotated[str, AfterValidator(registered_metric)]


class StrictModel(BaseModel):
    """Rejects unknown keys (a typo fails at start-up, naming the key) and is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(StrictModel):
    """What one raw column must look like; `validate` enforces it, serving derives from it."""

    type: Literal["numeric", "categorical", "datetime"]
    feature: bool = True
    categories: list[str] | None = None
    min: float | None = None
    max: float | None = None
    max_missing: float = Field(default=0.0, ge=0.0, le=1.0)
    # Personal data (e-mail, phone, name, ...): never stored raw in the prediction log or the
    # feedback store, and not a model input unless explicitly allowed.
    pii: bool = False

    @model_validator(mode="after")
    def _rules_fit_type(self) -> Self:
        if self.type != "categorical" and self.categories is not None:
            raise ValueError("'categories' only applies to categorical columns")
        if self.type != "numeric" and (self.min is not None or self.max is not None):
            raise ValueError("'min'/'max' only apply to numeric columns")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class DataConfig(StrictModel):
    """The dataset: where it is, what it predicts and the schema of every column.

    ``task`` comes from the task config the dataset config selects (``- /task: <task>`` in its
    defaults list), which also brings the task's model, split and metrics (conf/task/).
    """

    name: str
    path: str
    task: Task
    target: str
    columns: dict[str, ColumnSpec]
    group_column: str | None = None
    time_column: str | None = None
    slice_columns: list[str] = []
    # Sensitive attributes (e.g. sex): fairness is measured and gated across their groups;
    # they need not be model inputs.
    sensitive_columns: list[str] = []
    allow_extra_columns: bool = False

    @model_validator(mode="before")
    @classmethod
    def _task_is_selected(cls, data: Any) -> Any:
        if isinstance(data, dict) and "task" not in data:
            raise ValueError(
                "no task: select one in the defaults list of the dataset config "
                "(conf/data/<name>.yaml), e.g. `- /task: classification` (see conf/task/)"
            )
        return data

    @model_validator(mode="after")
    def _named_columns_exist(self) -> Self:
        named = {
            "target": [self.target],
            "slice_columns": self.slice_columns,
            "sensitive_columns": self.sensitive_columns,
        }
        named["group_column"] = [self.group_column] if self.group_column else []
        named["time_column"] = [self.time_column] if self.time_column else []
        for key, columns in named.items():
            unknown = [column for column in columns if column not in self.columns]
            if unknown:
                raise ValueError(f"{key} names {unknown}, which are not in 'columns'")
        if self.task == "classification" and self.columns[self.target].type != "categorical":
            raise ValueError(f"a classification target must be categorical: '{self.target}'")
        if self.task == "regression" and self.columns[self.target].type != "numeric":
            raise ValueError(f"a regression target must be numeric: '{self.target}'")
        return self

    @property
    def feature_columns(self) -> list[str]:
        """Model inputs: every column marked as a feature, except the target and datetimes."""
        return [
            name
            for name, spec in self.columns.items()
            if spec.feature and name != self.target and spec.type != "datetime"
        ]

    @property
    def pii_columns(self) -> list[str]:
        """Columns marked ``pii: true``: kept out of stored logs (dropped or keyed-hashed)."""
        return [name for name, spec in self.columns.items() if spec.pii]

    def columns_of_type(self, kind: str) -> list[str]:
        return [name for name in self.feature_columns if self.columns[name].type == kind]


class SplitConfig(StrictModel):
    """How validated data is cut into train/valid/test; see `data/split.py`."""

    strategy: Literal["stratified", "group", "time"]
    valid_size: float = Field(gt=0.0, lt=1.0)
    test_size: float = Field(gt=0.0, lt=1.0)
    reference_size: int = Field(default=5000, gt=0)

    @model_validator(mode="after")
    def _leaves_training_rows(self) -> Self:
        if self.valid_size + self.test_size >= 1.0:
            raise ValueError("valid_size + test_size must leave rows for training (sum < 1)")
        return self


class FeaturesConfig(StrictModel):
    """Preprocessing inside the model pipeline; the same transforms run everywhere."""

    numeric_imputer: Literal["mean", "median", "most_frequent"] = "median"
    scale_numeric: bool = True
    categorical_imputer: Literal["most_frequent", "constant"] = "most_frequent"
    min_frequency: int | None = Field(default=None, ge=1)


class ModelConfig(BaseModel):
    """The estimator: ``_target_`` is its class; every other key is a hyperparameter.

    A model that exists for both tasks names one class per task (``_target_: {classification:
    ...Classifier, regression: ...Regressor}``); `core/models.py` picks the one of
    ``data.task``. Hyperparameters are checked against the estimator's own ``get_params()``
    when it is built, so a misspelled one fails naming the key and the valid ones.
    """

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    name: str
    target: str | dict[Task, str] = Field(alias="_target_")

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def target_for(self, task: Task) -> str:
        """The class to build for ``task``: the only one, or the one ``_target_`` names for it."""
        if isinstance(self.target, str):
            return self.target
        if task not in self.target:
            raise ValueError(
                f"model={self.name} has no {task} estimator: its _target_ names one for "
                f"{', '.join(self.target)}; pick another model or add a {task} class"
            )
        return self.target[task]


class PlotConfig(StrictModel):
    """How `dvc plots show` draws the test predictions; dvc.yaml reads these keys."""

    template: Literal["confusion", "confusion_normalized", "scatter", "scatter_jitter", "linear"]
    title: str
    figure: str = Field(pattern=r"^[\w.-]+\.png$")  # evaluate's figure in reports/plots/


class EvaluateConfig(StrictModel):
    """Test-set evaluation: optional cross-validation, slices, feature importance."""

    scoring: MetricName
    plot: PlotConfig
    cv_folds: int = Field(default=0, ge=0)
    min_slice_rows: int = Field(default=5, ge=1)
    importance_repeats: int = Field(default=5, ge=1)


class MlflowConfig(StrictModel):
    """Where runs are tracked. ``MLFLOW_TRACKING_URI`` (e.g. a team server) takes precedence."""

    tracking_uri: str
    experiment_name: str
    registered_model_name: str
    request_retries: int = Field(default=2, ge=0)
    request_timeout_seconds: int = Field(default=30, ge=1)

    @property
    def effective_tracking_uri(self) -> str:
        return os.environ.get("MLFLOW_TRACKING_URI") or self.tracking_uri


class RecentWindowConfig(StrictModel):
    """Also gate on labelled production rows that no model trained on (`jobs/gate.py`)."""

    enabled: bool = True
    min_rows: int = Field(default=50, ge=1)


class ReleaseConfig(StrictModel):
    """The champion/challenger gate and how a passing model is promoted (`core/gate.py`).

    ``primary_metric`` and ``floor`` are the task's (conf/task/), in the metric's own unit.
    """

    mode: Literal["auto", "manual"]
    primary_metric: MetricName
    min_delta: float = Field(default=0.0, ge=0.0)
    min_delta_kind: Literal["absolute", "relative"] = "absolute"
    floor: float
    slice_tolerance: float = Field(default=0.05, ge=0.0)
    bootstrap_samples: int = Field(default=1000, ge=0)
    confidence: float = Field(default=0.95, gt=0.0, lt=1.0)
    latency_factor: float = Field(default=1.5, ge=1.0)
    latency_rows: int = Field(default=200, ge=10)
    allow_schema_change: bool = False
    recent_window: RecentWindowConfig = RecentWindowConfig()


class DriftConfig(StrictModel):
    """When a feature counts as drifted (`monitoring/drift.py`); field conventions as defaults."""

    large_window_rows: int = Field(default=1000, ge=1)
    psi_bins: int = Field(default=10, ge=2)
    psi_epsilon: float = Field(default=1e-4, gt=0.0, lt=0.01)
    psi_warn: float = Field(default=0.1, gt=0.0)
    psi_alert: float = Field(default=0.25, gt=0.0)
    p_value: float = Field(default=0.05, gt=0.0, lt=1.0)
    correction: Literal["holm", "bonferroni", "none"] = "holm"
    wasserstein: float = Field(default=0.1, gt=0.0)
    jensen_shannon: float = Field(default=0.1, gt=0.0, le=1.0)
    dataset_share: float = Field(default=0.5, gt=0.0, le=1.0)
    key_features: list[str] = []

    @model_validator(mode="after")
    def _bands_ordered(self) -> Self:
        if self.psi_warn > self.psi_alert:
            raise ValueError(f"psi_warn ({self.psi_warn}) is above psi_alert ({self.psi_alert})")
        return self


class QualityConfig(StrictModel):
    """Data-quality limits of a monitored window (`monitoring/quality.py`)."""

    max_missing_increase: float = Field(default=0.1, ge=0.0, le=1.0)
    max_out_of_range_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    max_unseen_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    ignore_columns: list[str] = []


class PerformanceConfig(StrictModel):
    """How much worse than the test baseline a labelled window may be (`performance.py`)."""

    metric: MetricName
    max_relative_drop: float = Field(default=0.05, ge=0.0)
    min_labelled_rows: int = Field(default=30, ge=1)
    min_slice_rows: int = Field(default=5, ge=1)


class LogWindowConfig(StrictModel):
    """Which served predictions `monitor` judges when no --current file is given."""

    last_rows: int | None = Field(default=5000, ge=1)
    hours: float | None = Field(default=None, gt=0.0)


class ReviewConfig(StrictModel):
    """The human review queue: predictions the model was least sure of (`feedback/review.py`)."""

    below_confidence: float = Field(default=0.6, gt=0.0, le=1.0)
    max_items: int = Field(default=500, ge=1)


class MonitorConfig(StrictModel):
    """`monitor`: a current window against the reference snapshot (`monitoring/`)."""

    min_window_rows: int = Field(default=50, ge=1)
    drift: DriftConfig = DriftConfig()
    quality: QualityConfig = QualityConfig()
    performance: PerformanceConfig
    window: LogWindowConfig = LogWindowConfig()
    review: ReviewConfig = ReviewConfig()


class PredictionLogConfig(StrictModel):
    """Where served predictions are recorded for monitoring, and how much is kept."""

    path: str = "data/predictions/predictions.db"
    max_rows: int = Field(default=1_000_000, ge=1)
    max_age_days: float = Field(default=30.0, gt=0.0)
    queue_size: int = Field(default=100_000, ge=1)


class CanaryConfig(StrictModel):
    """The challenger's share of traffic, and when it is taken away automatically."""

    percent: float = Field(default=10.0, ge=0.0, le=100.0)
    window: int = Field(default=200, ge=10)
    min_requests: int = Field(default=50, ge=1)
    max_error_rate_increase: float = Field(default=0.02, ge=0.0, le=1.0)
    max_p95_latency_increase: float = Field(default=0.5, ge=0.0)

    @model_validator(mode="after")
    def _window_holds_min_requests(self) -> Self:
        if self.min_requests > self.window:
            raise ValueError(f"min_requests ({self.min_requests}) exceeds window ({self.window})")
        return self


class ServeConfig(StrictModel):
    """`serve`: which models answer, where, within which limits, and how they are routed."""

    mode: Literal["single", "shadow", "canary"]
    champion: str
    challenger: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_records: int = Field(default=1000, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    shadow_queue_size: int = Field(default=10_000, ge=1)
    log: PredictionLogConfig = PredictionLogConfig()
    canary: CanaryConfig = CanaryConfig()

    @model_validator(mode="after")
    def _challenger_when_needed(self) -> Self:
        if self.mode != "single" and not self.challenger:
            raise ValueError(f"mode {self.mode} needs a challenger model source")
        return self


class RetrainConfig(StrictModel):
    """`retrain`: when production evidence warrants a new model, and the guardrails around it."""

    on_drift: bool = True
    max_performance_drop: float = Field(default=0.05, ge=0.0)
    max_champion_age_days: float = Field(default=90.0, gt=0.0)
    min_new_labels: int = Field(default=50, ge=1)
    cooldown_hours: float = Field(default=24.0, ge=0.0)
    stale_lock_hours: float = Field(default=6.0, gt=0.0)


class Config(StrictModel):
    """The whole composed configuration; one attribute per group in ``conf/``."""

    seed: int
    data: DataConfig
    split: SplitConfig
    features: FeaturesConfig
    model: ModelConfig
    evaluate: EvaluateConfig
    mlflow: MlflowConfig
    release: ReleaseConfig
    monitor: MonitorConfig
    serve: ServeConfig | None = None
    retrain: RetrainConfig = RetrainConfig()

    @model_validator(mode="after")
    def _fits_task(self) -> Self:
        """Every metric named in the config is one of the task's, and so is the model."""
        task = self.data.task
        for key, name in (
            ("evaluate.scoring", self.evaluate.scoring),
            ("release.primary_metric", self.release.primary_metric),
            ("monitor.performance.metric", self.monitor.performance.metric),
        ):
            metric_for(task, name, key)
        self.model.target_for(task)
        return self


def parse(raw: dict[str, Any], source: str) -> Config:
    """Validate a composed tree; a bad key or value fails naming its full dotted path."""
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            location = ".".join(str(part) for part in item["loc"])
            problems.append(f"  {location}: {item['msg']}" if location else f"  {item['msg']}")
        raise ConfigError(f"invalid configuration in {source}:\n" + "\n".join(problems)) from error


def differences(expected: Any, actual: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two composed trees (pure, for messages)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = sorted(set(expected) | set(actual), key=str)
        found: list[str] = []
        for key in keys:
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in expected or key not in actual:
                found.append(path)
            else:
                found.extend(differences(expected[key], actual[key], path))
        return found
    return [] if expected == actual else [prefix or "<root>"]
