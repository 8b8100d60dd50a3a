"""The online API: the FastAPI app factory and ``serve``, its uvicorn entry point.

``create_app(settings, loader)`` builds an app around one ``Server`` (``lifecycle.py``): the
lifespan loads the models and opens the prediction log before the first request and drains
the log at shutdown; middlewares count and time every request (``metrics.py``) and give it
its id (``request_ids.py``); the routes are in ``routes/``: predict, feedback and operations
(health, readiness, metrics, model, reload), documented exactly (``contract.py``), guarded by
tokens where configured (``auth.py``). Who answers a request, champion or challenger, is
``rollout.py``'s business.

``serve --workers N`` runs N uvicorn worker processes on one socket (``worker_app`` builds each
one's app from the parent's config): one prediction log (each worker writes the same SQLite
file in WAL mode, in its own batches) and one set of Prometheus metrics (multiprocess mode,
``metrics.py``). Routing state (the canary's windows and rollback, the shadow queue) is per
worker; a reload replaces every worker (``lifecycle.py``).
"""

import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI

from ...core.config import Config, ServeConfig
from ...core.errors import ConfigError, ProjectError
from ...core.privacy import Privacy
from ...io.bundle import load_bundle
from .auth import Tokens
from .contract import document
from .deployment import Loader
from .lifecycle import WORKER, Server, reload_on_hangup
from .metrics import MULTIPROCESS_DIR, RequestMetrics
from .request_ids import RequestIds
from .routes.admin import add_admin_routes
from .routes.feedback import add_feedback_route
from .routes.operations import add_operation_routes
from .routes.predict import add_prediction_route


def create_app(
    settings: ServeConfig,
    loader: Loader,
    tokens: Tokens | None = None,
    privacy: Privacy | None = None,
) -> FastAPI:
    """The API for ``settings``; ``loader`` turns a model source into a loaded ``Bundle``.

    ``tokens`` guard /admin and /feedback (default: from the environment, ``auth.py``);
    ``privacy`` says how the log stores personal data (default: no PII columns, the key from
    the environment).
    """
    server = Server(settings, loader, privacy or Privacy.from_environment())
    return build_app(server, Tokens.from_environment() if tokens is None else tokens)


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
    add_admin_routes(app, server, tokens)

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


# The parent's config and serve settings, as JSON, for `worker_app`.
WORKER_CONFIG, WORKER_SETTINGS = "SERVE_WORKER_CONFIG", "SERVE_WORKER_SETTINGS"
WORKER_START_SECONDS = 60
LOG_FORMAT = "%(levelname)s:     %(name)s: %(message)s"


def server_for(config: Config, settings: ServeConfig) -> Server:
    """The server of one process: its models come from ``settings``' sources."""
    privacy = Privacy.from_environment(config.data.pii_columns, settings.log.pii)
    return Server(settings, lambda source: load_bundle(source, config, background=True), privacy)


def worker_app() -> FastAPI:
    """The app of one worker process of ``serve --workers N`` (a uvicorn app factory)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    if WORKER_CONFIG not in os.environ:
        raise ProjectError(f"{WORKER_CONFIG} is not set: start workers with `serve --workers N`.")
    config = Config.model_validate_json(os.environ[WORKER_CONFIG])
    settings = ServeConfig.model_validate_json(os.environ[WORKER_SETTINGS])
    return build_app(server_for(config, settings), Tokens.from_environment())


def serve(
    config: Config,
    *,
    champion: str | None = None,
    challenger: str | None = None,
    host: str | None = None,
    port: int | None = None,
    workers: int = 1,
) -> None:
    """Run the API with uvicorn: one process, or ``workers`` processes on one socket."""
    import uvicorn

    if config.serve is None:
        raise ConfigError("no `serve` config: add `- serve: single` to conf/config.yaml defaults.")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, not {workers}.")
    changes = {"champion": champion, "challenger": challenger, "host": host, "port": port}
    merged = {**config.serve.model_dump(), **{k: v for k, v in changes.items() if v is not None}}
    settings = ServeConfig.model_validate(merged)
    # The app's own messages (reloads, rollbacks, model errors) beside uvicorn's, on stderr.
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    server = server_for(config, settings)
    # Before listening: a model that cannot load, or a log that cannot open, is a clear error.
    server.start()
    if workers > 1:
        server.stop()  # checked; each worker loads its own
        serve_workers(config, settings, workers)
        return
    try:
        app = build_app(server, Tokens.from_environment())
        uvicorn.run(app, host=settings.host, port=settings.port, access_log=False)
    finally:
        server.stop()  # a no-op after uvicorn's clean shutdown; drains the log otherwise


def metrics_directory() -> tuple[Path, bool]:
    """Where the workers' metrics go, emptied (counters start at zero); True if we made it.

    ``PROMETHEUS_MULTIPROC_DIR`` when set (a writable volume, in a read-only container: only
    prometheus-client's ``*.db`` files in it are deleted), else a new temporary directory.
    """
    given = os.environ.get(MULTIPROCESS_DIR)
    if not given:
        return Path(tempfile.mkdtemp(prefix="prometheus-")), True
    directory = Path(given)
    if not directory.is_dir():
        raise ConfigError(f"{MULTIPROCESS_DIR}={given} is not a directory: create it, or unset it.")
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory, False


def serve_workers(config: Config, settings: ServeConfig, workers: int) -> None:
    """``workers`` uvicorn processes, sharing the log file and one metrics directory."""
    import uvicorn

    metrics, made = metrics_directory()
    os.environ.update(
        {
            MULTIPROCESS_DIR: str(metrics),
            WORKER: "1",
            WORKER_CONFIG: config.model_dump_json(),
            WORKER_SETTINGS: settings.model_dump_json(),
        }
    )
    try:
        uvicorn.run(
            f"{__name__}:worker_app",
            factory=True,
            workers=workers,
            host=settings.host,
            port=settings.port,
            access_log=False,
            # A worker's start (imports, loading the models) can take seconds on a busy host:
            # uvicorn would take it for hung, and kill it, after its default of 5 s.
            timeout_worker_healthcheck=WORKER_START_SECONDS,
        )
    finally:
        if made:
            shutil.rmtree(metrics, ignore_errors=True)
