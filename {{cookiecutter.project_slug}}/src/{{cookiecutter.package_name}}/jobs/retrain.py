"""The `retrain` job: production evidence in, a gated challenger (or a reason why not) out.

The decision is pure (`core/retraining.py`): the latest monitoring report, the registry's
dates and the count of new labels in; triggers and blocking guardrails out. When it says go,
``execute`` appends the labelled production rows to the raw data file (features from the
prediction log, labels from the feedback store, checked against the schema), tracks the new
version with ``dvc add``, runs ``dvc repro``, then registers and gates the challenger (the
release steps the CLI passes in), which promotes only when the challenger passes (auto mode)
or leaves it awaiting approval (manual mode).

All or nothing: the raw file, its ``.dvc`` file, ``dvc.lock``, the pipeline's small outputs and
the registry's aliases are saved first and put back if any step fails, and the labels are
marked as used only at the end. Every run leaves ``reports/retrain_request.json``.
"""

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.config import Config, DataConfig
from ..core.errors import DataValidationError
from ..core.gate import Decision as GateDecision
from ..core.retraining import HOUR, Decision, Evidence, decide, production_rows
from ..core.validation import check_frame
from ..io import dvc, lock, paths
from ..io.files import atomic_path, read_json, read_table, write_json, write_table
from ..io.registry import Version

REQUEST = Path("reports/retrain_request.json")
LOCK = Path("reports/retrain.lock")
DVC_LOCK = Path("dvc.lock")
SCHEMA_VERSION = 1
EXIT_REJECTED = 3  # as `gate`: the challenger was not good enough
# Register the rebuilt model and gate it: the CLI passes the release job's steps, so jobs
# stay independent of each other.
Release = Callable[[Config], tuple[Version, GateDecision]]


def monitoring_facts(report: dict[str, Any] | None) -> dict[str, Any]:
    """What `decide` needs from a monitoring report (schema version 1)."""
    if report is None:
        return {}
    drift = report.get("dataset_drift") or {}
    performance = report.get("performance") or {}
    return {
        "monitor_report": report.get("report_dir") or str(paths.MONITORING_LATEST),
        "monitor_status": report.get("status"),
        "monitored_at": report.get("created_at"),
        "dataset_drift": bool(drift.get("drifted")),
        "drifted_features": tuple(drift.get("drifted_features", ())),
        "performance_drop": performance.get("relative_drop") if performance.get("judged") else None,
    }


def new_labelled(config: Config) -> tuple[pd.DataFrame, list[tuple[str, int]]]:
    """Labelled production rows not in the training data yet, and their feedback keys."""
    from ..io.feedback_store import FeedbackStore, log_path, store_path
    from ..io.production import KEYS, served_rows, with_labels

    path = log_path(config)
    labels = FeedbackStore(store_path(path)).labels(untrained_only=True)
    if labels.empty:
        return pd.DataFrame(), []
    served = served_rows(path)
    joined = with_labels(served, labels, config.data.target)
    joined = joined[joined[config.data.target].notna()]
    keys = list(zip(*(joined[key] for key in KEYS), strict=True))
    return production_rows(joined, config.data), [(str(r), int(i)) for r, i in keys]


def registry_facts(config: Config) -> dict[str, Any]:
    """The champion's version and age, and the hours since the newest version was registered."""
    from ..io.registry import CHAMPION, Registry, reachable

    with reachable(config.mlflow):
        registry = Registry(config.mlflow)
        if not registry.exists():
            return {}
        found = registry.client.search_model_versions(f"name = '{registry.name}'")
        created = {str(v.version): int(v.creation_timestamp) / 1000 for v in found}
        champion = registry.by_alias(CHAMPION)
    now = time.time()
    facts: dict[str, Any] = {}
    if created:
        facts["hours_since_newest_version"] = (now - max(created.values())) / HOUR
    if champion is not None and champion.version in created:
        facts["champion_version"] = champion.version
        facts["champion_age_days"] = (now - created[champion.version]) / (24 * HOUR)
    return facts


