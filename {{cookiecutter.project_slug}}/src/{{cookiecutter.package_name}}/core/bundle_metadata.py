"""What a model bundle says about its model: identity, input schema, metrics and lineage.

`export` writes it to a bundle's ``metadata.json`` and serving, batch scoring and monitoring
read it back, by attribute. Strict and frozen like the config: a bundle whose metadata does
not fit fails on load, naming the key, instead of deep inside a request.
"""

from typing import Literal, Self

from pydantic import Field, model_validator

from .config import ColumnSpec, DataConfig, StrictModel
from .task import Task

# The engine facts of a version registered before `register` compiled models (``Inference``).
NOT_COMPILED = "registered without a compiled model: `export` compiles one and verifies it"


class Inference(StrictModel):
    """How the model runs, and why: decided on data when the version is registered
    (``io/compilation.py``, ``core/engine.py``), or by `export` for a version registered before.

    ``engine`` serves the API; ``batch_engine`` scores files (the faster of the two on the
    checked rows, ``batch_speedup`` times scikit-learn's rows/s). ``reason`` says why: the rows
    the graph was verified on, or what ruled it out (a transform without a converter, answers
    beyond ``tolerance``). ``max_difference`` is the largest found (probability, or relative value).
    """

    engine: Literal["onnx", "sklearn"] = "sklearn"
    reason: str = NOT_COMPILED
    tolerance: float | None = None
    rows_checked: int = Field(default=0, ge=0)
    max_difference: float | None = None
    batch_engine: Literal["onnx", "sklearn"] = "sklearn"
    batch_speedup: float | None = None

    @property
    def summary(self) -> str:
        """One line for a command's output: the engines and why."""
        return f"inference: {self.engine}, batch: {self.batch_engine}; {self.reason}"


class BundleMetadata(StrictModel):
    """One registered model version as a container sees it (``metadata.json``, schema 1).

    ``columns`` are the model's inputs, in order, each with the rules its requests are
    validated by; ``feature_columns`` repeats their names for readers of the JSON file.
    """

    schema_version: Literal[1] = 1
    name: str
    version: str
    alias: str | None = None
    run_id: str
    task: Task
    target: str
    feature_columns: list[str]
    columns: dict[str, ColumnSpec]
    target_schema: ColumnSpec
    metrics: dict[str, float] = Field(default_factory=dict)
    lineage: dict[str, str] = Field(default_factory=dict)
    exported_at: str | None = None
    inference: Inference = Inference()

    @model_validator(mode="after")
    def _columns_are_the_features(self) -> Self:
        if list(self.columns) != self.feature_columns:
            raise ValueError(
                f"'columns' ({list(self.columns)}) must describe 'feature_columns' "
                f"({self.feature_columns}), in the same order"
            )
        return self

    @classmethod
    def describe(cls, data: DataConfig, **facts: object) -> Self:
        """The metadata of a model trained on ``data``; ``facts`` are its identity and lineage."""
        features = data.feature_columns
        return cls.model_validate(
            {
                **facts,
                "task": data.task,
                "target": data.target,
                "feature_columns": features,
                "columns": {name: data.columns[name] for name in features},
                "target_schema": data.columns[data.target],
            }
        )
