"""The MLflow Model Registry: versions, aliases as environments, and the audit trail.

Aliases, not the deprecated stages: ``challenger`` (just registered), ``staging`` (passed the
gate), ``champion`` (production) and ``previous`` (the champion before, for rollback). Every
action leaves an ``audit.*`` tag on the version it touched (who, when, why, gate outcome).
"""

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..core.config import MlflowConfig
from ..core.errors import ProjectError

CHALLENGER, STAGING, CHAMPION, PREVIOUS = "challenger", "staging", "champion", "previous"
AUDIT_PREFIX = "audit."
ACTOR_VARIABLES = ("RELEASE_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_REQUESTEDFOR")


class RegistryUnavailableError(ProjectError):
    """The tracking server did not answer; nothing was left half-done."""


@dataclass(frozen=True)
class Version:
    """A registered model version, as much of it as the release commands need."""

    name: str
    version: str
    run_id: str
    source: str
    tags: dict[str, str]
    aliases: tuple[str, ...]

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def actor() -> str:
    """Who acts: the CI user when a pipeline runs it, else the local user."""
    for variable in ACTOR_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable]
    return getpass.getuser()


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@contextmanager
def reachable(settings: MlflowConfig) -> Iterator[None]:
    """Turn connection failures into one clear message naming the tracking URI."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as error:
        text = str(error)
        if any(word in text for word in ("Max retries", "Connection", "timed out", "refused")):
            raise RegistryUnavailableError(
                f"the MLflow tracking server at {settings.effective_tracking_uri} is not "
                f"reachable ({text.splitlines()[0][:200]}). Start it or set MLFLOW_TRACKING_URI."
            ) from error
        raise


class Registry:
    """One registered model in the MLflow Model Registry, seen through versions and aliases."""

    def __init__(self, settings: MlflowConfig) -> None:
        # Bounded retries: with the server down, a call fails in seconds, not minutes.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(settings.request_retries))
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(settings.request_timeout_seconds))
        from mlflow import MlflowClient

        uri = settings.effective_tracking_uri
        self.name = settings.registered_model_name
        self.client: MlflowClient = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def version(self, number: str) -> Version:
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.get_model_version(self.name, number)
        except MlflowException as error:
            raise ProjectError(f"model {self.name} has no version {number}.") from error
        return Version(
            name=self.name,
            version=str(found.version),
            run_id=str(found.run_id),
            source=str(found.source),
            tags=dict(found.tags),
            aliases=tuple(found.aliases),
        )

    def by_alias(self, alias: str) -> Version | None:
        """The version an alias points at, or None when the alias or the model does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.get_model_version_by_alias(self.name, alias)
        except MlflowException as error:
            if error.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
                return None
            raise
        return self.version(str(found.version))

    def exists(self) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(self.name)
        except MlflowException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return False
            raise
        return True

    def versions(self) -> list[Version]:
        """Every version of the model, oldest first."""
        if not self.exists():
            return []
        found = self.client.search_model_versions(f"name = '{self.name}'")
        return [self.version(number) for number in sorted((str(v.version) for v in found), key=int)]

    def audit(self, version: Version, action: str, why: str, **details: Any) -> None:
        """Append one entry to the version's audit trail (a tag per action, ordered by time)."""
        entry = {"action": action, "who": actor(), "when": now(), "why": why, **details}
        stamp = str(entry["when"]).replace(":", "").replace("-", "")
        value = json.dumps(entry, default=str)[:5000]
        self.client.set_model_version_tag(
            self.name, version.version, f"{AUDIT_PREFIX}{stamp}.{action}", value
        )

    def tag(self, version: Version, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(self.name, version.version, key, value)

    def point(self, alias: str, version: Version) -> None:
        self.client.set_registered_model_alias(self.name, alias, version.version)

    def drop(self, alias: str) -> None:
        self.client.delete_registered_model_alias(self.name, alias)

    def register(self, model_uri: str, run_id: str, tags: dict[str, str]) -> Version:
        """Register a model as a new version with its tags, then point ``challenger`` at it.

        The alias is set last; if anything fails before, the half-made version is deleted, so
        no alias ever points at an incomplete version. A run registered before is reused.
        """
        from mlflow.exceptions import MlflowException

        for existing in self.versions():
            if existing.run_id == run_id:
                self.point(CHALLENGER, existing)
                return self.version(existing.version)
        if not self.exists():
            self.client.create_registered_model(self.name)
        # A tracking server needs the logged model's id with a `models:/<model_id>` source.
        model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/") else None
        created = self.client.create_model_version(
            self.name, model_uri, run_id=run_id, model_id=model_id
        )
        number = str(created.version)
        try:
            version = self.version(number)
            self.tag(version, tags)
            self.audit(version, "register", "trained by the pipeline", run_id=run_id)
            self.point(CHALLENGER, version)
        except MlflowException:
            with suppress(MlflowException):  # the server may be gone: the version has no alias
                self.client.delete_model_version(self.name, number)
            raise
        return self.version(number)


def audit_trail(version: Version) -> list[dict[str, Any]]:
    """The version's audit entries, oldest first."""
    entries = [json.loads(v) for k, v in version.tags.items() if k.startswith(AUDIT_PREFIX)]
    return sorted(entries, key=lambda entry: str(entry["when"]))


def resolve(registry: Registry, model_uri: str) -> Version:
    """``models:/<name>@<alias>`` or ``models:/<name>/<version>`` to a registered version."""
    reference = model_uri.removeprefix("models:/")
    name, _, rest = reference.partition("@") if "@" in reference else reference.partition("/")
    if name != registry.name or not rest:
        raise ProjectError(
            f"expected models:/{registry.name}@<alias> or models:/{registry.name}/<version>, "
            f"got {model_uri!r}."
        )
    if "@" in reference:
        found = registry.by_alias(rest)
        if found is None:
            raise ProjectError(f"{model_uri}: no version has the alias '{rest}'.")
        return found
    return registry.version(rest)
