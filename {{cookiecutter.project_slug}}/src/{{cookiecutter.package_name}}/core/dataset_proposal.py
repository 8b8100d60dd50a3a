"""What `data init` proposes for review: the inferred schema with the findings of the data
checks and of personal-data detection, as commented YAML a user reviews in git.

Pure: a frame and its inferred document in, a `Proposal` out. An identifier-like, constant or
personal column is proposed as ``feature: false`` with a comment naming the figure. A leaking
column is only commented: whether it is known at prediction time is the user's call, so it
stays a feature and `validate` stops on it until they decide. Sensitive attributes are listed
in a comment, never filled in.
"""

import textwrap
from dataclasses import dataclass
from typing import Any

import pandas as pd
import yaml

from .config import DataChecksConfig, DataConfig
from .data_checks import Finding, column_findings, duplicate_share
from .pii_detection import Detection, detect_personal_data, propose_sensitive
from .validation import clean_frame

WIDTH = 99
DECIDE = (
    "`validate` stops on it until you decide: set feature: false if it is not known when "
    "predicting (or is derived from the target), else list it in checks.leakage.accept"
)
# How to keep a column that a column check proposes to leave out.
KEEP = {
    "identifier": "list it in checks.identifier.accept",
    "constant": "list it in checks.constant.accept",
}
CHECKS_NOTE = (
    "Data checks (docs/your-data.md): `validate` and `split` stop on a finding whose action is "
    "fail, print it on warn and skip the check on off; `accept` lists columns reviewed and kept."
)
SENSITIVE_NOTE = (
    "Sensitive attributes: fairness is measured and gated across the groups of the columns "
    "listed here (they need not be features)."
)


@dataclass(frozen=True)
class Proposal:
    """The dataset document to write, comments keyed by ``columns.<name>`` or a top-level key,
    and one line per proposal to tell the user."""

    document: dict[str, Any]
    comments: dict[str, list[str]]
    summary: list[str]


def _without_feature(spec: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """``spec`` with ``feature: false`` (and ``changes``) right after its type, for reading."""
    rest = {key: value for key, value in spec.items() if key not in {"type", "feature", *changes}}
    return {"type": spec["type"], "feature": False, **changes, **rest}


def _finding_note(finding: Finding, columns: dict[str, Any]) -> tuple[str, str]:
    """The comment and summary line of a column finding, proposing feature: false but for
    leakage; ``columns`` is updated in place."""
    if finding.check == "leakage":
        return f"data init, leakage: {finding.detail}. {DECIDE}", f"leakage: {finding.detail}"
    columns[finding.column] = _without_feature(columns[finding.column])
    comment = (
        f"data init, {finding.check}: {finding.detail}. Proposed feature: false; "
        f"to keep it, {KEEP[finding.check]}"
    )
    return comment, f"{finding.check}: {finding.detail} -> feature: false"


def _personal_note(detection: Detection, columns: dict[str, Any]) -> tuple[str, str]:
    columns[detection.column] = _without_feature(columns[detection.column], pii=True)
    comment = (
        f"data init, personal data: {detection.describe()}. Proposed pii: true, feature: false; "
        "a model input only with allow_pii_feature: true, once its use is reviewed"
    )
    return comment, f"personal data: {detection.describe()} -> pii: true, feature: false"


def _sensitive_notes(sensitive: list[Detection]) -> tuple[list[str], list[str]]:
    if not sensitive:
        return [SENSITIVE_NOTE], []
    proposed = ", ".join(detection.column for detection in sensitive)
    listed = ", ".join(f"{item.column} ({item.kind}, {item.evidence})" for item in sensitive)
    comment = (
        f"data init proposes: {listed}. Confirm by listing them, e.g. "
        f"sensitive_columns: [{proposed}]"
    )
    summary = f"sensitive attributes proposed, not applied: {proposed}; confirm them in the config"
    return [SENSITIVE_NOTE, comment], [summary]


def _checks() -> dict[str, dict[str, Any]]:
    """The default checks, each as action, threshold, then the columns it accepts."""
    return {
        name: {key: value for key, value in check.items() if key != "accept"}
        | ({"accept": check["accept"]} if "accept" in check else {})
        for name, check in DataChecksConfig().model_dump().items()
    }


def propose(frame: pd.DataFrame, document: dict[str, Any]) -> Proposal:
    """Apply the column checks, personal-data detection and sensitive-attribute proposals to
    the inferred ``document`` (a `conf/data` document with its ``task``) of ``frame``."""
    data = DataConfig.model_validate(document)
    candidates = [name for name in data.columns if name != data.target]
    columns = dict(document["columns"])
    comments: dict[str, list[str]] = {}
    summary: list[str] = []
    notes = [
        *(
            (finding.column, *_finding_note(finding, columns))
            for finding in column_findings(clean_frame(frame, data), data, candidates)
        ),
        *(
            (detection.column, *_personal_note(detection, columns))
            for detection in detect_personal_data(frame, skip=(data.target,))
        ),
    ]
    for column, comment, line in notes:
        comments.setdefault(f"columns.{column}", []).append(comment)
        summary.append(line)
    comments["sensitive_columns"], sensitive_summary = _sensitive_notes(
        propose_sensitive(frame, skip=(data.target,))
    )
    summary.extend(sensitive_summary)
    comments["checks"] = [CHECKS_NOTE]
    duplicated = duplicate_share(frame)
    if duplicated:
        note = (
            f"{duplicated:.1%} of rows repeat an earlier row exactly: a random split puts copies "
            "in train and test (checks.duplicates)"
        )
        comments["checks"].append(f"data init: {note}")
        summary.append(f"duplicates: {note}")
    ordered: dict[str, Any] = {}
    for key, value in document.items():
        if key == "columns":
            ordered["sensitive_columns"] = document.get("sensitive_columns", [])
            ordered["checks"] = _checks()
        ordered[key] = columns if key == "columns" else value
    DataConfig.model_validate(ordered)
    return Proposal(ordered, comments, summary)


def _comment(lines: list[str], indent: int) -> list[str]:
    prefix = " " * indent + "# "
    return [
        wrapped
        for line in lines
        for wrapped in textwrap.wrap(line, WIDTH, initial_indent=prefix, subsequent_indent=prefix)
    ]


def _dump(value: dict[str, Any], indent: int) -> list[str]:
    text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=WIDTH - indent)
    return [" " * indent + line for line in text.splitlines()]


def _dump_rows(key: str, value: dict[str, Any]) -> list[str]:
    """``key:`` then one line per entry of ``value``: ``  leakage: {action: fail, ...}``."""
    rows = [
        f"  {name}: " + yaml.safe_dump(entry, sort_keys=False, default_flow_style=True).strip()
        for name, entry in value.items()
    ]
    return [f"{key}:", *rows]


def render(document: dict[str, Any], comments: dict[str, list[str]], header: list[str]) -> str:
    """``document`` as YAML with each comment above its key (``columns.<name>`` or top-level)."""
    lines = _comment(header, 0)
    for key, value in document.items():
        lines.extend(_comment(comments.get(key, []), 0))
        if key != "columns":
            lines.extend(_dump_rows(key, value) if key == "checks" else _dump({key: value}, 0))
            continue
        lines.append("columns:")
        for name, spec in value.items():
            lines.extend(_comment(comments.get(f"columns.{name}", []), 2))
            lines.extend(_dump({name: spec}, 2))
    return "\n".join(lines) + "\n"
