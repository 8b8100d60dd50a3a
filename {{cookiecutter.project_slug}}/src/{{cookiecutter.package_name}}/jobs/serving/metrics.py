"""Prometheus metrics of the API, in a registry of their own (one per app, so tests can compare).

Labels stay low-cardinality: endpoint is the route template, never the raw path; model version
and arm are a handful of values; a classifier's predictions are counted per class, a
regressor's go to a histogram whose buckets span the target's configured range. Every request
is counted and timed by ``RequestMetrics``, a middleware around the whole app.

Several worker processes (``serve --workers N``) share one set of metrics: the parent points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory, every worker's metrics write there
(prometheus-client's multiprocess mode) and any worker's /metrics adds them all up: counters
and histograms are summed, the log's row counts are summed (each worker publishes its own every
``PUBLISH_SECONDS``), and the canary share is given per worker (label ``pid``), since each
worker keeps its own canary state.
"""

import os
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from ...io.prediction_log import PredictionLog

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
REQUEST_LABELS = ("endpoint", "status", "model_version", "arm")
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
PUBLISH_SECONDS = 1.0


def multiprocess() -> bool:
    """True in a worker of ``serve --workers N`` (metrics are shared through files)."""
    return bool(os.environ.get(MULTIPROCESS_DIR))


def value_buckets(low: float | None, high: float | None, count: int = 10) -> tuple[float, ...]:
    """Evenly spaced histogram buckets over the target's range (a default range without one)."""
    low, high = (low, high) if low is not None and high is not None and high > low else (0.0, 1.0)
    step = (high - low) / count
    return tuple(low + step * index for index in range(count + 1))


class ServingMetrics:
    """Every metric the API exposes on GET /metrics."""

    def __init__(self, target_range: tuple[float | None, float | None] = (None, None)) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter("api_requests", "HTTP requests.", REQUEST_LABELS, registry=registry)
        self.latency = Histogram(
            "api_request_duration_seconds",
            "Time to answer a request.",
            REQUEST_LABELS,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.validation_errors = Counter(
            "api_validation_errors",
            "Rejected request fields.",
            ("field", "rule"),
            registry=registry,
        )
        self.predicted_classes = Counter(
            "api_predicted_class",
            "Predictions per class.",
            ("model_version", "arm", "label"),
            registry=registry,
        )
        self.predicted_values = Histogram(
            "api_predicted_value",
            "Predicted values.",
            ("model_version", "arm"),
            buckets=value_buckets(*target_range),
            registry=registry,
        )
        self.model_errors = Counter(
            "api_model_errors",
            "Predictions that raised.",
            ("model_version", "arm"),
            registry=registry,
        )
        self.canary_percent = Gauge(
            "api_canary_percent",
            "Share of traffic routed to the challenger.",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.canary_rollbacks = Counter(
            "api_canary_rollbacks",
            "Automatic canary rollbacks (the reason is logged).",
            registry=registry,
        )
        self.shadow_dropped = Counter(
            "api_shadow_dropped", "Shadow jobs dropped (queue full).", registry=registry
        )
        self.log_dropped = Gauge(
            "api_prediction_log_dropped",
            "Log entries (queue_full) or rows (write_failed: disk full, read-only) not logged.",
            ("reason",),
            registry=registry,
            multiprocess_mode="sum",
        )
        self.log_written = Gauge(
            "api_prediction_log_written",
            "Rows written to the prediction log.",
            registry=registry,
            multiprocess_mode="sum",
        )
        self.reloads = Counter(
            "api_model_reloads", "Model reloads by outcome.", ("outcome",), registry=registry
        )
        # The labelled series of the per-request metrics, by label values: looking them up in
        # prometheus-client (a lock, label checks) costs more than the increment itself.
        self._request_children: dict[tuple[str, int, str, str], tuple[Any, Any]] = {}
        self._class_children: dict[tuple[str, str, Any], Any] = {}

    def observe_request(
        self, endpoint: str, status: int, version: str, arm: str, seconds: float
    ) -> None:
        key = (endpoint, status, version, arm)
        children = self._request_children.get(key)
        if children is None:  # first of its kind: the label values are few, so this is kept
            labels = (endpoint, str(status), version, arm)
            children = self.requests.labels(*labels), self.latency.labels(*labels)
            self._request_children[key] = children
        count, latency = children
        count.inc()
        latency.observe(seconds)

    def observe_predictions(
        self, version: str, arm: str, predictions: Sequence[Any], classifier: bool
    ) -> None:
        if classifier:
            for label in predictions:
                key = (version, arm, label)
                child = self._class_children.get(key)
                if child is None:
                    child = self.predicted_classes.labels(version, arm, str(label))
                    self._class_children[key] = child
                child.inc()
        else:
            histogram = self.predicted_values.labels(version, arm)
            for value in predictions:
                histogram.observe(float(value))

    def observe_log(self, log: PredictionLog) -> None:
        """The log's own counts, as of now (it keeps them; the scrape copies them)."""
        self.log_dropped.labels("queue_full").set(log.dropped)
        self.log_dropped.labels("write_failed").set(log.failed)
        self.log_written.set(log.written)

    def render(self) -> bytes:
        """The exposition: this process's registry, or every worker's in multiprocess mode."""
        if not multiprocess():
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    @staticmethod
    def retire() -> None:
        """Drop this worker's per-process gauges (the canary share) from the shared files."""
        if multiprocess():
            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class RequestMetrics:
    """Pure ASGI middleware: count and time every request by route, status, version and arm.

    The version and arm are what the route put in the request's state (none for the others);
    ``metrics`` gives the app's current metrics (they are replaced when the models load).
    """

    def __init__(self, app: Any, metrics: Callable[[], ServingMetrics]) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def observe(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            state = scope.get("state") or {}
            version, arm = state.get("model_version", ""), state.get("arm", "")
            seconds = time.perf_counter() - started
            self.metrics().observe_request(route, status, version, arm, seconds)
