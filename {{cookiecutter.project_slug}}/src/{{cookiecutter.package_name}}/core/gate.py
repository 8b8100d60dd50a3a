"""The release gate's decision: pure functions of two evaluations and the rules in conf/release.

Nothing here loads models or talks to MLflow, so every rule and edge case (ties, NaN metrics,
missing slices, no champion) is unit-tested directly. `jobs/gate.py` measures the
models (`core/measure.py`), the trivial baseline (`core/baseline.py`) and fairness
(`core/fairness.py`), and acts on the decision. Metric directions come from the registry.
"""

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .config import ReleaseConfig
from .disparities import DISPARITIES
from .metrics import METRICS, Metric, Outcome


@dataclass(frozen=True)
class Evaluation:
    """One model measured on one held-out set: its metrics, the trivial baseline's metrics on
    the same rows, and ``release.fairness.disparity`` per sensitive attribute (NaN where it
    cannot be measured)."""

    metrics: dict[str, float]
    slices: dict[str, dict[str, float | None]] = field(default_factory=dict)
    p95_latency_ms: float = math.nan
    input_schema: tuple[str, ...] = ()
    baseline: dict[str, float] = field(default_factory=dict)
    fairness: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleResult:
    """One rule: its name, whether it passed, the values it compared and why, in words."""

    rule: str
    passed: bool
    reason: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    passed: bool
    reason: str
    rules: list[RuleResult]

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "reason": self.reason,
            "rules": [asdict(r) for r in self.rules],
        }


def improvement(metric: str, challenger: float, champion: float) -> float:
    """How much better the challenger is, positive when better, whatever the metric's direction."""
    return METRICS[metric].improvement(challenger, champion)


