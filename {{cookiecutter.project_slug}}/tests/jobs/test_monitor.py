"""The `monitor` job and its report: the status decision, the JSON contract and the three files."""

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from prometheus_client import generate_latest
from sklearn.linear_model import LogisticRegression

from {{ cookiecutter.package_name }}.core.assessment import EXIT_CODES, Assessment, Status, to_json
from {{ cookiecutter.package_name }}.core.config import Config, MonitorFairnessConfig
from {{ cookiecutter.package_name }}.core.errors import ConfigError
from {{ cookiecutter.package_name }}.core.health import service_health
from {{ cookiecutter.package_name }}.io import monitoring_report as report
from {{ cookiecutter.package_name }}.io import params, paths
from {{ cookiecutter.package_name }}.io.bundle import Bundle
from {{ cookiecutter.package_name }}.io.files import read_json, read_table, write_table
from {{ cookiecutter.package_name }}.io.registry import CHAMPION
from {{ cookiecutter.package_name }}.jobs import evaluate, export, gate, monitor, register, split, train, validate

from ..conftest import fit, metadata, write_bundle

Window = Callable[..., pd.DataFrame]
TOP_LEVEL = {
    "schema_version",
    "created_at",
    "model",
    "status",
    "exit_code",
    "reasons",
    "report_dir",
    "windows",
    "thresholds",
    "dataset_drift",
    "features",
    "prediction_drift",
    "quality",
    "performance",
    "fairness",
    "service_health",
}
FEATURE = {
    "feature",
    "type",
    "method",
    "drifted",
    "severity",
    "psi",
    "test",
    "p_value",
    "p_value_adjusted",
    "distance_metric",
    "distance",
    "reference_rows",
    "current_rows",
    "histogram",
}
LABEL = r'[a-z_]+="(?:[^"\\]|\\.)*"'
PROMETHEUS_LINE = re.compile(
    r"^ml_monitor_[a-z0-9_]+\{" + LABEL + "(," + LABEL + r")*\} -?[0-9.e+-]+$"
)


def _assess(config: Config, reference: pd.DataFrame, current: pd.DataFrame) -> Assessment:
    accuracy = float((reference["label"] == reference["prediction"]).mean())
    return monitor.assess(
        reference,
        current,
        config,
        baseline={"accuracy": accuracy},
        created_at="2026-01-01T00:00:00Z",
    )


def test_exit_codes_are_distinct_from_errors() -> None:
    assert EXIT_CODES == {
        Status.OK: 0,
        Status.DRIFT: 3,
        Status.DEGRADED: 4,
        Status.NOT_ENOUGH_DATA: 5,
    }


def test_a_small_window_is_not_enough_data(watch_config: Config, make_window: Window) -> None:
    result = _assess(watch_config, make_window(2000, 1), make_window(49, 2))
    assert result.status == Status.NOT_ENOUGH_DATA
    assert "49 rows" in result.reasons[0]
    document = to_json(result)
    assert document["features"] == [] and document["dataset_drift"] is None
    assert document["exit_code"] == 5


def test_an_iid_window_is_ok(watch_config: Config, make_window: Window) -> None:
    result = _assess(watch_config, make_window(2000, 1), make_window(300, 2))
    assert result.status == Status.OK, result.reasons
    assert result.method == "p_value"
    assert result.performance is not None and result.performance.judged


def test_a_shift_the_model_reacts_to_is_drift(watch_config: Config, make_window: Window) -> None:
    result = _assess(watch_config, make_window(2000, 1), make_window(300, 2, shift=1.0))
    assert result.status == Status.DRIFT
    assert any(reason.startswith("prediction drift") for reason in result.reasons)


def test_quality_problems_outrank_drift(watch_config: Config, make_window: Window) -> None:
    current = make_window(300, 2, shift=1.0, missing_x2=0.3)
    result = _assess(watch_config, make_window(2000, 1), current)
    assert result.status == Status.DEGRADED
    assert result.reasons[0].startswith("quality: x2: missing rate rose")
    assert any(reason.startswith("prediction drift") for reason in result.reasons)


def test_unknown_key_features_fail_naming_them(watch_config: Config, make_window: Window) -> None:
    drift = watch_config.monitor.drift.model_copy(update={"key_features": ["nope"]})
    monitor_config = watch_config.monitor.model_copy(update={"drift": drift})
    config = watch_config.model_copy(update={"monitor": monitor_config})
    with pytest.raises(ConfigError, match="nope"):
        _assess(config, make_window(200, 1), make_window(100, 2))


