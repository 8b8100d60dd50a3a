"""What one `monitor` run found, its status and exit code, and the report's JSON contract (pure).

JSON is the contract (``retrain`` and dashboards read it); ``io/monitoring_report.py`` writes
it, and renders the HTML page and the Prometheus gauges from it, so the three never disagree.

Schema version 1 (a change that removes or renames a key bumps ``schema_version``)::

    schema_version  1
    created_at      UTC time, ISO 8601
    status          ok | drift | degraded | not_enough_data;  exit_code  0 | 3 | 4 | 5
    reasons         why the status is what it is, one sentence each
    report_dir      where report.json, report.html and metrics.prom were written
    model           name, version and source (URI or bundle) of the judged model, whose
                    reference snapshot and test baseline the window is compared with | null
    windows         source, reference_rows, current_rows, labelled_rows, method (p_value |
                    distance | null), min_window_rows, large_window_rows
    thresholds      the `monitor` config the report was computed with
    dataset_drift   drifted, share, features, drifted_features, alerting_key_features | null
    features        per model input: feature, type, method, drifted, severity (ok|warn|alert),
                    psi, test (ks|chi_square), p_value, p_value_adjusted, distance_metric
                    (wasserstein_norm|jensen_shannon), distance, reference_rows,
                    current_rows, histogram {bins, reference, current} (shares of rows)
    prediction_drift  one `features` entry for the model's output | null
    quality         problems, schema_violations [{column, rule, detail, examples}], features
                    [{feature, missing_rate_reference, missing_rate_current,
                    missing_rate_change, out_of_range_rate, unseen_rate, problems}] | null
    performance     labelled_rows, judged, metric, baseline, current {metric: value},
                    relative_drop, degraded, slices [...] | null
    fairness        on the labelled rows: labelled_rows, disparity, bound, values {attribute:
                    disparity}, breaches, attributes {attribute: groups, metrics,
                    disparities, ...} (as reports/fairness.json) | null
    service_health  per model_version and arm (`unrouted`: refused before routing): requests,
                    answered, rows, first, last, requests_per_minute, latency_ms_p50/p95/p99
                    (answered requests; null if none), error_rate (5xx share), rejected_rate
                    (4xx share) | null (a batch file has no service)
"""

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from .drift import DISTANCE, TEST, DatasetDrift, FeatureDrift, Method
from .fairness import FairnessCheck
from .metrics import finite_or_none
from .performance import Performance
from .quality import Quality

SCHEMA_VERSION = 1


class Status(StrEnum):
    OK = "ok"
    DRIFT = "drift"
    DEGRADED = "degraded"
    NOT_ENOUGH_DATA = "not_enough_data"


# 1 and 2 are the CLI's own errors (bad input, bad config): a scheduler can tell a finding from
# a failure.
EXIT_CODES = {Status.OK: 0, Status.DRIFT: 3, Status.DEGRADED: 4, Status.NOT_ENOUGH_DATA: 5}


@dataclass(frozen=True)
class Assessment:
    """Everything one `monitor` run found; ``None`` for the parts that did not apply."""

    status: Status
    reasons: tuple[str, ...]
    created_at: str
    source: str
    reference_rows: int
    current_rows: int
    method: Method | None
    thresholds: dict[str, Any]
    model: dict[str, str] | None = None
    features: tuple[FeatureDrift, ...] = ()
    dataset: DatasetDrift | None = None
    prediction: FeatureDrift | None = None
    quality: Quality | None = None
    performance: Performance | None = None
    fairness: FairnessCheck | None = None
    health: tuple[dict[str, Any], ...] | None = None


def feature_json(feature: FeatureDrift) -> dict[str, Any]:
    stats = feature.stats
    statistics = finite_or_none(
        {
            "psi": stats.psi,
            "p_value": stats.p_value,
            "p_value_adjusted": feature.p_value_adjusted,
            "distance": stats.distance,
        }
    )
    return {
        "feature": stats.name,
        "type": stats.kind,
        "method": feature.method,
        "drifted": feature.drifted,
        "severity": feature.severity,
        "psi": statistics["psi"],
        "test": TEST[stats.kind],
        "p_value": statistics["p_value"],
        "p_value_adjusted": statistics["p_value_adjusted"],
        "distance_metric": DISTANCE[stats.kind],
        "distance": statistics["distance"],
        "reference_rows": stats.reference_rows,
        "current_rows": stats.current_rows,
        "histogram": asdict(stats.histogram),
    }


def quality_json(quality: Quality) -> dict[str, Any]:
    return {
        "problems": quality.problems,
        "schema_violations": [asdict(violation) for violation in quality.schema_violations],
        "features": [
            {
                "feature": item.name,
                "missing_rate_reference": item.missing_rate_reference,
                "missing_rate_current": item.missing_rate_current,
                "missing_rate_change": item.missing_rate_change,
                "out_of_range_rate": item.out_of_range_rate,
                "unseen_rate": item.unseen_rate,
                "problems": list(item.problems),
            }
            for item in quality.features
        ],
    }


def to_json(assessment: Assessment, report_dir: str = "") -> dict[str, Any]:
    """The report document (schema version 1, see the module docstring)."""
    dataset = assessment.dataset
    performance = assessment.performance
    return {
        "schema_version": SCHEMA_VERSION,
        "created_at": assessment.created_at,
        "status": str(assessment.status),
        "exit_code": EXIT_CODES[assessment.status],
        "reasons": list(assessment.reasons),
        "report_dir": report_dir,
        "model": assessment.model,
        "windows": {
            "source": assessment.source,
            "reference_rows": assessment.reference_rows,
            "current_rows": assessment.current_rows,
            "labelled_rows": performance.labelled_rows if performance else 0,
            "method": assessment.method,
            "min_window_rows": assessment.thresholds["min_window_rows"],
            "large_window_rows": assessment.thresholds["drift"]["large_window_rows"],
        },
        "thresholds": assessment.thresholds,
        "dataset_drift": None
        if dataset is None
        else {
            "drifted": dataset.drifted,
            "share": dataset.share,
            "features": len(assessment.features),
            "drifted_features": list(dataset.drifted_features),
            "alerting_key_features": list(dataset.alerting_key_features),
        },
        "features": [feature_json(feature) for feature in assessment.features],
        "prediction_drift": feature_json(assessment.prediction) if assessment.prediction else None,
        "quality": quality_json(assessment.quality) if assessment.quality else None,
        "performance": None if performance is None else asdict(performance),
        "fairness": None if assessment.fairness is None else assessment.fairness.as_dict(),
        "service_health": None if assessment.health is None else list(assessment.health),
    }
