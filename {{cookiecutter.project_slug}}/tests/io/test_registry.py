"""Registry bookkeeping against an in-memory stand-in for MLflow's client.

The real registry (SQLite and a tracking server) is exercised by the template's end-to-end
tests; here the point is the order of operations when the server fails half-way.
"""

from types import SimpleNamespace
from typing import Any

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, UNAUTHENTICATED

from {{ cookiecutter.package_name }}.core.config import MlflowConfig
from {{ cookiecutter.package_name }}.core.errors import ProjectError
from {{ cookiecutter.package_name }}.io.registry import (
    ALIASES_BEFORE,
    CHALLENGER,
    CHAMPION,
    PREVIOUS,
    Registry,
    RegistryUnavailableError,
    audit_trail,
    reachable,
)

GONE = "Connection refused: tracking server stopped"


class FakeClient:
    """Just enough of MlflowClient's registry API, with one call that can be made to fail."""

    def __init__(self, fail_on: str | None = None, error: str = GONE) -> None:
        self.models: set[str] = set()
        self.versions: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}
        self.model_tags: dict[str, str] = {}
        self.fail_on, self.error = fail_on, error

    def _maybe_fail(self, call: str) -> None:
        if call == self.fail_on:
            raise MlflowException(self.error)

    def get_registered_model(self, name: str) -> SimpleNamespace:
        if name not in self.models:
            raise MlflowException("not found", error_code=RESOURCE_DOES_NOT_EXIST)
        return SimpleNamespace(aliases=dict(self.aliases), tags=dict(self.model_tags))

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        self.model_tags[key] = value

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        del self.model_tags[key]

    def create_registered_model(self, name: str) -> None:
        self.models.add(name)

    def create_model_version(
        self, name: str, source: str, run_id: str, model_id: str | None = None
    ) -> SimpleNamespace:
        number = str(len(self.versions) + 1)
        self.versions[number] = {
            "run_id": run_id,
            "source": source,
            "tags": {},
            "creation_timestamp": 1_700_000_000_000,
        }
        return SimpleNamespace(version=number)

    def get_model_version(self, name: str, number: str) -> SimpleNamespace:
        found = self.versions[number]
        aliases = [alias for alias, target in self.aliases.items() if target == number]
        return SimpleNamespace(version=number, aliases=aliases, **found)

    def search_model_versions(self, query: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(version=number) for number in self.versions]

    def set_model_version_tag(self, name: str, number: str, key: str, value: str) -> None:
        self._maybe_fail("set_model_version_tag")
        self.versions[number]["tags"][key] = value

    def set_registered_model_alias(self, name: str, alias: str, number: str) -> None:
        self._maybe_fail("set_registered_model_alias")
        self.aliases[alias] = number

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        del self.aliases[alias]

    def delete_model_version(self, name: str, number: str) -> None:
        del self.versions[number]


def registry_with(client: FakeClient) -> Registry:
    registry = Registry.__new__(Registry)
    registry.name = "model"
    registry.client = client  # type: ignore[assignment]
    return registry


def test_register_tags_audits_and_sets_challenger_last() -> None:
    client = FakeClient()
    version = registry_with(client).register("models:/m-1", "run-1", {"git.commit": "abc"})
    assert version.version == "1"
    assert client.aliases == {CHALLENGER: "1"}
    assert version.tags["git.commit"] == "abc"
    assert [entry["action"] for entry in audit_trail(version)] == ["register"]


def test_registering_the_same_run_twice_reuses_the_version() -> None:
    client = FakeClient()
    registry = registry_with(client)
    registry.register("models:/m-1", "run-1", {})
    again = registry.register("models:/m-1", "run-1", {})
    assert again.version == "1"
    assert len(client.versions) == 1


@pytest.mark.parametrize("failing_call", ["set_model_version_tag", "set_registered_model_alias"])
def test_failure_mid_registration_leaves_no_version_and_no_alias(failing_call: str) -> None:
    client = FakeClient(fail_on=failing_call)
    with pytest.raises(MlflowException, match=GONE):
        registry_with(client).register("models:/m-1", "run-1", {"git.commit": "abc"})
    assert client.versions == {}
    assert client.aliases == {}


def test_aliases_are_saved_and_restored_as_they_were() -> None:
    client = FakeClient()
    registry = registry_with(client)
    assert registry.aliases() == {}  # no model yet
    for run in ("run-1", "run-2"):
        registry.register(f"models:/{run}", run, {})
    registry.point("champion", registry.version("1"))
    saved = registry.aliases()
    registry.point("champion", registry.version("2"))
    registry.point("staging", registry.version("2"))
    registry.restore(saved)
    assert client.aliases == saved == {CHALLENGER: "2", "champion": "1"}


def released(client: FakeClient) -> Registry:
    """Versions 1 and 2; 1 is the champion, 2 the challenger."""
    registry = registry_with(client)
    for run in ("run-1", "run-2"):
        registry.register(f"models:/{run}", run, {})
    registry.point(CHAMPION, registry.version("1"))
    return registry


def promote_two(registry: Registry, client: FakeClient, fail_with: str | None = None) -> None:
    """What a promotion does, `previous` first and `champion` last; ``fail_with`` at the last."""
    registry.point(PREVIOUS, registry.version("1"))
    if fail_with is not None:
        client.fail_on, client.error = "set_registered_model_alias", fail_with
    registry.point(CHAMPION, registry.version("2"))


def test_moving_aliases_leaves_no_saved_aliases_behind() -> None:
    client = FakeClient()
    registry = released(client)
    with registry.moving_aliases():
        promote_two(registry, client)
    assert client.aliases == {CHALLENGER: "2", PREVIOUS: "1", CHAMPION: "2"}
    assert client.model_tags == {}


def test_a_refused_move_puts_every_alias_back_at_once() -> None:
    client = FakeClient()
    registry = released(client)
    before = dict(client.aliases)
    with pytest.raises(MlflowException, match="denied"), registry.moving_aliases():
        promote_two(registry, client, fail_with="permission denied")
    assert client.aliases == before
    assert client.model_tags == {}


def test_a_server_gone_half_way_is_undone_by_the_next_release() -> None:
    client = FakeClient()
    registry = released(client)
    before = dict(client.aliases)
    with pytest.raises(MlflowException, match=GONE), registry.moving_aliases():
        promote_two(registry, client, fail_with=GONE)
    assert client.aliases == {**before, PREVIOUS: "1"}  # half-moved, but the tag knows
    assert client.model_tags == {ALIASES_BEFORE: '{"challenger": "2", "champion": "1"}'}
    client.fail_on = None  # the server is back
    with pytest.raises(ProjectError, match="challenger=2, champion=1"), registry.moving_aliases():
        pytest.fail("a release must not go on from what it read of half-moved aliases")
    assert client.aliases == before
    assert client.model_tags == {}
    with registry.moving_aliases():  # the release run again goes ahead
        promote_two(registry, client)
    assert client.aliases[CHAMPION] == "2"


@pytest.mark.parametrize(
    ("error", "raised", "message"),
    [
        (MlflowException(GONE), RegistryUnavailableError, "is not reachable"),
        (
            MlflowException("401 != 200", error_code=UNAUTHENTICATED),
            ProjectError,
            "did not accept the login .* MLFLOW_TRACKING_PASSWORD",
        ),
    ],
)
def test_reachable_names_the_server(
    error: MlflowException, raised: type[Exception], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = MlflowConfig(
        tracking_uri="http://mlflow.test:5000", experiment_name="e", registered_model_name="m"
    )
    with pytest.raises(raised, match=f"http://mlflow.test:5000 {message}"), reachable(settings):
        raise error
