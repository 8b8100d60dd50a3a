"""Every outcome of a model call, in the prediction log and in the metrics.

Cheap on the request path: the log only queues the entry (it serialises in its own thread),
the metrics are counters.
"""

from datetime import UTC, datetime
from typing import Any

from ...core.predictor import Scores
from ...io.prediction_log import Entry, Failure, PredictionLog
from .deployment import Served
from .metrics import ServingMetrics

MODEL_ERROR = "model_error"  # the reason logged for a model that raised


class Recorder:
    """Logs and counts answers and failures, per model version and arm."""

    def __init__(self, log: PredictionLog, metrics: ServingMetrics) -> None:
        self.log, self.metrics = log, metrics

    def answered(
        self,
        request_id: str,
        served: Served,
        arm: str,
        records: list[dict[str, Any]],
        *,
        scores: Scores,
        seconds: float,
        entity_id: str | None = None,
    ) -> None:
        """Log the predictions of one request on one arm, and count them.

        ``entity_id``: whom the request is about; the log keeps only its keyed hash.
        """
        probabilities = scores.probabilities
        self.log.log(
            Entry(
                request_id,
                datetime.now(UTC),
                served.name,
                served.version,
                arm,
                records,
                scores.predictions,
                probabilities.tolist() if probabilities is not None else None,
                served.predictor.classes,
                seconds * 1000,
                entity_id,
            )
        )
        classifier = served.predictor.classes is not None
        self.metrics.observe_predictions(served.version, arm, scores.predictions, classifier)

    def failed(
        self, request_id: str, version: str, arm: str, status: int, reason: str, *, seconds: float
    ) -> None:
        """Log a request, or one arm's model call, that produced no prediction."""
        when = datetime.now(UTC)
        self.log.log(Failure(request_id, when, version, arm, status, reason, seconds * 1000))

    def model_error(self, request_id: str, served: Served, arm: str, *, seconds: float) -> None:
        """A model that raised: counted, and logged as a 500 on its own arm."""
        self.metrics.model_errors.labels(served.version, arm).inc()
        self.failed(request_id, served.version, arm, 500, MODEL_ERROR, seconds=seconds)