def read_aliases(config: Config) -> dict[str, str]:
    from ..io.registry import Registry, reachable

    with reachable(config.mlflow):
        registry = Registry(config.mlflow)
        if not registry.exists():
            return {}
        model = registry.client.get_registered_model(registry.name)
        return {str(alias): str(version) for alias, version in model.aliases.items()}


def restore_aliases(config: Config, aliases: dict[str, str]) -> None:
    """Point every alias where it pointed before; drop the ones that did not exist."""
    from ..io.registry import Registry, reachable

    current = read_aliases(config)
    with reachable(config.mlflow):
        registry = Registry(config.mlflow)
        for alias in set(current) - set(aliases):
            registry.client.delete_registered_model_alias(registry.name, alias)
        for alias, version in aliases.items():
            if current.get(alias) != version:
                registry.client.set_registered_model_alias(registry.name, alias, version)


def append_rows(path: Path, rows: pd.DataFrame) -> int:
    """Append to the raw file atomically; a CSV keeps its bytes and gets lines at the end."""
    existing = read_table(path)
    rows = rows.reindex(columns=existing.columns)
    if path.suffix == ".csv":
        original = path.read_bytes()
        separator = b"" if not original or original.endswith(b"\n") else b"\n"
        added = rows.to_csv(index=False, header=False).encode()
        with atomic_path(path) as temporary:
            temporary.write_bytes(original + separator + added)
    else:
        write_table(pd.concat([existing, rows], ignore_index=True), path)
    return len(existing)


def saved_files(config: Config) -> list[Path]:
    """What a failed retrain puts back: data, its DVC pointer, the lock file, small outputs."""
    data = Path(config.data.path)
    return [
        data, data.with_name(data.name + ".dvc"), DVC_LOCK, paths.TRAIN_RUN,
        paths.TRAIN_METRICS, paths.METRICS, paths.SLICES, paths.VALIDATION_REPORT,
    ]  # fmt: skip


def save(files: Sequence[Path], backup: Path) -> dict[Path, Path | None]:
    saved: dict[Path, Path | None] = {}
    for index, path in enumerate(files):
        saved[path] = None
        if path.is_file():
            copy = backup / f"{index}-{path.name}"
            shutil.copy2(path, copy)
            saved[path] = copy
    return saved


def restore(saved: dict[Path, Path | None]) -> None:
    """Put every saved file back (atomically) and remove the ones that did not exist."""
    for path, copy in saved.items():
        if copy is None:
            path.unlink(missing_ok=True)
        else:
            with atomic_path(path) as temporary:
                shutil.copy2(copy, temporary)


def execute(
    config: Config, rows: pd.DataFrame, keys: list[tuple[str, int]], release: Release
) -> dict[str, Any]:
    """Add the rows as a new data version, rebuild, register, gate; undo everything on failure."""
    from ..io.feedback_store import FeedbackStore, log_path, now, store_path

    data = Path(config.data.path)
    aliases = read_aliases(config)
    with tempfile.TemporaryDirectory(prefix="retrain-backup-") as backup:
        saved = save(saved_files(config), Path(backup))
        try:
            rows_before = append_rows(data, rows)
            dvc.run("add", str(data))
            dvc.run("repro")
            version, decision = release(config)
            FeedbackStore(store_path(log_path(config))).mark_trained(keys, now())
        except BaseException:
            restore(saved)
            restore_aliases(config, aliases)
            dvc.run("checkout", "--force", "--quiet", check=False)  # outputs as dvc.lock says
            print(f"retrain failed: {data}, its .dvc file, dvc.lock and the aliases are restored")
            raise
    if not decision.passed:
        status = "rejected"
    else:
        status = "promoted" if config.release.mode == "auto" else "awaiting_approval"
    return {
        "status": status,
        "detail": decision.reason,
        "data": {"path": str(data), "rows_before": rows_before, "rows_added": len(rows)},
        "challenger": version.version,
    }


