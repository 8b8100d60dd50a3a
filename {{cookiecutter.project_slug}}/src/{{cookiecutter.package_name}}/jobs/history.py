"""`history` and `lineage`: what the registry knows, read-only.

`history` lists every version with its aliases and audit trail; `lineage` follows one model
back through its run and config to the data and code it came from.
"""

import json
from typing import Any

import yaml

from ..core.config import Config
from ..io.registry import Registry, audit_trail, reachable, resolve


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