def _is_number(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def floor_rule(metric: str, challenger: Evaluation, rules: ReleaseConfig) -> RuleResult:
    """With no champion, the first model must clear an absolute floor."""
    value = challenger.metrics.get(metric, math.nan)
    values = {"challenger": value, "floor": rules.floor}
    if not _is_number(value):
        return RuleResult("floor", False, f"challenger {metric} is undefined (NaN)", values)
    passed = improvement(metric, value, rules.floor) >= 0
    relation = "meets" if passed else "misses"
    return RuleResult(
        "floor", passed, f"{metric} {value:.4g} {relation} the floor {rules.floor:.4g}", values
    )


def _margin_rule(
    rule: str, metric: str, new: float, old: float, *, other: str, margin: float, kind: str
) -> RuleResult:
    """Better than ``other``'s ``old`` by more than 0 and at least ``margin`` (``absolute`` or
    ``relative`` to ``old``); a tie is not an improvement, NaN fails naming who."""
    values: dict[str, Any] = {"challenger": new, other: old, "margin": margin}
    if not (_is_number(new) and _is_number(old)):
        who = "challenger" if not _is_number(new) else other
        return RuleResult(rule, False, f"{who} {metric} is undefined (NaN)", values)
    gain = improvement(metric, new, old)
    needed = margin * abs(old) if kind == "relative" else margin
    values.update(improvement=gain, needed=needed)
    passed = gain > 0 and gain >= needed
    verdict = "better" if passed else "not better"
    return RuleResult(
        rule,
        passed,
        f"{metric} {new:.4g} vs {other} {old:.4g}: {verdict} (improvement {gain:+.4g}, "
        f"needed > 0 and >= {needed:.4g})",
        values,
    )


def primary_rule(
    metric: str, challenger: Evaluation, champion: Evaluation, rules: ReleaseConfig
) -> RuleResult:
    """Better than the champion by at least ``min_delta``; a tie is not an improvement."""
    new, old = challenger.metrics.get(metric, math.nan), champion.metrics.get(metric, math.nan)
    return _margin_rule(
        "primary_metric",
        metric,
        new,
        old,
        other="champion",
        margin=rules.min_delta,
        kind=rules.min_delta_kind,
    )


def baseline_rule(metric: str, challenger: Evaluation, rules: ReleaseConfig) -> RuleResult:
    """Better than the trivial baseline on the same rows by at least ``baseline_margin``."""
    new, old = challenger.metrics.get(metric, math.nan), challenger.baseline.get(metric, math.nan)
    return _margin_rule(
        "baseline",
        metric,
        new,
        old,
        other="baseline",
        margin=rules.baseline_margin,
        kind=rules.baseline_margin_kind,
    )


def fairness_rule(challenger: Evaluation, rules: ReleaseConfig) -> RuleResult:
    """Every sensitive attribute's disparity within ``release.fairness.bound``.

    An attribute with fewer than two groups large enough on these rows cannot be measured: it
    is named in the reason, not failed (a small recent window must not block a release).
    """
    name, bound = rules.fairness.disparity, rules.fairness.bound
    disparity = DISPARITIES[name]
    values: dict[str, Any] = {"disparity": name, "bound": bound, "challenger": challenger.fairness}
    if not challenger.fairness:
        return RuleResult("fairness", True, "no sensitive attribute (data.sensitive_columns)")
    measured = {k: v for k, v in sorted(challenger.fairness.items()) if math.isfinite(v)}
    unmeasured = sorted(set(challenger.fairness) - set(measured))
    note = ""
    if unmeasured:
        note = f"; not measurable (too few rows per group): {', '.join(unmeasured)}"
    beyond = [f"{k} {v:.4g}" for k, v in measured.items() if disparity.beyond(v, bound)]
    limit = f"the floor {bound:.4g}" if disparity.greater_is_better else f"the bound {bound:.4g}"
    if beyond:
        return RuleResult(
            "fairness", False, f"{name} beyond {limit}: {', '.join(beyond)}{note}", values
        )
    within = ", ".join(f"{k} {v:.4g}" for k, v in measured.items()) or "no attribute"
    return RuleResult("fairness", True, f"{name} within {limit}: {within}{note}", values)


def fairness_champion_rule(
    challenger: Evaluation, champion: Evaluation, rules: ReleaseConfig
) -> RuleResult:
    """No attribute further from parity than the champion by more than ``fairness.tolerance``."""
    name, tolerance = rules.fairness.disparity, rules.fairness.tolerance
    disparity = DISPARITIES[name]
    worse, skipped = [], []
    for attribute in sorted(set(challenger.fairness) | set(champion.fairness)):
        new = challenger.fairness.get(attribute, math.nan)
        old = champion.fairness.get(attribute, math.nan)
        if not (math.isfinite(new) and math.isfinite(old)):
            skipped.append(attribute)
        elif disparity.worse_by(new, old) > tolerance:
            worse.append(f"{attribute} ({new:.4g} vs {old:.4g})")
    values = {"disparity": name, "tolerance": tolerance, "worse": worse, "skipped": skipped}
    if worse:
        return RuleResult(
            "fairness_vs_champion",
            False,
            f"{name} worse than the champion's by more than {tolerance:.4g} on {', '.join(worse)}",
            values,
        )
    note = f"; not comparable: {', '.join(skipped)}" if skipped else ""
    reason = f"{name} within {tolerance:.4g} of the champion's{note}"
    return RuleResult("fairness_vs_champion", True, reason, values)


def slice_rule(
    metric: str, challenger: Evaluation, champion: Evaluation, rules: ReleaseConfig
) -> RuleResult:
    """No slice may be worse than the champion's by more than ``slice_tolerance`` (relative)."""
    compared, worse, skipped = 0, [], []
    for name in sorted(set(challenger.slices) | set(champion.slices)):
        new = challenger.slices.get(name, {}).get(metric)
        old = champion.slices.get(name, {}).get(metric)
        if new is None or old is None or not (math.isfinite(new) and math.isfinite(old)):
            skipped.append(name)
            continue
        compared += 1
        allowed = rules.slice_tolerance * max(abs(old), 1e-12)
        if improvement(metric, new, old) < -allowed:
            worse.append(f"{name} ({metric} {new:.4g} vs {old:.4g})")
    values = {"compared": compared, "worse": worse, "skipped": skipped}
    if worse:
        return RuleResult("slices", False, f"worse than the champion on {', '.join(worse)}", values)
    note = f"; not comparable: {', '.join(skipped)}" if skipped else ""
    return RuleResult("slices", True, f"{compared} slices within tolerance{note}", values)


def bootstrap_rule(metric: str, interval: tuple[float, float] | None) -> RuleResult:
    """The paired bootstrap interval of the improvement must lie above zero."""
    if interval is None:
        return RuleResult("bootstrap", True, "paired bootstrap disabled (bootstrap_samples: 0)")
    low, high = interval
    values = {"low": low, "high": high}
    if not (math.isfinite(low) and math.isfinite(high)):
        return RuleResult(
            "bootstrap", False, f"bootstrap interval of {metric} is undefined", values
        )
    passed = low > 0
    where = "above 0" if passed else ("includes 0" if high >= 0 else "below 0")
    return RuleResult(
        "bootstrap",
        passed,
        f"{metric} improvement interval [{low:.4g}, {high:.4g}] {where}",
        values,
    )


def latency_rule(challenger: Evaluation, champion: Evaluation, rules: ReleaseConfig) -> RuleResult:
    """The challenger's p95 within ``latency_factor`` x the champion's, or within the absolute
    ``latency_allowance_ms``: at a fraction of a millisecond (a compiled model), a factor
    measures scheduler noise, not a regression anyone waits for."""
    new, old = challenger.p95_latency_ms, champion.p95_latency_ms
    limit = max(old * rules.latency_factor, rules.latency_allowance_ms)
    values = {"challenger_p95_ms": new, "champion_p95_ms": old, "limit_ms": limit}
    if not (math.isfinite(new) and math.isfinite(old)):
        return RuleResult("latency", False, "p95 latency was not measured", values)
    passed = new <= limit
    verdict = "within" if passed else "over"
    bound = (
        f"{rules.latency_factor}x champion ({limit:.2f} ms)"
        if limit > rules.latency_allowance_ms
        else f"the allowance of {limit:.2f} ms (champion {old:.2f} ms)"
    )
    return RuleResult("latency", passed, f"p95 {new:.2f} ms {verdict} {bound}", values)


def schema_rule(challenger: Evaluation, champion: Evaluation, rules: ReleaseConfig) -> RuleResult:
    added = sorted(set(challenger.input_schema) - set(champion.input_schema))
    removed = sorted(set(champion.input_schema) - set(challenger.input_schema))
    values = {"added": added, "removed": removed}
    if not (added or removed):
        return RuleResult("schema", True, "same input schema", values)
    change = f"input schema changed (added {added}, removed {removed})"
    if rules.allow_schema_change:
        return RuleResult("schema", True, f"{change}: allowed by allow_schema_change", values)
    return RuleResult("schema", False, f"{change}: set allow_schema_change to release it", values)


def decide(
    challenger: Evaluation,
    champion: Evaluation | None,
    rules: ReleaseConfig,
    bootstrap_interval: tuple[float, float] | None = None,
) -> Decision:
    """Apply every rule; the challenger passes only if all do. The reason names the failures."""
    metric = rules.primary_metric
    if champion is None:
        results = [
            floor_rule(metric, challenger, rules),
            baseline_rule(metric, challenger, rules),
            fairness_rule(challenger, rules),
        ]
    else:
        results = [
            primary_rule(metric, challenger, champion, rules),
            baseline_rule(metric, challenger, rules),
            slice_rule(metric, challenger, champion, rules),
            bootstrap_rule(metric, bootstrap_interval),
            fairness_rule(challenger, rules),
            fairness_champion_rule(challenger, champion, rules),
            latency_rule(challenger, champion, rules),
            schema_rule(challenger, champion, rules),
        ]
    failed = [result for result in results if not result.passed]
    if failed:
        reason = "rejected: " + "; ".join(f"{r.rule}: {r.reason}" for r in failed)
    elif champion is None:
        reason = f"passed: no champion yet and {results[0].reason}"
    else:
        reason = f"passed: {results[0].reason}"
    return Decision(not failed, reason, results)


def paired_bootstrap(
    metric: Metric,
    challenger: Outcome,
    champion: Outcome,
    *,
    samples: int,
    confidence: float,
    seed: int,
) -> tuple[float, float]:
    """Percentile interval of the challenger's improvement in ``metric`` over the champion.

    Both models are scored on the same resampled rows each time (paired), which is what makes
    the interval narrow enough to be useful on a small test set. Both outcomes hold the same
    rows, in the same order.
    """
    if len(challenger.y_true) != len(champion.y_true):
        raise ValueError("paired bootstrap: the two outcomes must hold the same rows")
    rng = np.random.default_rng(seed)
    gains = np.empty(samples)
    rows_count = len(challenger.y_true)
    for index in range(samples):
        rows = rng.integers(0, rows_count, rows_count)
        gains[index] = metric.improvement(
            metric.function(challenger.take(rows)), metric.function(champion.take(rows))
        )
    defined = gains[np.isfinite(gains)]
    if not defined.size:  # undefined on every resample: the bootstrap rule rejects it
        return math.nan, math.nan
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(defined, [tail, 100.0 - tail])
    return float(low), float(high)


def combine(decisions: dict[str, Decision]) -> Decision:
    """One decision over every held-out set: all must pass; rules are named by set."""
    if len(decisions) == 1:
        return next(iter(decisions.values()))
    rules = [
        RuleResult(f"{name}:{rule.rule}", rule.passed, rule.reason, rule.values)
        for name, decision in decisions.items()
        for rule in decision.rules
    ]
    failed = [f"{name}: {d.reason}" for name, d in decisions.items() if not d.passed]
    passed = not failed
    reason = "passed on " + ", ".join(decisions) if passed else "; ".join(failed)
    return Decision(passed, reason, rules)