def document(
    evidence: Evidence, decision: Decision, outcome: dict[str, Any], *, started: str, dry_run: bool
) -> dict[str, Any]:
    """The retrain request: why (triggers, guardrails), on what evidence, and what happened."""
    return {
        "schema_version": SCHEMA_VERSION,
        "requested_at": started,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dry_run": dry_run,
        "decision": {
            "retrain": decision.retrain,
            "triggers": list(decision.triggers),
            "blocked_by": list(decision.blocked_by),
        },
        "evidence": asdict(evidence),
        "outcome": outcome,
    }


def gather(config: Config) -> tuple[Evidence, pd.DataFrame, list[tuple[str, int]]]:
    """Read every fact `decide` needs, and the rows a retrain would add."""
    report = read_json(paths.MONITORING_LATEST) if paths.MONITORING_LATEST.is_file() else None
    rows, keys = new_labelled(config)
    facts = {**monitoring_facts(report), **registry_facts(config), "new_labels": len(rows)}
    return Evidence(**facts), rows, keys


def check_rows(rows: pd.DataFrame, data: DataConfig) -> None:
    """New rows must pass the same schema as the raw data, before anything is changed."""
    violations = check_frame(rows, data)
    if violations:
        lines = "\n".join(f"  - {violation.describe()}" for violation in violations)
        raise DataValidationError(
            f"the labelled production rows break the schema in conf/data; nothing changed:\n{lines}"
        )


def report_outcome(request: dict[str, Any], *, write: bool) -> None:
    outcome = request["outcome"]
    detail = f" ({outcome['detail']})" if outcome["detail"] else ""
    print(f"retrain: {outcome['status']}{detail}")
    for reason in request["decision"]["triggers"]:
        print(f"  trigger: {reason}")
    for reason in request["decision"]["blocked_by"]:
        print(f"  blocked: {reason}")
    if write:
        write_json(request, REQUEST)
        print(f"request: {REQUEST}")
    else:
        print(json.dumps(request, indent=2))


def run(config: Config, release: Release, *, dry_run: bool = False) -> str:
    """Decide and, unless ``dry_run`` or blocked, retrain; return the outcome's status."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    stale_after = timedelta(hours=config.retrain.stale_lock_hours)
    if dry_run:
        evidence, _, _ = gather(config)
        decision = decide(evidence, config.retrain)
        holder = lock.active_holder(LOCK, stale_after=stale_after)
        if holder is not None and decision.triggers:
            blocked = (*decision.blocked_by, f"lock: a retrain is running ({holder.describe()})")
            decision = Decision(decision.triggers, blocked)
        detail = "would retrain" if decision.retrain else "would not retrain"
        outcome = {"status": "dry_run", "detail": f"{detail}; nothing was changed"}
        report_outcome(document(evidence, decision, outcome, started=started, dry_run=True),
                       write=False)  # fmt: skip
        return "dry_run"
    try:
        with lock.exclusive(LOCK, stale_after=stale_after):
            return _run_locked(config, release, started)
    except lock.LockHeldError as held:
        print(f"retrain: blocked (lock: another retrain is running, {held.holder.describe()})")
        return "blocked"


def _run_locked(config: Config, release: Release, started: str) -> str:
    evidence, rows, keys = gather(config)
    decision = decide(evidence, config.retrain)
    if not decision.retrain:
        status = "blocked" if decision.blocked_by else "not_needed"
        detail = "" if decision.triggers else "no drift, no performance drop, champion young"
        if not decision.triggers and evidence.report_predates_newest_version:
            detail = "the latest monitoring report predates the newest model: run `monitor` again"
        request = document(evidence, decision, {"status": status, "detail": detail},
                           started=started, dry_run=False)  # fmt: skip
        report_outcome(request, write=True)
        return status
    try:
        check_rows(rows, config.data)
        outcome = execute(config, rows, keys, release)
    except Exception as error:
        failed = {"status": "failed", "detail": str(error).splitlines()[0][:500]}
        report_outcome(document(evidence, decision, failed, started=started, dry_run=False),
                       write=True)  # fmt: skip
        raise
    report_outcome(document(evidence, decision, outcome, started=started, dry_run=False),
                   write=True)  # fmt: skip
    return str(outcome["status"])
