"""`promote` and `rollback`: a person moves the `champion` alias, and the audit trail says why.

`promote` approves a version that passed the gate (manual release mode, or CD with an approval
step); `rollback` restores the `previous` champion in one step. Alias moves are all or nothing
(`Registry.moving_aliases`).
"""

from ..core.config import Config
from ..core.errors import ProjectError
from ..io.registry import CHAMPION, PREVIOUS, Registry, reachable


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
        with registry.moving_aliases():
            registry.promote(version, reason)


def rollback(config: Config, reason: str) -> None:
    """Restore the previous champion in one step."""
    with reachable(config.mlflow):
        registry = Registry(config.mlflow)
        current, previous = registry.by_alias(CHAMPION), registry.by_alias(PREVIOUS)
        if current is None or previous is None:
            raise ProjectError(
                f"nothing to roll back to: no '{CHAMPION}' or no '{PREVIOUS}' alias."
            )
        with registry.moving_aliases():
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
