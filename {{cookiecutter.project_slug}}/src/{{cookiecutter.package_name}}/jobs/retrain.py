"""The `retrain` job: production evidence in, a gated challenger (or a reason why not) out.

The decision is pure (`core/retraining.py`): the latest monitoring report, the registry's
dates and the count of new labels in; triggers and blocking guardrails out. When it says go,
``execute`` writes the labelled production rows (features from the prediction log, labels
from the feedback store, checked against the schema) as a new batch file in the dataset's
production folder (``data/production/<dataset>/``), tracks the folder's new version with
``dvc add`` (the raw data is never touched: `validate` reads both), runs ``dvc repro``, marks
the labels as trained, then registers and gates the challenger (the release steps the CLI
passes in), which promotes only when the challenger passes (auto mode) or leaves it awaiting
approval (manual mode). The labels are marked before the gate, so its recent window never
judges the challenger on rows it learned from.

All or nothing: the production folder's ``.dvc`` file, ``dvc.lock``, the pipeline's small
outputs, the registry's aliases and the labels' marks are saved first and put back if any step
fails, and the new batch file is removed. Every run leaves ``reports/retrain_request.json``.
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
from ..core.retraining import HOUR, Decision, Evidence, decide
from ..core.timestamps import now
from ..core.validation import check_frame
from ..io import dvc, lock, paths
from ..io.feedback_store import FeedbackStore, log_path, store_path
from ..io.files import atomic_path, read_json, write_json, write_table
from ..io.labelled import Labelled, untrained
from ..io.registry import CHAMPION, Registry, Version, reachable

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
        "monitored_version": (report.get("model") or {}).get("version"),
        "dataset_drift": bool(drift.get("drifted")),
        "drifted_features": tuple(drift.get("drifted_features", ())),
        "performance_drop": performance.get("relative_drop") if performance.get("judged") else None,
    }


def registry_facts(config: Config) -> dict[str, Any]:
    """The champion's version and age, and the hours since the newest version was registered."""
    with reachable(config.mlflow):
        versions = Registry(config.mlflow).versions()
    if not versions:
        return {}
    current = time.time()
    facts: dict[str, Any] = {
        "hours_since_newest_version": (current - max(v.created for v in versions)) / HOUR
    }
    champion = next((v for v in versions if CHAMPION in v.aliases), None)
    if champion is not None:
        facts["champion_version"] = champion.version
        facts["champion_age_days"] = (current - champion.created) / (24 * HOUR)
    return facts


def read_aliases(config: Config) -> dict[str, str]:
    with reachable(config.mlflow):
        return Registry(config.mlflow).aliases()


def restore_aliases(config: Config, aliases: dict[str, str]) -> None:
    with reachable(config.mlflow):
        Registry(config.mlflow).restore(aliases)


def batch_path(data: DataConfig, started: datetime) -> Path:
    """The new production batch: one Parquet file per retrain, named by when it started."""
    return paths.production_dir(data.name) / f"{started:%Y%m%dT%H%M%SZ}.parquet"


def saved_files(batch: Path) -> list[Path]:
    """What a failed retrain puts back: the production data's DVC files, the lock file and
    the pipeline's small outputs; the new batch file did not exist, so it is removed."""
    folder = batch.parent
    return [
        batch,
        dvc.pointer(folder),
        folder.parent / ".gitignore",  # `dvc add` lists the folder there
        DVC_LOCK,
        paths.TRAIN_RUN,
        paths.TRAIN_METRICS,
        paths.METRICS,
        paths.SLICES,
        paths.VALIDATION_REPORT,
    ]


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
    config: Config, labelled: Labelled, release: Release, *, started: datetime
) -> dict[str, Any]:
    """Add the rows as a new data version, rebuild, register, gate; undo everything on failure."""
    batch = batch_path(config.data, started)
    folder = batch.parent
    new_folder = not folder.exists()
    store = FeedbackStore(store_path(log_path(config)))
    aliases = read_aliases(config)
    with tempfile.TemporaryDirectory(prefix="retrain-backup-") as backup:
        saved = save(saved_files(batch), Path(backup))
        try:
            write_table(labelled.rows, batch)
            dvc.run("add", str(folder))
            dvc.run("repro")
            store.mark_trained(labelled.keys, now())  # training data now: not for the gate
            version, decision = release(config)
        except BaseException:
            restore(saved)
            if new_folder:
                shutil.rmtree(folder, ignore_errors=True)
            store.mark_trained(labelled.keys, None)
            restore_aliases(config, aliases)
            dvc.run("checkout", "--force", "--quiet", check=False)  # outputs as dvc.lock says
            print(
                f"retrain failed: {folder} and its .dvc file, dvc.lock, the labels and the "
                "aliases are as they were"
            )
            raise
    if not decision.passed:
        status = "rejected"
    else:
        status = "promoted" if config.release.mode == "auto" else "awaiting_approval"
    return {
        "status": status,
        "detail": decision.reason,
        "data": {"raw": config.data.path, "batch": str(batch), "rows_added": len(labelled.rows)},
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


def gather(config: Config) -> tuple[Evidence, Labelled]:
    """Read every fact `decide` needs, and the rows a retrain would add."""
    report = read_json(paths.MONITORING_LATEST) if paths.MONITORING_LATEST.is_file() else None
    labelled = untrained(config)
    facts = {**monitoring_facts(report), **registry_facts(config), "new_labels": len(labelled.rows)}
    return Evidence(**facts), labelled


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


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def run(config: Config, release: Release, *, dry_run: bool = False) -> str:
    """Decide and, unless ``dry_run`` or blocked, retrain; return the outcome's status."""
    started = datetime.now(UTC)
    stale_after = timedelta(hours=config.retrain.stale_lock_hours)
    if dry_run:
        evidence, _ = gather(config)
        decision = decide(evidence, config.retrain)
        holder = lock.active_holder(LOCK, stale_after=stale_after)
        if holder is not None and decision.triggers:
            blocked = (*decision.blocked_by, f"lock: a retrain is running ({holder.describe()})")
            decision = Decision(decision.triggers, blocked)
        detail = "would retrain" if decision.retrain else "would not retrain"
        outcome = {"status": "dry_run", "detail": f"{detail}; nothing was changed"}
        request = document(evidence, decision, outcome, started=stamp(started), dry_run=True)
        report_outcome(request, write=False)
        return "dry_run"
    try:
        with lock.exclusive(LOCK, stale_after=stale_after):
            return _run_locked(config, release, started)
    except lock.LockHeldError as held:
        print(f"retrain: blocked (lock: another retrain is running, {held.holder.describe()})")
        return "blocked"


def _run_locked(config: Config, release: Release, started: datetime) -> str:
    evidence, labelled = gather(config)
    decision = decide(evidence, config.retrain)

    def finish(outcome: dict[str, Any]) -> None:
        request = document(evidence, decision, outcome, started=stamp(started), dry_run=False)
        report_outcome(request, write=True)

    if not decision.retrain:
        status = "blocked" if decision.blocked_by else "not_needed"
        detail = "" if decision.triggers else "no drift, no performance drop, champion young"
        if not decision.triggers and evidence.stale_report is not None:
            detail = evidence.stale_report
        finish({"status": status, "detail": detail})
        return status
    try:
        check_rows(labelled.rows, config.data)
        outcome = execute(config, labelled, release, started=started)
    except Exception as error:
        finish({"status": "failed", "detail": str(error).splitlines()[0][:500]})
        raise
    finish(outcome)
    return str(outcome["status"])
