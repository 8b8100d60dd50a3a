"""`gate`: challenger against champion on the same held-out rows; promote in auto mode.

Scoring is `core/measure.py`, the rules are `core/gate.py`, the card is `core/card.py`; this
job loads the two registered models and fits the trivial baseline, measures all three and
fairness (`core/fairness.py`) on every held-out set (the test split, plus recent labelled
production rows when there are enough), applies the rules, records the decision and moves the
aliases. Exit code 3 (`GATE_EXIT_REJECTED`) tells CI that the challenger was rejected.
"""

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from ..core import baseline, card, fairness
from ..core.config import Config
from ..core.errors import ProjectError
from ..core.gate import Decision, Evaluation, combine, decide, paired_bootstrap
from ..core.measure import Measured, measure, request_records, single_row_p95_ms
from ..core.metrics import METRICS, finite_or_none
from ..core.models import features_and_target
from ..core.timestamps import now
from ..io import paths
from ..io.bundle import registered
from ..io.files import atomic_path, read_table, write_json
from ..io.labelled import untrained
from ..io.registry import (
    CHALLENGER,
    CHAMPION,
    STAGING,
    Registry,
    Version,
    input_schema,
    reachable,
)

GATE_EXIT_REJECTED = 3


def holdout_sets(config: Config) -> dict[str, pd.DataFrame]:
    """The test split, plus the recent window when production has enough labelled rows.

    The recent window is the labelled production rows (prediction log joined with feedback)
    that neither model trained on: `retrain` marks the rows it adds to the training data.
    """
    sets = {"test": read_table(paths.TEST)}
    window = config.release.recent_window
    if window.enabled:
        recent = untrained(config).rows
        if len(recent) >= window.min_rows:
            sets["recent"] = recent
            print(f"gate: also on the recent window, {len(recent)} labelled production rows")
        else:
            print(
                f"gate: test split only: {len(recent)} labelled production rows not trained on, "
                f"fewer than release.recent_window.min_rows={window.min_rows}"
            )
    return sets


@dataclass(frozen=True)
class Candidate:
    """A registered model under evaluation: the pipeline, its input schema and its latency."""

    model: Pipeline
    schema: tuple[str, ...]
    p95_ms: float = 0.0


def load_candidates(
    config: Config,
    registry: Registry,
    challenger: Version,
    champion: Version | None,
    features: pd.DataFrame,
) -> tuple[Candidate, Candidate | None]:
    """Load both models and time one-record requests of each as it serves (its compiled model
    when registration verified one), interleaved on the same rows: the same noise for both."""
    versions = [challenger] if champion is None else [challenger, champion]
    bundles = [registered(registry, version, None) for version in versions]
    latencies = single_row_p95_ms(
        [bundle.predictor().score_records for bundle in bundles],
        request_records(features),
        config.release.latency_rows,
    )
    loaded = [
        Candidate(bundle.pipeline, input_schema(version.uri), p95)
        for version, bundle, p95 in zip(versions, bundles, latencies, strict=True)
    ]
    return loaded[0], loaded[1] if champion is not None else None


def fit_baseline(config: Config) -> Pipeline:
    """The trivial baseline (``evaluate.baseline``) fitted on the training split, as evaluate's."""
    train = read_table(paths.TRAIN)
    return baseline.fit(
        config.data.task,
        config.evaluate.baseline,
        *features_and_target(train, config),
        seed=config.seed,
    )


def assessed(
    config: Config,
    measured: Measured,
    frame: pd.DataFrame,
    candidate: Candidate,
    baseline_metrics: dict[str, float],
    *,
    intervals: bool = False,
) -> tuple[Evaluation, dict[str, fairness.AttributeFairness]]:
    """What the rules compare for one candidate: its evaluation, with the baseline's metrics on
    the same rows and its fairness (bootstrap intervals only where a person reads them)."""
    settings = config.evaluate.fairness
    groups = fairness.assess(
        config.data.task,
        measured.outcome,
        frame,
        config.data.sensitive_columns,
        min_group_rows=settings.min_group_rows,
        bootstrap_samples=settings.bootstrap_samples if intervals else 0,
        confidence=settings.confidence,
        seed=config.seed,
    )
    evaluation = replace(
        measured.evaluation(candidate.p95_ms, candidate.schema),
        baseline=baseline_metrics,
        fairness=fairness.gated(groups, config.release.fairness.disparity),
    )
    return evaluation, groups


