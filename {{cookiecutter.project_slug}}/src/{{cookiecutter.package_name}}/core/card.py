"""The model card: what a registered version is for, how good it is and where it came from.

Pure: facts in, Markdown out. The gate writes it to `reports/` and logs it with the run.
Metric directions come from the registry (`core/metrics.py`).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from .metrics import METRICS


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else "n/a"


def _table(rows: Sequence[Mapping[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "_none_\n"
    head = "| " + " | ".join(columns) + " |\n| " + " | ".join("---" for _ in columns) + " |\n"
    body = "".join(
        "| "
        + " | ".join(
            _number(row.get(c)) if c not in ("slice",) else str(row.get(c)) for c in columns
        )
        + " |\n"
        for row in rows
    )
    return head + body


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
) -> str:
    """The card as Markdown; every section is filled from recorded facts, nothing is invented."""
    slice_rows = [{"slice": key, **values} for key, values in sorted(slices.items())]
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
{_table([metrics], metric_names)}
Primary metric: `{metric}` ({direction} is better).

## Metrics per slice
{_table(slice_rows, ["slice", *metric_names])}
## Release gate
{gate}

Aliases: {", ".join(aliases) or "none"}.

## Limitations
{chr(10).join(f"- {note}" for note in notes)}
- Trained on a fixed snapshot; performance on drifted data is not known until it is monitored.

## Data
{chr(10).join(data_lines) or "- not recorded"}

## Lineage
{chr(10).join(code_lines) or "- not recorded"}
- run: `{lineage.get("run_id", "n/a")}`
"""
