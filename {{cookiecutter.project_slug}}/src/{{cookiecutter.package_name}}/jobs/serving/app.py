"""The online API: the FastAPI app factory and ``serve``, its uvicorn entry point.

``create_app(settings, loader)`` builds an app around one ``Server`` (``lifecycle.py``): the
lifespan loads the models and opens the prediction log before the first request and drains
the log at shutdown; middlewares count and time every request (``metrics.py``) and give it
its id (``request_ids.py``); the routes are in ``routes/``: predict, feedback and operations
(health, readiness, metrics, model, reload), documented exactly (``contract.py``), guarded by
tokens where configured (``auth.py``). Who answers a request, champion or challenger, is
``rollout.py``'s business.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI

from ...core.config import Config, ServeConfig
from ...core.errors import ConfigError
from ...io.bundle import load_bundle
from .auth import Tokens
from .contract import document
from .deployment import Loader
from .lifecycle import Server, reload_on_hangup
from .metrics import RequestMetrics
from .request_ids import RequestIds
from .routes.feedback import add_feedback_route
from .routes.operations import add_operation_routes
from .routes.predict import add_prediction_route


def create_app(settings: ServeConfig, loader: Loader, tokens: Tokens | None = None) -> FastAPI:
    """The API for ``settings``; ``loader`` turns a model source into a loaded ``Bundle``.

    ``tokens`` guard /admin and /feedback (default: from the environment, ``auth.py``).
    """
    return build_app(
        Server(settings, loader), Tokens.from_environment() if tokens is None else tokens
    )


def build_app(server: Server, tokens: Tokens) -> FastAPI:
    """The API around ``server`` (started by the lifespan, unless it is already)."""

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(server.start)
        stop_listening = reload_on_hangup(application, server)
        try:
            yield
        finally:
            stop_listening()
            await anyio.to_thread.run_sync(server.stop)

    app = FastAPI(
        title="Model API",
        summary="Predictions of the champion model; challenger in shadow or canary.",
        version="1",
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,  # operationId: the function's name
    )
    app.add_middleware(RequestIds)
    app.add_middleware(RequestMetrics, metrics=lambda: server.metrics)  # outermost: counts all
    add_prediction_route(app, server)
    add_operation_routes(app, server, tokens)
    add_feedback_route(app, server, tokens)

    def openapi() -> dict[str, Any]:
        """Generated once per deployment (a reload resets it: the request models may differ)."""
        deployment = server.deployment
        if app.openapi_schema is not None or deployment is None:
            return app.openapi_schema or document(app, tokens, {})
        bodies = {"/predict": deployment.request, "/feedback": deployment.feedback}
        app.openapi_schema = document(app, tokens, bodies)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def serve(
    config: Config,
    *,
    champion: str | None = None,
    challenger: str | None = None,
    host: str | None = None,
    port: int | None = None,
) -> None:
    """Run the API with uvicorn (one process; scale out with more containers)."""
    import uvicorn

    if config.serve is None:
        raise ConfigError("no `serve` config: add `- serve: single` to conf/config.yaml defaults.")
    changes = {"champion": champion, "challenger": challenger, "host": host, "port": port}
    merged = {**config.serve.model_dump(), **{k: v for k, v in changes.items() if v is not None}}
    settings = ServeConfig.model_validate(merged)
    # The app's own messages (reloads, rollbacks, model errors) beside uvicorn's, on stderr.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    server = Server(settings, lambda source: load_bundle(source, config))
    # Before listening: a model that cannot load, or a log that cannot open, is a clear error.
    server.start()
    try:
        app = build_app(server, Tokens.from_environment())
        uvicorn.run(app, host=settings.host, port=settings.port, access_log=False)
    finally:
        server.stop()  # a no-op after uvicorn's clean shutdown; drains the log otherwise
