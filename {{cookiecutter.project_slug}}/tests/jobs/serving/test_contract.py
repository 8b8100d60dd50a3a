"""The API keeps the contract its OpenAPI document states: a schemathesis run over every operation.

Every check schemathesis has (no 5xx, documented status, content type, headers and body,
schema-valid data accepted, invalid data rejected, authentication not ignored, 405 with
``Allow`` for other methods...) over its examples, coverage (boundary values) and fuzzing
phases, then stateful runs that follow the document's links (a prediction, then a label for
it). In process, on the ASGI app with real toy models (champion and canary challenger) and both
tokens set: about 2,000 requests in 30 seconds.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import Case

from {{ cookiecutter.package_name }}.core.config import PredictionLogConfig, ServeConfig
from {{ cookiecutter.package_name }}.core.privacy import Privacy
from {{ cookiecutter.package_name }}.io.bundle import Bundle
from {{ cookiecutter.package_name }}.jobs.serving.app import create_app
from {{ cookiecutter.package_name }}.jobs.serving.auth import ADMIN_SCHEME, FEEDBACK_SCHEME, Tokens

TOKENS = Tokens(admin="admin-token", feedback="feedback-token")
PRIVACY = Privacy(key=b"a test key, not a secret: 32 bytes+")  # entity ids stored and erasable
CONFIG: dict[str, Any] = {
    "seed": 20261101,  # the same cases on every run; change it to explore others
    "generation": {"max-examples": 100},  # per operation and phase
    # More records than `max_records` is "too large" (413), a rejection like 422.
    "checks": {
        "negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 413, 422]}
    },
    "auth": {
        "openapi": {
            ADMIN_SCHEME: {"bearer": TOKENS.admin},
            FEEDBACK_SCHEME: {"bearer": TOKENS.feedback},
        }
    },
}


@pytest.fixture
def api(tmp_path: Path, bundles: dict[str, Bundle]) -> Iterator[schemathesis.BaseSchema]:
    """The API's schema, loaded from the running app; shut down (log drained) at the end.

    The test runs the app's lifespan; schemathesis only sends requests (to a wrapper that
    passes on everything but the lifespan, which it would otherwise keep open until exit).
    """
    log = PredictionLogConfig(path=str(tmp_path / "log.db"))
    serve = ServeConfig(mode="canary", champion="champion", challenger="challenger", log=log)
    app = create_app(serve, lambda source: bundles[source], TOKENS, PRIVACY)

    async def requests_only(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)

    with TestClient(app):
        yield schemathesis.openapi.from_asgi(
            "/openapi.json", requests_only, config=schemathesis.Config.from_dict(CONFIG)
        )


@pytest.fixture(autouse=True)
def _node_id(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32 renames the test node through ``_nodeid``, which pytest 9.2 no longer
    has: give it one (the name shows which operation failed)."""
    request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case: Case) -> None:
    case.call_and_validate()


def test_linked_calls_keep_the_contract(api: schemathesis.BaseSchema) -> None:
    """A prediction, then labels for it (the document's link), and whatever else follows."""
    api.as_state_machine().run(
        settings=settings(
            max_examples=100,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