def test_report_json_has_the_documented_shape(watch_config: Config, make_window: Window) -> None:
    result = _assess(watch_config, make_window(2000, 1), make_window(300, 2, shift=1.0))
    document = to_json(result, "reports/monitoring/x")
    assert set(document) == TOP_LEVEL
    assert document["schema_version"] == 1
    assert document["status"] == "drift" and document["exit_code"] == 3
    assert {feature["feature"] for feature in document["features"]} == {
        "x1",
        "x2",
        "colour",
        "shop",
    }
    for feature in [*document["features"], document["prediction_drift"]]:
        assert set(feature) == FEATURE
        histogram = feature["histogram"]
        assert len(histogram["bins"]) == len(histogram["reference"]) == len(histogram["current"])
    assert document["windows"]["current_rows"] == 300
    assert document["thresholds"]["drift"]["psi_alert"] == 0.25
    assert document["performance"]["metric"] == watch_config.monitor.performance.metric
    json.dumps(document, allow_nan=False)


def test_fairness_on_labelled_rows_is_reported_and_a_breach_degrades(
    watch_config: Config, make_window: Window
) -> None:
    data = watch_config.data.model_copy(update={"sensitive_columns": ["colour"]})
    bound = MonitorFairnessConfig(disparity="demographic_parity_difference", bound=0.2)
    settings = watch_config.monitor.model_copy(update={"fairness": bound})
    config = watch_config.model_copy(update={"data": data, "monitor": settings})
    reference = make_window(2000, 1)

    fair = to_json(_assess(config, reference, make_window(600, 2)), "x")
    assert fair["status"] == "ok"
    assert fair["fairness"]["breaches"] == {}
    assert 0.0 <= fair["fairness"]["values"]["colour"] < 0.2
    groups = fair["fairness"]["attributes"]["colour"]["groups"]
    assert {group["group"] for group in groups} == {"red", "green", "blue"}

    unfair_window = make_window(600, 2)
    unfair_window.loc[unfair_window["colour"] == "red", "prediction"] = "b"  # red always "b"
    unfair = to_json(_assess(config, reference, unfair_window), "x")
    assert unfair["status"] == "degraded"
    assert any(
        reason.startswith("fairness: colour: demographic_parity_difference")
        for reason in unfair["reasons"]
    )
    assert list(unfair["fairness"]["breaches"]) == ["colour"]
    assert "<h2>Fairness</h2>" in report.to_html(unfair)
    samples = prometheus(unfair, "watch")
    assert 'ml_monitor_fairness_breach{attribute="colour",dataset="watch"} 1.0' in samples
    assert to_json(_assess(watch_config, reference, unfair_window), "x")["fairness"] is None


def prometheus(document: dict[str, object], dataset: str) -> list[str]:
    """The samples (not the HELP/TYPE comments) of the report's metrics.prom."""
    text = generate_latest(report.gauges(document, dataset)).decode()
    return [line for line in text.splitlines() if not line.startswith("#")]


def test_html_is_self_contained(watch_config: Config, make_window: Window) -> None:
    result = _assess(watch_config, make_window(2000, 1), make_window(300, 2, missing_x2=0.3))
    page = report.to_html(to_json(result))
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert page.count("<svg") == 5  # four features and the prediction
    bins = [f.stats.histogram.bins for f in (*result.features, result.prediction) if f]
    assert page.count("<rect") == 2 * sum(map(len, bins))  # a reference and a current bar a bin
    assert "missing rate rose" in page
    for section in ("Data drift", "Prediction drift", "Data quality", "Performance", "Thresholds"):
        assert f"<h2>{section}</h2>" in page


def test_html_escapes_what_it_shows(watch_config: Config, make_window: Window) -> None:
    result = _assess(watch_config, make_window(2000, 1), make_window(300, 2))
    page = report.to_html(to_json(replace(result, reasons=("<b>x</b> & y",), source="<i>f</i>")))
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in page and "&lt;i&gt;f&lt;/i&gt;" in page
    assert "<b>x</b>" not in page and "<i>f</i>" not in page


def test_prometheus_file_is_valid_text_format(watch_config: Config, make_window: Window) -> None:
    result = _assess(watch_config, make_window(2000, 1), make_window(300, 2))
    samples = prometheus(to_json(result), 'we"ird')
    assert all(PROMETHEUS_LINE.match(line) for line in samples), samples
    assert 'ml_monitor_status{dataset="we\\"ird",status="ok"} 1.0' in samples
    assert sum(line.startswith("ml_monitor_feature_psi{") for line in samples) == 4


