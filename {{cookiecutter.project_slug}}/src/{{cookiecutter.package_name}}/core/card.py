"""The model card: what a registered version is for, how good it is and where it came from.

Pure: facts in, Markdown out. The gate writes it to `reports/` and logs it with the run.
Metric directions come from the registry (`core/metrics.py`), disparity directions from
`core/fairness.py`.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from .config import FairnessRuleConfig
from .disparities import DISPARITIES
from .explanations import described
from .metrics import METRICS


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else "n/a"


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else _number(value)


def _table(rows: Sequence[Mapping[str, Any]], columns: list[str]) -> str:
    """A Markdown table; text cells as they are, numbers to 4 significant digits."""
    if not rows:
        return "_none_\n"
    head = "| " + " | ".join(columns) + " |\n| " + " | ".join("---" for _ in columns) + " |\n"
    body = "".join("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |\n" for row in rows)
    return head + body


def _span(figure: Mapping[str, Any]) -> str:
    """A figure with its bootstrap interval, when it has one: ``0.12 [0.05, 0.2]``."""
    value, low, high = figure.get("value"), figure.get("low"), figure.get("high")
    if low is None or high is None:
        return _number(value)
    return f"{_number(value)} [{_number(low)}, {_number(high)}]"


def _attribute_section(name: str, found: Mapping[str, Any], rule: FairnessRuleConfig) -> str:
    """One sensitive attribute: its groups, disparities (the gated one marked) and group table."""
    included = [g for g in found["groups"] if g["included"]]
    left_out = [g for g in found["groups"] if not g["included"]]
    groups = ", ".join(f"`{g['group']}` ({g['rows']} rows)" for g in included) or "none"
    lines = [f"### `{name}`", f"Groups compared: {groups}."]
    if left_out:
        small = ", ".join(f"`{g['group']}` ({g['rows']} rows)" for g in left_out)
        lines.append(f"Left out, too few rows to compare: {small}.")
    if found.get("note"):
        lines.append(f"Not measured: {found['note']}.")
    worst = found.get("worst_class", {})
    disparities = [
        {
            "disparity": f"**{key}** (gated)" if key == rule.disparity else key,
            "value": value,
            "worst class": worst.get(key, "") if worst else "",
        }
        for key, value in found.get("disparities", {}).items()
    ]
    columns = ["disparity", "value", "worst class"] if worst else ["disparity", "value"]
    names = [g["group"] for g in included]
    metric_rows = [
        {
            "metric": row["metric"] + (f" `{row['class']}`" if row.get("class") else ""),
            **{group: _span(row["groups"][group]) for group in names},
            "difference": _span(row["difference"]),
        }
        for row in found.get("metrics", [])
    ]
    lines += ["", _table(disparities, columns)]
    lines.append(_table(metric_rows, ["metric", *names, "difference"]))
    return "\n".join(lines)


def fairness_section(
    fairness: Mapping[str, Mapping[str, Any]], rule: FairnessRuleConfig | None
) -> str:
    """Per sensitive attribute, the test split's group metrics and disparities, and the bound."""
    if not fairness or rule is None:
        return (
            "## Fairness\nNo sensitive attribute is declared (`data.sensitive_columns`): "
            "fairness was not measured.\n"
        )
    kind = "floor" if DISPARITIES[rule.disparity].greater_is_better else "ceiling"
    attributes = "\n".join(
        _attribute_section(name, found, rule) for name, found in sorted(fairness.items())
    )
    return f"""## Fairness
Measured on the test split, per sensitive attribute, with fairlearn. The gate bounds
`{rule.disparity}` ({kind} {rule.bound:g}), and no more than {rule.tolerance:g} worse than the
champion's. Intervals are bootstrap percentiles; a missing value is a group of its own.

{attributes}"""


