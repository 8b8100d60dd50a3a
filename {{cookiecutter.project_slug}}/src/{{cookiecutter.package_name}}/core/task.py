"""What a model predicts. The task selects the metrics, the kind of estimator and, through
``conf/task/<task>.yaml``, the defaults of a dataset's pipeline."""

from typing import Literal

Task = Literal["classification", "regression"]
