"""Release commands: register, gate, promote, rollback, history, lineage.

Thin orchestration: `registry` talks to MLflow, `measure` scores models, `gate` decides and
`card` writes the model card. Every command reads the same typed config as the pipeline.
"""

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..core import card, measure
from ..core.config import Config
from ..core.errors import ProjectError
from ..core.gate import Decision, RuleResult, decide, paired_bootstrap
from ..core.metrics import HIGHER_IS_BETTER
from ..io import paths
from ..io.files import read_json, read_table, write_json
from ..io.registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS,
    STAGING,
    Registry,
    Version,
    audit_trail,
    now,
    reachable,
    resolve,
)

LINEAGE_PREFIXES = ("git.", "data.", "config.", "version.")
GATE_EXIT_REJECTED = 3


def lineage_tags(run_tags: dict[str, str], run_id: str) -> dict[str, str]:
    """The run's lineage facts, copied onto the model version so the registry is self-describing."""
    tags = {key: value for key, value in run_tags.items() if key.startswith(LINEAGE_PREFIXES)}
    return {**tags, "run_id": run_id}


def register(config: Config) -> Version:
    """Register the model of the last `train` run and point the `challenger` alias at it."""
    import mlflow

    trained = read_json(paths.TRAIN_RUN)
    with reachable(config.mlflow):
        registry = Registry(config.mlflow)
        try:
            run = registry.client.get_run(trained["run_id"])
        except mlflow.exceptions.MlflowException as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise  # an unreachable server is reported by `reachable`
            raise ProjectError(
                f"run {trained['run_id']} (models/run.json) is not in the tracking store at "
                f"{config.mlflow.effective_tracking_uri}: train against this store first."
            ) from error
        version = registry.register(
            trained["model_uri"], trained["run_id"], lineage_tags(run.data.tags, run.info.run_id)
        )
    print(
        f"registered {version.name} version {version.version} as '{CHALLENGER}' "
        f"(run {version.run_id})"
    )
    return version


def holdout_sets(config: Config) -> dict[str, pd.DataFrame]:
    """The test split, plus the recent labelled window when monitoring has collected one."""
    sets = {"test": read_table(paths.TEST)}
    recent = Path(config.release.recent_window) if config.release.recent_window else None
    if recent is not None and recent.is_file():
        frame = read_table(recent)
        if config.data.target in frame and frame[config.data.target].notna().any():
            sets["recent"] = frame[frame[config.data.target].notna()]
    return sets


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