def judge(
    config: Config,
    frame: pd.DataFrame,
    challenger: Candidate,
    champion: Candidate | None,
    dummy: Pipeline,
    *,
    intervals: bool = False,
) -> tuple[Decision, dict[str, Any]]:
    """Score both candidates and the baseline on one held-out set; apply every rule.

    ``intervals``: bootstrap the challenger's fairness figures (for the model card).
    """
    measured = measure(challenger.model, frame, config)
    base = measure(dummy, frame, config).metrics
    ours, groups = assessed(config, measured, frame, challenger, base, intervals=intervals)
    theirs, interval = None, None
    if champion is not None:
        against = measure(champion.model, frame, config)
        theirs, _ = assessed(config, against, frame, champion, base)
        if config.release.bootstrap_samples:
            interval = paired_bootstrap(
                METRICS[config.release.primary_metric],
                measured.outcome,
                against.outcome,
                samples=config.release.bootstrap_samples,
                confidence=config.release.confidence,
                seed=config.seed,
            )
    evidence = {
        "rows": len(frame),
        "challenger": finite_or_none(ours.metrics),
        "champion": finite_or_none(theirs.metrics) if theirs else None,
        "baseline": finite_or_none(base),
        "slices": finite_or_none(ours.slices),
        "fairness": fairness.report(groups),
        "champion_fairness": finite_or_none(theirs.fairness) if theirs else None,
    }
    return decide(ours, theirs, config.release, interval), evidence


def evaluate_pair(
    config: Config, registry: Registry, challenger: Version, champion: Version | None
) -> tuple[Decision, dict[str, Any]]:
    """Score both models on the same rows of every held-out set; all sets must pass."""
    sets = holdout_sets(config)
    features = sets["test"][config.data.feature_columns]
    ours, theirs = load_candidates(config, registry, challenger, champion, features)
    dummy = fit_baseline(config)
    judged = {
        name: judge(config, frame, ours, theirs, dummy, intervals=name == "test")
        for name, frame in sets.items()
    }
    decision = combine({name: pair[0] for name, pair in judged.items()})
    return decision, {name: pair[1] for name, pair in judged.items()}


def write_card(
    config: Config,
    registry: Registry,
    version: Version,
    decision: Decision | None,
    evidence: dict[str, Any],
) -> Path:
    """Render the model card to reports/ and log it next to the model in MLflow."""
    test = evidence.get("test", {})
    text = card.render(
        project=config.mlflow.experiment_name,
        description=f"Model `{registry.name}` of project {config.mlflow.experiment_name}",
        name=registry.name,
        version=version.version,
        task=config.data.task,
        target=config.data.target,
        features=config.data.feature_columns,
        metric=config.release.primary_metric,
        metrics=test.get("challenger", {}),
        baseline=test.get("baseline", {}),
        slices=test.get("slices", {}),
        fairness=test.get("fairness", {}),
        fairness_rule=config.release.fairness,
        decision=decision.as_dict() if decision else None,
        lineage={**version.tags, "run_id": version.run_id},
        aliases=list(registry.version(version.version).aliases),
        explanations=(
            read_table(paths.EXPLANATIONS_PLOT).to_dict("records")
            if paths.EXPLANATIONS_PLOT.is_file()
            else []
        ),
    )
    with atomic_path(paths.MODEL_CARD) as temporary:
        temporary.write_text(text)
    registry.client.log_text(version.run_id, text, f"model_card/version-{version.version}.md")
    return paths.MODEL_CARD


def gate(config: Config, *, hold: bool = False) -> Decision:
    """Compare challenger and champion; record the decision; promote in auto mode.

    ``hold`` never promotes, whatever the mode: a passing challenger gets ``staging`` and waits
    for `promote` (a CD pipeline with an approval step uses it).
    """
    mode = "manual" if hold else config.release.mode
    with reachable(config.mlflow):
        registry = Registry(config.mlflow)
        challenger = registry.by_alias(CHALLENGER)
        if challenger is None:
            raise ProjectError(
                f"no '{CHALLENGER}' version of {registry.name}: run `register` first."
            )
        champion = registry.by_alias(CHAMPION)
        if champion is not None and champion.version == challenger.version:
            raise ProjectError(
                f"version {challenger.version} is already the champion: nothing to gate."
            )
        decision, evidence = evaluate_pair(config, registry, challenger, champion)
        report = {
            "model": registry.name,
            "challenger": challenger.version,
            "champion": champion.version if champion else None,
            "mode": mode,
            "decided_at": now(),
            **finite_or_none(decision.as_dict()),
            "holdouts": evidence,
        }
        write_json(report, paths.GATE_DECISION)
        registry.tag(
            challenger,
            {
                "gate.passed": str(decision.passed).lower(),
                "gate.reason": decision.reason[:5000],
                "gate.champion": report["champion"] or "none",
                "gate.decided_at": report["decided_at"],
                "release.status": "passed" if decision.passed else "rejected",
            },
        )
        registry.audit(
            challenger, "gate", decision.reason, passed=decision.passed, champion=report["champion"]
        )
        if decision.passed:
            with registry.moving_aliases():
                registry.point(STAGING, challenger)
                if mode == "auto":
                    registry.promote(
                        registry.version(challenger.version), "gate passed (release mode auto)"
                    )
                else:
                    registry.tag(challenger, {"release.status": "awaiting_approval"})
        write_card(config, registry, challenger, decision, evidence)
    print(f"gate for version {challenger.version}: {decision.reason}")
    if decision.passed and mode == "manual":
        print(
            f"awaiting approval: promote with `promote --version {challenger.version} --approve "
            '--reason "..."`'
        )
    return decision
