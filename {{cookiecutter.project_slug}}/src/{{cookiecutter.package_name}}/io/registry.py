"""The MLflow Model Registry: versions, aliases as environments, and the audit trail.

Aliases, not the deprecated stages: ``challenger`` (just registered), ``staging`` (passed the
gate), ``champion`` (production) and ``previous`` (the champion before, for rollback). Every
action leaves an ``audit.*`` tag on the version it touched (who, when, why, gate outcome).
A release moves several aliases; `Registry.moving_aliases` makes that all or nothing.
"""

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.config import MlflowConfig
from ..core.errors import ProjectError
from ..core.timestamps import now

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

CHALLENGER, STAGING, CHAMPION, PREVIOUS = "challenger", "staging", "champion", "previous"
AUDIT_PREFIX = "audit."
ACTOR_VARIABLES = ("RELEASE_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILD_REQUESTEDFOR")
# Registered-model tag: the aliases from before a release that is moving them (`moving_aliases`).
ALIASES_BEFORE = "release.aliases_before"


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
    created: float  # when it was registered, in seconds since 1970

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def model_uri(settings: MlflowConfig, alias: str) -> str:
    """The registry URI of the version an alias points at, e.g. ``models:/<name>@champion``."""
    return f"models:/{settings.registered_model_name}@{alias}"


def actor() -> str:
    """Who acts: the CI user when a pipeline runs it, else the local user."""
    for variable in ACTOR_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable]
    return getpass.getuser()


def unreachable(error: BaseException) -> bool:
    """True when a request failed because the server did not answer, not because it said no."""
    text = str(error)
    return any(word in text for word in ("Max retries", "Connection", "timed out", "refused"))


@contextmanager
def reachable(settings: MlflowConfig) -> Iterator[None]:
    """Turn connection and login failures into one clear message naming the tracking URI."""
    from mlflow.exceptions import MlflowException

    uri = settings.effective_tracking_uri
    try:
        yield
    except MlflowException as error:
        if unreachable(error):
            raise RegistryUnavailableError(
                f"the MLflow tracking server at {uri} is not reachable "
                f"({str(error).splitlines()[0][:200]}). Start it or set MLFLOW_TRACKING_URI."
            ) from error
        if error.error_code == "UNAUTHENTICATED":
            raise ProjectError(
                f"the MLflow tracking server at {uri} did not accept the login (HTTP 401): set "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)."
            ) from error
        if error.error_code == "PERMISSION_DENIED":
            user = os.environ.get("MLFLOW_TRACKING_USERNAME", "this user")
            raise ProjectError(
                f"the MLflow tracking server at {uri} denied {user} this action (HTTP 403): ask "
                f"its admin for EDIT permission on the experiment and MANAGE on the model."
            ) from error
        raise


class Registry:
    """One registered model in the MLflow Model Registry, seen through versions and aliases."""

    def __init__(self, settings: MlflowConfig) -> None:
        # Bounded retries: with the server down, a call fails in seconds, not minutes.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(settings.request_retries))
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(settings.request_timeout_seconds))
        # Our commands say what they fetched: no progress bar per downloaded file.
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
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
            created=int(found.creation_timestamp) / 1000,
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

    def aliases(self) -> dict[str, str]:
        """Every alias and the version number it points at (none when there is no model)."""
        if not self.exists():
            return {}
        model = self.client.get_registered_model(self.name)
        return {str(alias): str(number) for alias, number in model.aliases.items()}

    def restore(self, aliases: dict[str, str]) -> None:
        """Point every alias as in ``aliases`` (saved by `aliases`) and drop any other."""
        current = self.aliases()
        for alias in set(current) - set(aliases):
            self.client.delete_registered_model_alias(self.name, alias)
        for alias, number in aliases.items():
            if current.get(alias) != number:
                self.client.set_registered_model_alias(self.name, alias, number)

    @contextmanager
    def moving_aliases(self) -> Iterator[None]:
        """Move the registered model's aliases all or none, even if the server stops half-way.

        The aliases from before are saved on the registered model (a tag) before the first
        move, and the tag is cleared after the last. If the block fails, they are put back at
        once; if the server has gone, the tag keeps them, and the next release puts them back
        (`recover`) and stops: what it read before may have been half-moved.
        """
        restored = self.recover()
        if restored is not None:
            listed = ", ".join(f"{alias}={number}" for alias, number in sorted(restored.items()))
            raise ProjectError(
                "an earlier release stopped half-way (the tracking server went away): its "
                f"aliases are back as they were ({listed or 'none'}). Run the command again."
            )
        before = self.aliases()
        self.client.set_registered_model_tag(self.name, ALIASES_BEFORE, json.dumps(before))
        try:
            yield
        except BaseException as error:
            if not unreachable(error):
                self.put_back(before)
            raise
        self.client.delete_registered_model_tag(self.name, ALIASES_BEFORE)

    def recover(self) -> dict[str, str] | None:
        """Put back the aliases an interrupted release saved (`moving_aliases`); return them."""
        saved = self.client.get_registered_model(self.name).tags.get(ALIASES_BEFORE)
        if saved is None:
            return None
        before: dict[str, str] = json.loads(saved)
        self.put_back(before)
        return before

    def put_back(self, aliases: dict[str, str]) -> None:
        self.restore(aliases)
        self.client.delete_registered_model_tag(self.name, ALIASES_BEFORE)

    def point(self, alias: str, version: Version) -> None:
        self.client.set_registered_model_alias(self.name, alias, version.version)

    def drop(self, alias: str) -> None:
        self.client.delete_registered_model_alias(self.name, alias)

    def promote(self, version: Version, reason: str) -> None:
        """Make ``version`` the champion; the champion it replaces becomes ``previous``."""
        current = self.by_alias(CHAMPION)
        if current is not None and current.version == version.version:
            raise ProjectError(f"version {version.version} is already the champion.")
        if current is not None:
            self.point(PREVIOUS, current)
            self.tag(current, {"release.status": "previous"})
            self.audit(current, "demote", reason, replaced_by=version.version)
        self.point(CHAMPION, version)
        self.tag(version, {"release.status": "champion"})
        self.audit(
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


def load_model(uri: str) -> "Pipeline":
    """The scikit-learn pipeline of a registered version (``models:/<name>/<version>``)."""
    import mlflow.sklearn

    model: Pipeline = mlflow.sklearn.load_model(uri)
    return model


def input_schema(uri: str) -> tuple[str, ...]:
    """``column:type`` for each input of the version's logged signature (the gate compares them)."""
    from mlflow.models import get_model_info

    signature = get_model_info(uri).signature
    if signature is None:
        return ()
    return tuple(f"{item['name']}:{item['type']}" for item in signature.inputs.to_dict())
