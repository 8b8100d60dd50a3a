"""Typed configuration: the schema every composed ``conf/`` tree must fit, checked at start-up.

Strict, frozen pydantic models: an unknown or misspelled key fails naming its dotted path.
Composing ``conf/`` and reading ``params.yaml`` is I/O and lives in `io/params.py`.
"""

import os
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from .baseline import strategy_for
from .disparities import disparity_for
from .errors import ConfigError
from .metrics import metric_for, registered_metric
from .privacy import PiiMode
from .task import Task

# A metric of the registry in core/metrics.py; `Config` checks that it fits the task.
MetricName = Annotated[str, AfterValidator(registered_metric)]


class StrictModel(BaseModel):
    """Rejects unknown keys (a typo fails at start-up, naming the key) and is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# How a column is read and encoded (docs/your-data.md, "Column types"): numbers, categories
# (one-hot, or target-encoded when there are many), dates and times (calendar parts and time
# elapsed), free text (a bag of words) and yes/no values.
ColumnType = Literal["numeric", "categorical", "datetime", "text", "boolean"]


class ColumnSpec(StrictModel):
    """What one raw column must look like; `validate` enforces it, serving derives from it."""

    type: ColumnType
    feature: bool = True
    categories: list[str] | None = None
    min: float | None = None
    max: float | None = None
    max_missing: float = Field(default=0.0, ge=0.0, le=1.0)
    # Personal data (e-mail, phone, name, ...): never stored raw in the prediction log or the
    # feedback store, and not a model input unless explicitly allowed.
    pii: bool = False
    # The explicit opt-in for a `pii: true` column as a model input, once its use is reviewed.
    allow_pii_feature: bool = False

    @model_validator(mode="after")
    def _rules_fit_type(self) -> Self:
        if self.type != "categorical" and self.categories is not None:
            raise ValueError("'categories' only applies to categorical columns")
        if self.type != "numeric" and (self.min is not None or self.max is not None):
            raise ValueError("'min'/'max' only apply to numeric columns")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    @model_validator(mode="after")
    def _personal_data_is_not_an_input(self) -> Self:
        if self.pii and self.feature and not self.allow_pii_feature:
            raise ValueError(
                "a pii: true column is personal data and not a model input by default: set "
                "feature: false, or, once using it is reviewed and lawful, allow_pii_feature: true"
            )
        return self


# What a data check does with a finding: stop the stage, print it, or not run at all.
CheckAction = Literal["fail", "warn", "off"]


class CheckConfig(StrictModel):
    """One data check of `core/data_checks.py`: ``fail`` stops the stage, ``warn`` prints."""

    action: CheckAction = "fail"


class ColumnCheckConfig(CheckConfig):
    """A check of single columns; ``accept`` names columns reviewed and kept despite it."""

    accept: list[str] = []


class LeakageCheckConfig(ColumnCheckConfig):
    """A feature that predicts the target almost perfectly on its own is most likely a leak:
    the cross-validated score of a one-column model (balanced accuracy, or R-squared of the
    target's ranks) at or above ``max_score``."""

    max_score: float = Field(default=0.98, gt=0.0, le=1.0)


class IdentifierCheckConfig(ColumnCheckConfig):
    """A feature with (nearly) one value per row identifies rows: it memorises, not learns."""

    min_unique_share: float = Field(default=0.95, gt=0.0, le=1.0)


class ConstantCheckConfig(ColumnCheckConfig):
    """A feature whose most frequent value fills (nearly) every row carries no signal."""

    action: CheckAction = "warn"
    max_top_share: float = Field(default=0.99, gt=0.0, le=1.0)


class DuplicatesCheckConfig(CheckConfig):
    """Valid/test rows that copy a training row in every column inflate their scores."""

    max_share: float = Field(default=0.05, ge=0.0, le=1.0)


class DataChecksConfig(StrictModel):
    """The classic data mistakes, checked by `validate` (columns) and `split` (the splits)."""

    leakage: LeakageCheckConfig = LeakageCheckConfig()
    identifier: IdentifierCheckConfig = IdentifierCheckConfig()
    constant: ConstantCheckConfig = ConstantCheckConfig()
    duplicates: DuplicatesCheckConfig = DuplicatesCheckConfig()
    group_overlap: CheckConfig = CheckConfig()
    time_order: CheckConfig = CheckConfig()


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
    checks: DataChecksConfig = DataChecksConfig()

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
            "checks.leakage.accept": self.checks.leakage.accept,
            "checks.identifier.accept": self.checks.identifier.accept,
            "checks.constant.accept": self.checks.constant.accept,
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
        """Model inputs: every column marked as a feature, except the target."""
        return [name for name, spec in self.columns.items() if spec.feature and name != self.target]

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


DatetimePart = Literal["year", "month", "day", "day_of_week", "day_of_year", "hour", "minute"]


class DatetimeFeaturesConfig(StrictModel):
    """Datetime columns: calendar parts, and days elapsed since the earliest training date.

    ``hour`` and ``minute`` are kept only for a column whose training values have a time of day.
    """

    parts: list[DatetimePart] = ["year", "month", "day", "day_of_week", "hour"]
    elapsed_days: bool = True


class TextFeaturesConfig(StrictModel):
    """Free-text columns: a bag of words of bounded width, per column."""

    vectorizer: Literal["tfidf", "hashing"] = "tfidf"
    max_features: int = Field(default=200, ge=1, le=100_000)
    ngram_max: int = Field(default=1, ge=1, le=3)
    min_df: int = Field(default=2, ge=1)  # tfidf only: a word in fewer training rows is dropped


class FeaturesConfig(StrictModel):
    """Preprocessing inside the model pipeline; the same transforms run everywhere."""

    numeric_imputer: Literal["mean", "median", "most_frequent"] = "median"
    scale_numeric: bool = True
    categorical_imputer: Literal["most_frequent", "constant"] = "most_frequent"
    min_frequency: int | None = Field(default=None, ge=1)
    # A categorical column with more listed categories than this, or with none listed, is
    # high-cardinality: target-encoded (cross-fitted), or one-hot on its most frequent values.
    max_one_hot: int = Field(default=30, ge=2)
    high_cardinality: Literal["target", "frequency"] = "target"
    datetime: DatetimeFeaturesConfig = DatetimeFeaturesConfig()
    text: TextFeaturesConfig = TextFeaturesConfig()


class ImbalanceConfig(StrictModel):
    """Class imbalance (classification): reweight the classes, or tune the decision threshold.

    ``class_weight`` weighs every training row by the inverse frequency of its class.
    ``threshold`` (binary targets) picks the probability above which ``positive_class`` is
    predicted, the one that maximises ``metric`` on the validation split.
    """

    strategy: Literal["none", "class_weight", "threshold"] = "none"
    positive_class: str | None = None  # threshold: None = the rarer class in the training split
    metric: MetricName = "f1_macro"


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


class FairnessConfig(StrictModel):
    """How fairness is measured across ``data.sensitive_columns`` (`core/fairness.py`)."""

    min_group_rows: int = Field(default=10, ge=1)  # smaller groups are listed, not compared
    bootstrap_samples: int = Field(default=100, ge=0)  # confidence intervals; 0 = none
    confidence: float = Field(default=0.95, gt=0.0, lt=1.0)


class EvaluateConfig(StrictModel):
    """Test-set evaluation: optional cross-validation, slices, feature importance, the trivial
    baseline (a scikit-learn Dummy estimator's ``strategy``) and fairness."""

    scoring: MetricName
    plot: PlotConfig
    baseline: str  # the task's (conf/task/): most_frequent, prior, ... | mean, median
    fairness: FairnessConfig = FairnessConfig()
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


class FairnessBoundConfig(StrictModel):
    """A bound on one disparity of every sensitive attribute (`core/fairness.py`): a ceiling
    for a ``*_difference``, a floor for a ``*_ratio``. The disparity is the task's (conf/task/)."""

    disparity: str
    bound: float = Field(ge=0.0)


class FairnessRuleConfig(FairnessBoundConfig):
    """The gate's fairness rules: the bound, and no further from parity than the champion by
    more than ``tolerance`` (in the disparity's unit)."""

    tolerance: float = Field(default=0.02, ge=0.0)


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
    latency_allowance_ms: float = Field(default=5.0, ge=0.0)
    latency_rows: int = Field(default=200, ge=10)
    allow_schema_change: bool = False
    recent_window: RecentWindowConfig = RecentWindowConfig()
    # Beat the trivial baseline (evaluate.baseline) on the primary metric by at least this.
    baseline_margin: float = Field(default=0.0, ge=0.0)
    baseline_margin_kind: Literal["absolute", "relative"] = "absolute"
    fairness: FairnessRuleConfig


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


class MonitorFairnessConfig(FairnessBoundConfig):
    """Fairness on a labelled window: a breach of the bound makes the status degraded."""

    min_group_rows: int = Field(default=10, ge=1)


class MonitorConfig(StrictModel):
    """`monitor`: a current window against the reference snapshot (`monitoring/`)."""

    min_window_rows: int = Field(default=50, ge=1)
    drift: DriftConfig = DriftConfig()
    quality: QualityConfig = QualityConfig()
    performance: PerformanceConfig
    fairness: MonitorFairnessConfig
    window: LogWindowConfig = LogWindowConfig()
    review: ReviewConfig = ReviewConfig()


class PredictionLogConfig(StrictModel):
    """Where served predictions are recorded for monitoring, how long, and how personal data is
    kept out (`core/privacy.py`).

    Retention holds after every write: rows older than ``max_age_days`` (and labels received
    longer ago) are deleted with it, as are the oldest rows beyond ``max_rows``. ``pii``: the
    values of ``pii: true`` columns are stored as keyed hashes (``hash``) or not at all.
    """

    path: str = "data/predictions/predictions.db"
    max_rows: int = Field(default=1_000_000, ge=1)
    max_age_days: float = Field(default=30.0, gt=0.0)
    queue_size: int = Field(default=100_000, ge=1)
    pii: PiiMode = "hash"


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


class SparkConfig(StrictModel):
    """The Spark cluster `predict --engine spark` scores on (`io/spark.py`)."""

    master: str = "local[*]"
    log_level: Literal["ERROR", "WARN", "INFO"] = "WARN"
    # Any Spark setting, passed to the session as is (spark.executor.memory, spark.jars.packages).
    conf: dict[str, str | int | float | bool] = {}


class PredictConfig(StrictModel):
    """Batch scoring (`predict`): the engine used unless ``--engine`` says otherwise."""

    engine: Literal["pandas", "spark"] = "pandas"
    spark: SparkConfig = SparkConfig()


class FloatSpace(StrictModel):
    """A float hyperparameter drawn from [low, high]; ``log`` for scale-free ones (C, alpha)."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0 (got {self.low})")
        return self


class IntSpace(StrictModel):
    """An integer hyperparameter drawn from [low, high] (every ``step``, or on a log scale)."""

    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and (self.low <= 0 or self.step != 1):
            raise ValueError("a log range needs low > 0 and step 1")
        return self


class CategoricalSpace(StrictModel):
    """A hyperparameter picked from a list of values (``null`` included, e.g. max_depth)."""

    type: Literal["categorical"]
    choices: list[str | bool | int | float | None] = Field(min_length=1)


ParamSpace = Annotated[FloatSpace | IntSpace | CategoricalSpace, Field(discriminator="type")]


class TuneConfig(StrictModel):
    """`tune`: which conf/model/ files are tried, over which hyperparameters, on what budget.

    ``spaces`` maps a model file name to its hyperparameters' ranges; a model without one is
    tried with the values of its file. The study lives in ``storage`` (an Optuna RDB URL);
    ``OPTUNA_STORAGE`` takes precedence, as ``MLFLOW_TRACKING_URI`` does for tracking.
    """

    models: list[str] | None = None  # None: every conf/model/ file but the tuned one
    spaces: dict[str, dict[str, ParamSpace]] = {}
    metric: MetricName | None = None  # None: release.primary_metric, what the gate compares
    cv_folds: int = Field(default=5, ge=0)  # 0: score on the validation split
    n_trials: int | None = Field(default=40, ge=1)
    timeout_seconds: float | None = Field(default=None, gt=0.0)
    startup_trials: int = Field(default=10, ge=0)
    prune: bool = True
    storage: str = "sqlite:///optuna.db"
    study_name: str | None = None  # None: the dataset's name

    @model_validator(mode="after")
    def _budget(self) -> Self:
        if self.n_trials is None and self.timeout_seconds is None:
            raise ValueError("set n_trials or timeout_seconds (or both): a study needs a budget")
        if self.cv_folds == 1:
            raise ValueError("cv_folds must be 0 (the validation split) or at least 2")
        if self.models is not None and not self.models:
            raise ValueError("models is empty: list conf/model/ files, or null for all of them")
        return self

    @property
    def effective_storage(self) -> str:
        return os.environ.get("OPTUNA_STORAGE") or self.storage


class Config(StrictModel):
    """The whole composed configuration; one attribute per group in ``conf/``."""

    seed: int
    data: DataConfig
    split: SplitConfig
    features: FeaturesConfig
    imbalance: ImbalanceConfig = ImbalanceConfig()
    model: ModelConfig
    evaluate: EvaluateConfig
    mlflow: MlflowConfig
    release: ReleaseConfig
    monitor: MonitorConfig
    serve: ServeConfig | None = None
    retrain: RetrainConfig = RetrainConfig()
    tune: TuneConfig = TuneConfig()
    predict: PredictConfig = PredictConfig()

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
        metric_for(task, self.tune_metric, "tune.metric")
        strategy_for(task, self.evaluate.baseline, "evaluate.baseline")
        for key, rule in (("release", self.release.fairness), ("monitor", self.monitor.fairness)):
            disparity = disparity_for(task, rule.disparity, f"{key}.fairness.disparity")
            if disparity.greater_is_better and rule.bound > 1.0:
                raise ValueError(
                    f"{key}.fairness.bound={rule.bound}: {rule.disparity} is a ratio (1 is "
                    "parity), so its bound is a floor between 0 and 1"
                )
        self.model.target_for(task)
        self._imbalance_fits_task()
        return self

    @property
    def tune_metric(self) -> str:
        """What `tune` optimises: ``tune.metric``, else the gate's primary metric."""
        return self.tune.metric or self.release.primary_metric

    def _imbalance_fits_task(self) -> None:
        imbalance, target = self.imbalance, self.data.columns[self.data.target]
        if imbalance.strategy == "none":
            return
        if self.data.task != "classification":
            raise ValueError(
                f"imbalance.strategy={imbalance.strategy} applies to classification only; "
                "use imbalance=none for a regression"
            )
        if metric_for("classification", imbalance.metric, "imbalance.metric").needs_probabilities:
            raise ValueError(
                f"imbalance.metric={imbalance.metric} scores probabilities, which a threshold "
                "does not change: pick a metric of predicted classes (e.g. f1_macro)"
            )
        if imbalance.strategy != "threshold" or target.categories is None:
            return
        if len(target.categories) != 2:
            raise ValueError(
                f"imbalance.strategy=threshold needs a binary target; '{self.data.target}' has "
                f"{len(target.categories)} classes: use imbalance=class_weight"
            )
        if imbalance.positive_class not in (None, *target.categories):
            raise ValueError(
                f"imbalance.positive_class={imbalance.positive_class!r} is not one of the "
                f"target's classes {target.categories}"
            )


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
