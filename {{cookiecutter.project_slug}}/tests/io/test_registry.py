"""Registry bookkeeping against an in-memory stand-in for MLflow's client.

The real registry (SQLite and a tracking server) is exercised by the template's end-to-end
tests; here the point is the order of operations when the server fails half-way.
"""

from types import SimpleNamespace
from typing import Any

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

from {{ cookiecutter.package_name }}.io.registry import (
    CHALLENGER,
    Registry,
    audit_trail,
)


class FakeClient:
    """Just enough of MlflowClient's registry API, with one call that can be made to fail."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.models: set[str] = set()
        self.versions: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}
        self.fail_on = fail_on

    def _maybe_fail(self, call: str) -> None:
        if call == self.fail_on:
            raise MlflowException("Connection refused: tracking server stopped")

    def get_registered_model(self, name: str) -> None:
        if name not in self.models:
            raise MlflowException("not found", error_code=RESOURCE_DOES_NOT_EXIST)

    def create_registered_model(self, name: str) -> None:
        self.models.add(name)

    def create_model_version(
        self, name: str, source: str, run_id: str, model_id: str | None = None
    ) -> SimpleNamespace:
        number = str(len(self.versions) + 1)
        self.versions[number] = {"run_id": run_id, "source": source, "tags": {}}
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
    with pytest.raises(MlflowException, match="Connection refused"):
        registry_with(client).register("models:/m-1", "run-1", {"git.commit": "abc"})
    assert client.versions == {}
    assert client.aliases == {}