def evaluate_pair(
    config: Config, challenger: Version, champion: Version | None
) -> tuple[Decision, dict[str, Any]]:
    """Score both models on the same rows and apply every rule of conf/release."""
    models = [measure.load_model(challenger.uri)]
    schemas = [measure.input_schema(challenger.uri)]
    if champion is not None:
        models.append(measure.load_model(champion.uri))
        schemas.append(measure.input_schema(champion.uri))
    sets = holdout_sets(config)
    features = sets["test"][config.data.feature_columns]
    latencies = measure.single_row_p95_ms(models, features, config.release.latency_rows)
    decisions, evidence = {}, {}
    for name, frame in sets.items():
        scored = [
            measure.score(m, frame, config, s, p)
            for m, s, p in zip(models, schemas, latencies, strict=True)
        ]
        interval = None
        metric = config.release.primary_metric
        scorer = measure.bootstrap_metric(metric)
        if len(scored) == 2 and config.release.bootstrap_samples and scorer is not None:
            interval = paired_bootstrap(
                frame[config.data.target].to_numpy(),
                scored[0].predictions,
                scored[1].predictions,
                score=scorer,
                higher_is_better=HIGHER_IS_BETTER[metric],
                samples=config.release.bootstrap_samples,
                confidence=config.release.confidence,
                seed=config.seed,
            )
        decisions[name] = decide(
            scored[0].evaluation,
            scored[1].evaluation if len(scored) == 2 else None,
            config.release,
            interval,
        )
        evidence[name] = {
            "rows": len(frame),
            "challenger": measure.as_json(scored[0].evaluation.metrics),
            "champion": measure.as_json(scored[1].evaluation.metrics) if len(scored) == 2 else None,
            "slices": measure.as_json(scored[0].evaluation.slices),
        }
    return combine(decisions), evidence


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
        slices=test.get("slices", {}),
        decision=decision.as_dict() if decision else None,
        lineage={**version.tags, "run_id": version.run_id},
        aliases=list(registry.version(version.version).aliases),
    )
    paths.MODEL_CARD.parent.mkdir(parents=True, exist_ok=True)
    paths.MODEL_CARD.write_text(text)
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
        decision, evidence = evaluate_pair(config, challenger, champion)
        report = {
            "model": registry.name,
            "challenger": challenger.version,
            "champion": champion.version if champion else None,
            "mode": mode,
            "decided_at": now(),
            **measure.as_json(decision.as_dict()),
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
            registry.point(STAGING, challenger)
            if mode == "auto":
                promote_version(
                    registry,
                    registry.version(challenger.version),
                    "gate passed (release mode auto)",
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


def register_and_gate(config: Config) -> tuple[Version, Decision]:
    """Register the last trained model and gate it: what `retrain` does after rebuilding."""
    return register(config), gate(config)


def promote_version(registry: Registry, version: Version, reason: str) -> None:
    """Make ``version`` the champion; the champion it replaces becomes ``previous``."""
    current = registry.by_alias(CHAMPION)
    if current is not None and current.version == version.version:
        raise ProjectError(f"version {version.version} is already the champion.")
    if current is not None:
        registry.point(PREVIOUS, current)
        registry.tag(current, {"release.status": "previous"})
        registry.audit(current, "demote", reason, replaced_by=version.version)
    registry.point(CHAMPION, version)
    registry.tag(version, {"release.status": "champion"})
    registry.audit(
        version,
        "promote",
        reason,
        previous=current.version if current else None,
        gate_passed=version.tags.get("gate.passed"),
        gate_reason=version.tags.get("gate.reason"),
    )
    print(
        f"promoted version {version.version} to '{CHAMPION}'"
        + (f"; version {current.version} is '{PREVIOUS}'" if current else "")
    )


def promote(
    config: Config, number: str | None, *, approve: bool, reason: str, from_alias: str | None = None
) -> None:
    """A person's approval of a version that passed the gate: by number, or by its alias."""
    if not approve:
        raise ProjectError("promotion changes production: confirm with --approve.")
    if not reason.strip():
        raise ProjectError('say why in --reason "...": it goes into the audit trail.')
    if (number is None) == (from_alias is None):
        raise ProjectError("name the version to promote: --version N or --from-alias staging.")
    with reachable(config.mlflow):
        registry = Registry(config.mlflow)
        if from_alias is not None:
            found = registry.by_alias(from_alias)
            if found is None:
                raise ProjectError(f"no version has the alias '{from_alias}': nothing to promote.")
            version = found
        else:
            version = registry.version(str(number))
        if version.tags.get("gate.passed") != "true":
            why = version.tags.get("gate.reason", "the gate has not run for it")
            raise ProjectError(f"version {version.version} has not passed the gate ({why}).")
        promote_version(registry, version, reason)


def rollback(config: Config, reason: str) -> None:
    """Restore the previous champion in one step."""
    with reachable(config.mlflow):
        registry = Registry(config.mlflow)
        current, previous = registry.by_alias(CHAMPION), registry.by_alias(PREVIOUS)
        if current is None or previous is None:
            raise ProjectError(
                f"nothing to roll back to: no '{CHAMPION}' or no '{PREVIOUS}' alias."
            )
        registry.point(CHAMPION, previous)
        registry.drop(PREVIOUS)
        registry.tag(current, {"release.status": "rolled_back"})
        registry.tag(previous, {"release.status": "champion"})
        registry.audit(current, "rollback", reason, restored=previous.version)
        registry.audit(previous, "restore", reason, replaced=current.version)
    print(
        f"rolled back: version {previous.version} is '{CHAMPION}' again "
        f"(version {current.version} withdrawn)"
    )


def history(config: Config) -> list[dict[str, Any]]:
    """Every version with its aliases and audit trail, oldest first."""
    with reachable(config.mlflow):
        versions = Registry(config.mlflow).versions()
    rows = []
    for version in versions:
        aliases = f" [{', '.join(version.aliases)}]" if version.aliases else ""
        print(
            f"version {version.version}{aliases}  "
            f"status={version.tags.get('release.status', 'registered')}"
        )
        for entry in audit_trail(version):
            print(f"  {entry['when']}  {entry['action']:<8} by {entry['who']}: {entry['why']}")
        rows.append(
            {
                "version": version.version,
                "aliases": list(version.aliases),
                "audit": audit_trail(version),
            }
        )
    return rows


def lineage(config: Config, model_uri: str) -> dict[str, Any]:
    """The whole chain for a model: data -> code -> config -> run -> version -> aliases."""
    import mlflow

    with reachable(config.mlflow):
        registry = Registry(config.mlflow)
        version = resolve(registry, model_uri)
        run = registry.client.get_run(version.run_id)
        resolved = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/config/resolved.json")
    tags = run.data.tags
    chain: dict[str, Any] = {
        "data": {k: v for k, v in sorted(tags.items()) if k.startswith("data.")},
        "code": {"git.commit": tags.get("git.commit"), "git.dirty": tags.get("git.dirty")},
        "config": {
            "hash": tags.get("config.hash"),
            "overrides": tags.get("config.overrides"),
            "resolved": resolved,
        },
        "run": {"id": run.info.run_id, "metrics": dict(sorted(run.data.metrics.items()))},
        "model_version": {
            "name": version.name,
            "version": version.version,
            "source": version.source,
        },
        "aliases": list(version.aliases),
    }
    print(f"lineage of {model_uri}")
    print("data:\n" + "".join(f"  {k}: {v}\n" for k, v in chain["data"].items()), end="")
    print(f"code:\n  commit {chain['code']['git.commit']} (dirty: {chain['code']['git.dirty']})")
    print(f"config:\n  hash {chain['config']['hash']}, overrides: {chain['config']['overrides']}")
    print("  " + yaml.safe_dump(resolved, sort_keys=False).replace("\n", "\n  ").rstrip())
    print(
        f"run:\n  {run.info.run_id}\n"
        + "".join(f"  {k}: {v:.4g}\n" for k, v in chain["run"]["metrics"].items()),
        end="",
    )
    print(f"model version:\n  {version.name} version {version.version} <- {version.source}")
    print(f"aliases:\n  {', '.join(version.aliases) or 'none'}")
    serialisable: dict[str, Any] = json.loads(json.dumps(chain, default=str))
    return serialisable
