"""The monitoring report: a versioned JSON document, a self-contained HTML page, Prometheus gauges.

JSON is the contract (``retrain`` and dashboards read it); HTML and Prometheus are rendered
from the JSON, so the three never disagree. The HTML has inline SVG charts and inline CSS and
references nothing outside itself: it opens offline, attached to a ticket or an e-mail.

Schema version 1 (a change that removes or renames a key bumps ``schema_version``)::

    schema_version  1
    created_at      UTC time, ISO 8601
    status          ok | drift | degraded | not_enough_data;  exit_code  0 | 3 | 4 | 5
    reasons         why the status is what it is, one sentence each
    report_dir      where report.json, report.html and metrics.prom were written
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
    service_health  per model_version and arm (`unrouted`: refused before routing): requests,
                    answered, rows, first, last, requests_per_minute, latency_ms_p50/p95/p99
                    (answered requests; null if none), error_rate (5xx share), rejected_rate
                    (4xx share) | null (a batch file has no service)
"""

import html
import json
import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..core.drift import DISTANCE, TEST, DatasetDrift, FeatureDrift, Method
from ..core.performance import Performance
from ..core.quality import Quality
from .files import atomic_path, write_json

SCHEMA_VERSION = 1
REPORT_JSON, REPORT_HTML, METRICS_PROM = "report.json", "report.html", "metrics.prom"
GAUGE_PREFIX = "ml_monitor"


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
    features: tuple[FeatureDrift, ...] = ()
    dataset: DatasetDrift | None = None
    prediction: FeatureDrift | None = None
    quality: Quality | None = None
    performance: Performance | None = None
    health: tuple[dict[str, Any], ...] | None = None


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def feature_json(feature: FeatureDrift) -> dict[str, Any]:
    stats = feature.stats
    return {
        "feature": stats.name,
        "type": stats.kind,
        "method": feature.method,
        "drifted": feature.drifted,
        "severity": feature.severity,
        "psi": _finite(stats.psi),
        "test": TEST[stats.kind],
        "p_value": _finite(stats.p_value),
        "p_value_adjusted": _finite(feature.p_value_adjusted),
        "distance_metric": DISTANCE[stats.kind],
        "distance": _finite(stats.distance),
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
        "service_health": None if assessment.health is None else list(assessment.health),
    }


# --- Prometheus text format -------------------------------------------------------------------