def limitations(
    slices: Mapping[str, Mapping[str, float | None]], metric: str, overall: float | None
) -> list[str]:
    """Slices noticeably worse than the model overall (10% relative): say so, by name."""
    notes = []
    if overall is None:
        return ["The primary metric is undefined on the test set."]
    for name, values in sorted(slices.items()):
        value = values.get(metric)
        tolerance = 0.1 * max(abs(overall), 1e-12)
        if value is not None and METRICS[metric].improvement(value, overall) < -tolerance:
            notes.append(f"`{name}`: {metric} {value:.4g} against {overall:.4g} overall.")
    return notes


def explanation_section(summary: Sequence[Mapping[Any, Any]], task: str, target: str) -> str:
    """What moves the predictions: mean |contribution| per input column on the test split."""
    if not summary:
        return "## Explanations\nNot computed for this version (`evaluate` writes them).\n"
    rows = "".join(
        f"| `{row['column']}` | {_number(row['mean_abs_contribution'])} |\n" for row in summary
    )
    return f"""## Explanations
Mean absolute contribution of each input column to {described(task, target)}, on the test
split (`reports/plots/explanations.png`). Each prediction is explained on request: `explain`
in `POST /predict`, `predict --explain` in batch.

| column | mean absolute contribution |
| --- | --- |
{rows}"""


def render(
    *,
    project: str,
    description: str,
    name: str,
    version: str,
    task: str,
    target: str,
    features: list[str],
    metric: str,
    metrics: Mapping[str, float | None],
    slices: Mapping[str, Mapping[str, float | None]],
    decision: Mapping[str, Any] | None,
    lineage: Mapping[str, str],
    aliases: list[str],
    explanations: Sequence[Mapping[Any, Any]] = (),
    baseline: Mapping[str, float | None] | None = None,
    fairness: Mapping[str, Mapping[str, Any]] | None = None,
    fairness_rule: FairnessRuleConfig | None = None,
) -> str:
    """The card as Markdown; every section is filled from recorded facts, nothing is invented."""
    slice_rows = [{"slice": key, **values} for key, values in sorted(slices.items())]
    measured = [{"model": f"version {version}", **metrics}]
    if baseline:
        measured.append({"model": "trivial baseline", **baseline})
    baseline_note = (
        " The trivial baseline (the majority class, or the training mean: `evaluate.baseline`)"
        " says what the figures are worth: the gate wants it beaten by `baseline_margin`."
        if baseline
        else ""
    )
    metric_names = [name for name in METRICS if name in metrics]
    direction = "higher" if METRICS[metric].greater_is_better else "lower"
    gate = "not run yet"
    if decision is not None:
        gate = f"**{'passed' if decision.get('passed') else 'rejected'}**: {decision.get('reason')}"
    notes = limitations(slices, metric, metrics.get(metric)) or [
        "No slice stands out on the test set."
    ]
    data_lines = [
        f"- `{key}`: {value}" for key, value in sorted(lineage.items()) if key.startswith("data.")
    ]
    code_lines = [
        f"- `{key}`: {value}"
        for key, value in sorted(lineage.items())
        if key.startswith(("git.", "config."))
    ]
    return f"""# Model card: {name} version {version}

## Intended use
{description} ({project}). The model is a {task} model predicting `{target}` from:
{", ".join(f"`{feature}`" for feature in features)}.
It is meant for data like its training data (see *Data*); check the monitoring report before
trusting it on anything else.

## Metrics (test split)
{_table(measured, ["model", *metric_names])}
Primary metric: `{metric}` ({direction} is better).{baseline_note}

## Metrics per slice
{_table(slice_rows, ["slice", *metric_names])}
## Release gate
{gate}

Aliases: {", ".join(aliases) or "none"}.

{fairness_section(fairness or {}, fairness_rule)}
{explanation_section(explanations, task, target)}
## Limitations
{chr(10).join(f"- {note}" for note in notes)}
- Trained on a fixed snapshot; performance on drifted data is not known until it is monitored.

## Data
{chr(10).join(data_lines) or "- not recorded"}

## Lineage
{chr(10).join(code_lines) or "- not recorded"}
- run: `{lineage.get("run_id", "n/a")}`
"""
