"""The monitoring report's three files: report.json, report.html and metrics.prom.

The JSON document is the contract (``core/assessment.py``); the HTML page and the Prometheus
gauges are rendered from it, so the three never disagree. The page comes from a Jinja2
template shipped in the package (``templates/monitoring_report.html.j2``): inline CSS and SVG
charts, nothing outside itself, so it opens offline, attached to a ticket or an e-mail. The
gauges are prometheus-client's, written in its text format for the node exporter's textfile
collector (or any scraper of the file).
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from ..core.assessment import Status
from .files import atomic_path, write_json

REPORT_JSON, REPORT_HTML, METRICS_PROM = "report.json", "report.html", "metrics.prom"
TEMPLATE = "monitoring_report.html.j2"
GAUGE_PREFIX = "ml_monitor"


def _num(value: object) -> str:
    """A number as people read it; ``-`` for a null (an undefined statistic)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _percent(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}%}"


@cache
def _template() -> Template:
    environment = Environment(
        loader=PackageLoader(__name__.rpartition(".")[0]),  # this package's templates/
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(num=_num, percent=_percent)
    return environment.get_template(TEMPLATE)


def to_html(report: dict[str, Any]) -> str:
    """One offline page: status and reasons, then drift, quality, performance and health."""
    return _template().render(
        report=report,
        features=sorted(report["features"], key=lambda f: f["psi"] or 0.0, reverse=True),
        thresholds=json.dumps(report["thresholds"], indent=2),
    )


def gauges(report: dict[str, Any], dataset: str) -> CollectorRegistry:
    """The report as Prometheus gauges, every one labelled with the dataset's name."""
    registry = CollectorRegistry()

    def gauge(name: str, help_text: str, samples: list[tuple[dict[str, str], Any]]) -> None:
        labels = ["dataset", *(samples[0][0] if samples else {})]
        metric = Gauge(f"{GAUGE_PREFIX}_{name}", help_text, labels, registry=registry)
        for extra, value in samples:
            if value is not None:  # an undefined statistic is left out, not exported as NaN
                metric.labels(dataset=dataset, **extra).set(float(value))

    status = report["status"]
    gauge("status", "1 for the current status.", [({"status": s}, s == status) for s in Status])
    gauge("exit_code", "Exit code of the last run.", [({}, report["exit_code"])])
    windows = report["windows"]
    rows = [({"window": side}, windows[f"{side}_rows"]) for side in ("reference", "current")]
    gauge("window_rows", "Rows per window.", rows)
    if (drift := report["dataset_drift"]) is not None:
        gauge("drift_share", "Share of features that drifted.", [({}, drift["share"])])
        gauge("dataset_drift", "1 when the dataset drifted.", [({}, drift["drifted"])])
    if features := report["features"]:
        by_feature = [({"feature": f["feature"]}, f) for f in features]
        gauge("feature_psi", "PSI per feature.", [(k, f["psi"]) for k, f in by_feature])
        drifted = [(k, f["drifted"]) for k, f in by_feature]
        gauge("feature_drifted", "1 when the feature drifted.", drifted)
    if (prediction := report["prediction_drift"]) is not None:
        gauge("prediction_psi", "PSI of the model's output.", [({}, prediction["psi"])])
    if (quality := report["quality"]) is not None:
        missing = [
            ({"feature": q["feature"]}, q["missing_rate_current"]) for q in quality["features"]
        ]
        gauge("feature_missing_rate", "Missing rate per feature in the window.", missing)
    performance = report["performance"]
    if performance and performance["judged"]:
        metric = performance["metric"]
        value = [({"metric": metric}, performance["current"].get(metric))]
        gauge("performance", "The monitored metric on the labelled rows.", value)
    if fairness := report.get("fairness"):
        disparity = fairness["disparity"]
        values = [
            ({"attribute": name, "disparity": disparity}, value)
            for name, value in fairness["values"].items()
        ]
        gauge("fairness_disparity", "The bounded disparity per sensitive attribute.", values)
        breached = [
            ({"attribute": name}, name in fairness["breaches"]) for name in fairness["values"]
        ]
        gauge("fairness_breach", "1 when the attribute's disparity is beyond its bound.", breached)
    if health := report.get("service_health"):
        arms = [({"model_version": h["model_version"], "arm": h["arm"]}, h) for h in health]
        for name, key, help_text in (
            ("requests", "requests", "Requests in the window."),
            ("latency_p95_ms", "latency_ms_p95", "p95 request latency in the window."),
            ("error_rate", "error_rate", "Share of requests with a server error (5xx)."),
            ("rejected_rate", "rejected_rate", "Share of requests refused for bad input (4xx)."),
        ):
            gauge(name, help_text, [(k, h[key]) for k, h in arms])
    return registry


def write(report: dict[str, Any], directory: Path, dataset: str) -> None:
    """report.json, report.html and metrics.prom in ``directory``; each write is atomic."""
    write_json(report, directory / REPORT_JSON)
    with atomic_path(directory / REPORT_HTML) as temporary:
        temporary.write_text(to_html(report), encoding="utf-8")
    write_to_textfile(str(directory / METRICS_PROM), gauges(report, dataset))  # atomic too
