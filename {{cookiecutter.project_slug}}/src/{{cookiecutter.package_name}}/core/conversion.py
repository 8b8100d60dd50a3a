"""The fitted pipeline as one ONNX graph (skl2onnx), for the compiled inference path.

``convert`` gives the graph's bytes or raises ``ConversionError`` saying why there is none; it
does not judge the graph: `export` keeps it only when it gives the pipeline's answers on real
data (``core/compiled.py``). The graph's inputs are one ``[rows, 1]`` tensor per feature
column: float64 for a numeric column (NaN when missing), a string for a categorical one
(``MISSING`` when missing: an ONNX string tensor has no NaN).

Two things differ from skl2onnx's defaults, both for exactness. `SimpleImputer` gets our own
converter (standard ``IsNaN``/``Equal`` and ``Where`` nodes), which works in float64 and on
strings whose missing value is NaN (skl2onnx's refuses both). And the estimators that
scikit-learn runs on float32 (decision trees, random forests, extra trees, gradient boosting
cast their input before comparing it with their thresholds) get the same cast in the graph.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.tree import BaseDecisionTree

from .config import ColumnSpec

MISSING = "\x00missing"  # a missing categorical value, as the graph receives it
OPSET = {"": 21, "ai.onnx.ml": 3}
FLOAT32_ESTIMATORS = (
    BaseDecisionTree,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)


class ConversionError(Exception):
    """The pipeline has no ONNX form here; the message says which part and why."""


def _convert_imputer(scope: Any, operator: Any, container: Any) -> None:
    """``SimpleImputer`` as ``Where(missing, statistics, x)``: exact, float64 and strings."""
    from skl2onnx.common.data_types import StringTensorType
    from skl2onnx.operator_converters.common import concatenate_variables
    from skl2onnx.proto import onnx_proto

    imputer: SimpleImputer = operator.raw_operator
    if imputer.add_indicator:
        raise ConversionError("SimpleImputer(add_indicator=True) has no converter here")
    inputs = concatenate_variables(scope, operator.inputs, container)
    statistics = scope.get_unique_variable_name("statistics")
    missing = scope.get_unique_variable_name("missing")
    shape = [1, imputer.statistics_.size]
    if isinstance(operator.inputs[0].type, StringTensorType):
        values = [str(value).encode() for value in imputer.statistics_]
        container.add_initializer(statistics, onnx_proto.TensorProto.STRING, shape, values)
        sentinel = scope.get_unique_variable_name("sentinel")
        container.add_initializer(sentinel, onnx_proto.TensorProto.STRING, [], [MISSING.encode()])
        container.add_node(
            "Equal", [inputs, sentinel], [missing], name=scope.get_unique_operator_name("Equal")
        )
    else:
        numbers = imputer.statistics_.astype(np.float64).tolist()
        container.add_initializer(statistics, onnx_proto.TensorProto.DOUBLE, shape, numbers)
        container.add_node(
            "IsNaN", [inputs], [missing], name=scope.get_unique_operator_name("IsNaN")
        )
    container.add_node(
        "Where",
        [missing, statistics, inputs],
        [operator.outputs[0].full_name],
        name=scope.get_unique_operator_name("Where"),
    )


def _as_scikit_learn_runs_it(pipeline: Pipeline) -> Pipeline:
    """The pipeline with the float32 cast scikit-learn applies inside a tree estimator."""
    from skl2onnx.sklapi import CastTransformer

    estimator = pipeline.steps[-1][1]
    if not isinstance(estimator, FLOAT32_ESTIMATORS):
        return pipeline
    cast = CastTransformer(dtype=np.float32).fit(np.zeros((1, 1)))
    return Pipeline([*pipeline.steps[:-1], ("float32", cast), pipeline.steps[-1]])


def convert(pipeline: Pipeline, columns: Mapping[str, ColumnSpec]) -> bytes:
    """The pipeline as a serialised ONNX model (inputs: one tensor per column of ``columns``)."""
    unsupported = [
        f"{name} ({spec.type})"
        for name, spec in columns.items()
        if spec.type not in ("numeric", "categorical")
    ]
    if unsupported:
        raise ConversionError(f"no compiled form for the columns {', '.join(unsupported)}")
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType
    from skl2onnx.shape_calculators.imputer import calculate_sklearn_imputer_output_shapes

    inputs = [
        (
            name,
            DoubleTensorType([None, 1]) if spec.type == "numeric" else StringTensorType([None, 1]),
        )
        for name, spec in columns.items()
    ]
    estimator = pipeline.steps[-1][1]
    options = {id(estimator): {"zipmap": False}} if is_classifier(estimator) else None
    try:
        model = convert_sklearn(
            _as_scikit_learn_runs_it(pipeline),
            initial_types=inputs,
            target_opset=OPSET,
            options=options,
            custom_conversion_functions={SimpleImputer: _convert_imputer},
            custom_shape_calculators={SimpleImputer: calculate_sklearn_imputer_output_shapes},
        )
    except ConversionError:
        raise
    except Exception as error:  # a converter raises anything: report it as the reason
        first_line = (str(error).strip().splitlines() or [""])[0][:300]
        raise ConversionError(
            f"skl2onnx cannot convert {type(estimator).__name__} in this pipeline: "
            f"{type(error).__name__}: {first_line}"
        ) from error
    graph: bytes = model.SerializeToString()
    return graph