def test_service_health_is_in_the_html_and_the_gauges(
    watch_config: Config, make_window: Window
) -> None:
    when = pd.Timestamp("2026-01-01", tz="UTC")
    requests = pd.DataFrame(
        {
            "request_id": ["r1", "r2", "r3"],
            "timestamp": [when] * 3,
            "model_version": "1",
            "arm": ["champion", "champion", "unrouted"],
            "status": [200, 500, 422],
            "rows": [1, 0, 0],
            "latency_ms": [2.0, 1.0, 0.1],
        }
    )
    health = service_health(requests)
    assessed = _assess(watch_config, make_window(2000, 1), make_window(300, 2))
    document = to_json(replace(assessed, health=health))
    rates = [(h["arm"], h["error_rate"], h["rejected_rate"]) for h in document["service_health"]]
    assert rates == [("champion", 0.5, 0.0), ("unrouted", 0.0, 1.0)]
    json.dumps(document, allow_nan=False)  # no answered request: latency is null, not NaN
    page = report.to_html(document)
    assert "Service health" in page and "unrouted" in page and "50.0%" in page
    samples = prometheus(document, "d")
    assert all(PROMETHEUS_LINE.match(line) for line in samples), samples
    assert 'ml_monitor_error_rate{arm="champion",dataset="d",model_version="1"} 0.5' in samples
    assert not any(
        line.startswith("ml_monitor_latency_p95_ms{") and "unrouted" in line for line in samples
    )


def test_write_leaves_the_three_files_and_nothing_half_written(
    tmp_path: Path, watch_config: Config, make_window: Window
) -> None:
    document = to_json(_assess(watch_config, make_window(2000, 1), make_window(300, 2)))
    report.write(document, tmp_path, "d")
    written = {path.name for path in tmp_path.iterdir()}
    assert written == {report.REPORT_JSON, report.REPORT_HTML, report.METRICS_PROM}
    as_json = json.loads(json.dumps(document))  # tuples become lists
    assert json.loads((tmp_path / report.REPORT_JSON).read_text()) == as_json
    assert (tmp_path / report.REPORT_HTML).read_text() == report.to_html(document)
    prometheus_text = (tmp_path / report.METRICS_PROM).read_text()
    assert prometheus_text == generate_latest(report.gauges(document, "d")).decode()


def test_run_writes_the_report_files_and_latest(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    watch_config: Config,
    make_window: Window,
) -> None:
    monkeypatch.chdir(tmp_path)
    window = tmp_path / "window.csv"
    write_table(make_window(300, 2, shift=1.0), window)
    pipeline = fit(watch_config.data, make_window(200, 0), LogisticRegression())
    model = Bundle(pipeline, metadata(watch_config.data, "7"))
    bundle = write_bundle(tmp_path / "bundle", model, make_window(2000, 1), {"accuracy": 0.9})
    assert monitor.run(watch_config, window, model=str(bundle)) == Status.DRIFT
    assert monitor.run(watch_config, window, model=str(bundle)) == Status.DRIFT
    directories = sorted(path for path in paths.MONITORING_DIR.iterdir() if path.is_dir())
    assert len(directories) == 2  # a second run in the same second gets its own directory
    latest = json.loads(paths.MONITORING_LATEST.read_text())
    assert latest["report_dir"] == str(directories[-1])
    assert latest == json.loads((directories[-1] / report.REPORT_JSON).read_text())
    assert latest["model"] == {"name": "toy", "version": "7", "source": str(bundle)}
    assert {path.name for path in directories[-1].iterdir()} == {
        report.REPORT_JSON,
        report.REPORT_HTML,
        report.METRICS_PROM,
    }


def test_after_a_rejected_retrain_monitoring_still_judges_against_the_champion(
    workspace: Path,
) -> None:
    """The workspace then holds the rejected challenger's model and reference; `monitor`
    (from the registry, or from the champion's exported bundle) uses the champion's own."""
    fast = [
        "release=auto",
        "release.bootstrap_samples=0",
        "evaluate.importance_repeats=1",
        "evaluate.fairness.bootstrap_samples=0",
    ]
    config = params.load(fast)
    validate.run(config)
    split.run(config)
    train.run(config, persist=True)
    evaluate.run(config)
    champion = register.register(config)
    assert gate.gate(config).passed
    reference_rows = len(read_table(paths.SCORED_REFERENCE))
    baseline = read_json(paths.METRICS)["test"]

    # A retrain with a smaller reference snapshot, which the gate rejects (it needs +1000).
    retrained = params.load([*fast, "split.reference_size=20", "release.min_delta=1000"])
    split.run(retrained)
    train.run(retrained, persist=True)
    evaluate.run(retrained)
    register.register(retrained)
    assert not gate.gate(retrained).passed
    assert len(read_table(paths.SCORED_REFERENCE)) == 20

    bundle = export.export(config, CHAMPION, workspace / "bundle")
    for model in (None, str(bundle)):
        monitor.run(config, paths.VALIDATED, model=model)
        report_json = read_json(paths.MONITORING_LATEST)
        assert report_json["model"]["version"] == champion.version
        assert report_json["windows"]["reference_rows"] == reference_rows
        performance = report_json["performance"]
        assert performance["judged"] and performance["baseline"] == baseline[performance["metric"]]