def _label(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def to_prometheus(report: dict[str, Any], dataset: str) -> str:
    """Gauges for the node exporter's textfile collector (or any scraper of the file)."""
    lines: list[str] = []

    def gauge(name: str, help_text: str, samples: list[tuple[dict[str, object], float]]) -> None:
        full = f"{GAUGE_PREFIX}_{name}"
        lines.extend([f"# HELP {full} {help_text}", f"# TYPE {full} gauge"])
        for labels, value in samples:
            pairs = {"dataset": dataset, **labels}.items()
            text = ",".join(f"{key}={_label(val)}" for key, val in pairs)
            lines.append(full + "{" + text + "}" + f" {float(value):g}")

    status = report["status"]
    gauge(
        "status", "1 for the current status.", [({"status": s.value}, s == status) for s in Status]
    )
    gauge("exit_code", "Exit code of the last run.", [({}, report["exit_code"])])
    windows = report["windows"]
    gauge(
        "window_rows",
        "Rows per window.",
        [
            ({"window": "reference"}, windows["reference_rows"]),
            ({"window": "current"}, windows["current_rows"]),
        ],
    )
    if report["dataset_drift"] is not None:
        drift = report["dataset_drift"]
        gauge("drift_share", "Share of features that drifted.", [({}, drift["share"])])
        gauge("dataset_drift", "1 when the dataset drifted.", [({}, drift["drifted"])])
    features = report["features"]
    if features:
        gauge(
            "feature_psi",
            "PSI per feature.",
            [({"feature": f["feature"]}, f["psi"]) for f in features],
        )
        gauge(
            "feature_drifted",
            "1 when the feature drifted.",
            [({"feature": f["feature"]}, f["drifted"]) for f in features],
        )
    if report["prediction_drift"] is not None:
        gauge(
            "prediction_psi",
            "PSI of the model's output.",
            [({}, report["prediction_drift"]["psi"])],
        )
    if report["quality"] is not None:
        gauge(
            "feature_missing_rate",
            "Missing rate per feature in the window.",
            [
                ({"feature": q["feature"]}, q["missing_rate_current"])
                for q in report["quality"]["features"]
            ],
        )
    performance = report["performance"]
    if (
        performance
        and performance["judged"]
        and performance["current"].get(performance["metric"]) is not None
    ):
        gauge(
            "performance",
            "The monitored metric on the labelled rows.",
            [({"metric": performance["metric"]}, performance["current"][performance["metric"]])],
        )
    health = report.get("service_health") or []
    if health:
        arms = [({"model_version": h["model_version"], "arm": h["arm"]}, h) for h in health]
        gauge("requests", "Requests in the window.", [(k, h["requests"]) for k, h in arms])
        gauge(
            "latency_p95_ms",
            "p95 request latency in the window.",
            [(k, h["latency_ms_p95"]) for k, h in arms if h["latency_ms_p95"] is not None],
        )
        for name, meaning in (("error_rate", "with a server error (5xx)"),
                              ("rejected_rate", "refused for bad input (4xx)")):  # fmt: skip
            gauge(name, f"Share of requests {meaning}.", [(k, h[name]) for k, h in arms])
    return "\n".join(lines) + "\n"


# --- HTML -------------------------------------------------------------------------------------

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; }
body { color: #1f2933; } h1 { margin-bottom: .2rem; }
h2 { margin-top: 2rem; border-bottom: 1px solid #d9e2ec; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { padding: .25rem .6rem; text-align: left; }
tr:nth-child(even) { background: #f5f7fa; } th { background: #e4e7eb; }
.badge { display: inline-block; padding: .1rem .6rem; border-radius: .8rem; font-weight: 600; }
.ok { background: #c6f7e2; } .warn, .drift { background: #fce588; }
.alert, .degraded { background: #ffbdbd; } .not_enough_data { background: #d9e2ec; }
.grid { display: flex; flex-wrap: wrap; gap: 1rem; }
.card { border: 1px solid #d9e2ec; border-radius: .4rem; padding: .5rem .8rem; }
.card h3 { margin: .2rem 0; font-size: 1rem; } .muted { color: #616e7c; }
"""
REFERENCE_COLOUR, CURRENT_COLOUR = "#9aa5b1", "#2f80ed"


def _e(value: object) -> str:
    return html.escape(str(value))


def _num(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return _e(value)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def bar_chart(histogram: dict[str, list[Any]]) -> str:
    """Reference vs current share per bin, as inline SVG (no script, no external file)."""
    bins = histogram["bins"]
    reference, current = histogram["reference"], histogram["current"]
    top = max([*reference, *current, 1e-9])
    slot, height, base, left = 34, 120, 130, 10
    width = left + slot * len(bins) + 10
    legend = '<text x="{}" y="12" font-size="11" fill="{}">&#9632; {}</text>'
    parts = [
        f'<svg width="{width}" height="{base + 70}" role="img">',
        legend.format(left, REFERENCE_COLOUR, "reference"),
        legend.format(left + 80, CURRENT_COLOUR, "current"),
        f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#52606d"/>',
    ]
    for index, label in enumerate(bins):
        x = left + index * slot
        for offset, share, colour in (
            (3, reference[index], REFERENCE_COLOUR),
            (16, current[index], CURRENT_COLOUR),
        ):
            bar = height * share / top
            parts.append(
                f'<rect x="{x + offset}" y="{base - bar:.1f}" width="12" height="{bar:.1f}" '
                f'fill="{colour}"><title>{_e(label)}: {share:.1%}</title></rect>'
            )
        short = label if len(label) <= 14 else label[:13] + "…"
        parts.append(
            f'<text x="{x + 16}" y="{base + 10}" font-size="10" text-anchor="end" '
            f'transform="rotate(-40 {x + 16} {base + 10})">{_e(short)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _feature_card(feature: dict[str, Any]) -> str:
    badge = f'<span class="badge {feature["severity"]}">{_e(feature["severity"])}</span>'
    verdict = "drifted" if feature["drifted"] else "no drift"
    facts = [
        verdict,
        f"PSI {_num(feature['psi'])}",
        f"{_e(feature['test'])} p {_num(feature['p_value'])}",
        f"{_e(feature['distance_metric'])} {_num(feature['distance'])}",
    ]
    return (
        f'<div class="card"><h3>{_e(feature["feature"])} {badge}</h3>'
        f'<div class="muted">{" · ".join(facts)}</div>{bar_chart(feature["histogram"])}</div>'
    )


def _drift_section(report: dict[str, Any]) -> list[str]:
    features = sorted(report["features"], key=lambda f: f["psi"] or 0.0, reverse=True)
    dataset = report["dataset_drift"]
    summary = (
        f"<p>{len(dataset['drifted_features'])} of {dataset['features']} features drifted "
        f"(share {dataset['share']:.0%}); decided by {_e(report['windows']['method'])}.</p>"
    )
    rows = [
        [
            _e(f["feature"]),
            _e(f["type"]),
            _num(f["psi"]),
            f'<span class="badge {f["severity"]}">{_e(f["severity"])}</span>',
            f"{_e(f['test'])} {_num(f['p_value'])} (adj. {_num(f['p_value_adjusted'])})",
            f"{_e(f['distance_metric'])} {_num(f['distance'])}",
            "<b>yes</b>" if f["drifted"] else "no",
        ]
        for f in features
    ]
    headers = ["feature", "type", "PSI", "severity", "p-value", "distance", "drifted"]
    cards = "".join(_feature_card(f) for f in features)
    return [
        "<h2>Data drift</h2>",
        summary,
        _table(headers, rows),
        f'<div class="grid">{cards}</div>',
    ]


def _quality_section(quality: dict[str, Any]) -> list[str]:
    violations = [
        [_e(v["column"]), _e(v["rule"]), _e(v["detail"]), _e(", ".join(v["examples"]))]
        for v in quality["schema_violations"]
    ]
    rows = [
        [
            _e(q["feature"]),
            _num(q["missing_rate_reference"]),
            _num(q["missing_rate_current"]),
            _num(q["out_of_range_rate"]),
            _num(q["unseen_rate"]),
            _e("; ".join(q["problems"])) or "-",
        ]
        for q in quality["features"]
    ]
    parts = ["<h2>Data quality</h2>"]
    if violations:
        parts.append(_table(["column", "rule", "detail", "examples"], violations))
    headers = [
        "feature",
        "missing (reference)",
        "missing (current)",
        "out of range",
        "unseen",
        "problems",
    ]
    parts.append(_table(headers, rows))
    return parts


def _performance_section(performance: dict[str, Any]) -> list[str]:
    parts = ["<h2>Performance</h2>"]
    if not performance["judged"]:
        return [*parts, f"<p>{performance['labelled_rows']} labelled rows: too few to judge.</p>"]
    metric = performance["metric"]
    parts.append(
        f"<p>{_e(metric)}: {_num(performance['current'].get(metric))} on "
        f"{performance['labelled_rows']:,} labelled rows, baseline "
        f"{_num(performance['baseline'])} (relative drop {_num(performance['relative_drop'])}).</p>"
    )
    rows = [[_e(name), _num(value)] for name, value in performance["current"].items()]
    parts.append(_table(["metric", "current"], rows))
    slices = [
        [
            _e(s["column"]),
            _e(s["value"]),
            _num(s["rows"]),
            _num(s.get(metric)),
            _num(s["baseline"]),
            "<b>yes</b>" if s["degraded"] else "no",
        ]
        for s in performance["slices"]
    ]
    if slices:
        parts.append(_table(["column", "value", "rows", "current", "baseline", "degraded"], slices))
    return parts


def _health_section(health: list[dict[str, Any]]) -> list[str]:
    headers = ["version", "arm", "requests", "rows", "per minute", "errors (5xx)",
               "rejected (4xx)", "p50 ms", "p95 ms", "p99 ms"]  # fmt: skip
    rows = [
        [_e(h["model_version"]), _e(h["arm"]), _num(h["requests"]), _num(h["rows"]),
         _num(h["requests_per_minute"]), _percent(h["error_rate"]), _percent(h["rejected_rate"]),
         _num(h["latency_ms_p50"]), _num(h["latency_ms_p95"]), _num(h["latency_ms_p99"])]
        for h in health
    ]  # fmt: skip
    note = (
        "<p class='muted'>A challenger's errors count on its own arm even when the champion "
        "answered; <code>unrouted</code>: requests refused before routing.</p>"
    )
    return ["<h2>Service health</h2>", _table(headers, rows), note]


def to_html(report: dict[str, Any]) -> str:
    """One offline page: status and reasons, then drift, quality and performance sections."""
    status = report["status"]
    windows = report["windows"]
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Monitoring report: {_e(status)}</title><style>{STYLE}</style></head><body>",
        "<h1>Monitoring report</h1>",
        f'<p class="muted">{_e(report["created_at"])} · schema {report["schema_version"]}</p>',
        f'<p><span class="badge {_e(status)}">{_e(status)}</span> '
        f"exit code {report['exit_code']}</p>",
        "<ul>" + "".join(f"<li>{_e(reason)}</li>" for reason in report["reasons"]) + "</ul>",
        _table(
            ["window", "source", "rows", "labelled rows"],
            [
                ["reference", "reference snapshot", _num(windows["reference_rows"]), "-"],
                [
                    "current",
                    _e(windows["source"]),
                    _num(windows["current_rows"]),
                    _num(windows["labelled_rows"]),
                ],
            ],
        ),
    ]
    if report["dataset_drift"] is not None:
        parts.extend(_drift_section(report))
    if report["prediction_drift"] is not None:
        parts.extend(
            [
                "<h2>Prediction drift</h2>",
                f'<div class="grid">{_feature_card(report["prediction_drift"])}</div>',
            ]
        )
    if report["quality"] is not None:
        parts.extend(_quality_section(report["quality"]))
    if report["performance"] is not None:
        parts.extend(_performance_section(report["performance"]))
    if report.get("service_health"):
        parts.extend(_health_section(report["service_health"]))
    thresholds = json.dumps(report["thresholds"], indent=2)
    parts.extend(["<h2>Thresholds</h2>", f"<pre>{_e(thresholds)}</pre>", "</body></html>"])
    return "\n".join(parts) + "\n"


def write(report: dict[str, Any], directory: Path, dataset: str) -> None:
    """report.json, report.html and metrics.prom in ``directory``; each write is atomic."""
    write_json(report, directory / REPORT_JSON)
    for name, text in (
        (REPORT_HTML, to_html(report)),
        (METRICS_PROM, to_prometheus(report, dataset)),
    ):
        with atomic_path(directory / name) as temporary:
            temporary.write_text(text, encoding="utf-8")
