"""The online API: FastAPI app factory, the request path, reload, and the uvicorn entry point.

``create_app(settings, loader)`` builds an app around one ``Server``: the loaded models
(``Deployment``), the router, the prediction log, the shadow worker and the metrics. A request
does as little as it can: the body is read within a size limit and parsed straight into the
generated request model (pydantic, in Rust), records are scored without a DataFrame, the log
and the shadow challenger get a queue entry each, and the JSON answer is written by hand.
Reload (``POST /admin/reload``, or SIGHUP to the process) loads the new models completely,
then swaps one reference: a request in flight keeps the deployment it started with, so none
is dropped.
"""

import asyncio
import hmac
import json
import logging
import os
import queue
import signal
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field, ValidationError

from ...core.config import ColumnSpec, Config, ServeConfig
from ...core.errors import ConfigError
from ...core.labels import Label, check_label
from ...core.predictor import Predictor, Scores
from ...core.request_schema import PredictRequestBase, Problem, columns_of, problems, request_model
from ...core.routing import CHALLENGER, CHAMPION, SHADOW, Arm, Router
from ...io.bundle import Bundle
from ...io.feedback_store import FeedbackStore, logged_keys, store_path
from ...io.prediction_log import UNROUTED, Entry, Failure, PredictionLog
from .metrics import ServingMetrics

logger = logging.getLogger(__name__)
Loader = Callable[[str], Bundle]
ADMIN_TOKEN_VARIABLE = "SERVE_ADMIN_TOKEN"  # noqa: S105 (the name of a variable, not a secret)
FEEDBACK_LOOKUPS = 3
JSON = "application/json"
MODEL_ERROR = "model_error"


@dataclass(frozen=True)
class Served:
    """One loaded model and what the API says about it."""

    bundle: Bundle
    predictor: Predictor

    @property
    def name(self) -> str:
        return str(self.bundle.metadata["name"])

    @property
    def version(self) -> str:
        return str(self.bundle.metadata["version"])

    @classmethod
    def load(cls, loader: Loader, source: str) -> "Served":
        bundle = loader(source)
        return cls(bundle, Predictor(bundle.pipeline, columns_of(bundle.metadata)))


@dataclass(frozen=True)
class Deployment:
    """What answers requests right now; replaced whole by a reload, never changed in place."""

    champion: Served
    challenger: Served | None
    request: type[PredictRequestBase]


class PayloadTooLargeError(Exception):
    """The body is over the configured limit; answered with 413 before it is parsed."""


class PredictResponse(BaseModel):
    """The answer of POST /predict (documented in OpenAPI; written without this model)."""

    request_id: str
    model: dict[str, str]
    arm: Arm
    predictions: list[dict[str, Any]]


def problem_response(status: int, request_id: str, found: list[Problem]) -> Response:
    detail = [{"field": p.field, "rule": p.rule, "message": p.message} for p in found]
    body = json.dumps({"request_id": request_id, "detail": detail})
    return Response(body, status, {"x-request-id": request_id}, media_type=JSON)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes without reading them all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


class ShadowWorker:
    """Runs the challenger off the request path: a bounded queue and one daemon thread."""

    def __init__(self, score: Callable[[str, list[dict[str, Any]]], None], size: int) -> None:
        self._score = score
        self._queue: queue.Queue[tuple[str, list[dict[str, Any]]] | None] = queue.Queue(size)
        self._thread = threading.Thread(target=self._run, name="shadow", daemon=True)
        self._thread.start()

    def submit(self, request_id: str, records: list[dict[str, Any]]) -> bool:
        """Queue a job; False (dropped) when the challenger has fallen that far behind."""
        try:
            self._queue.put_nowait((request_id, records))
        except queue.Full:
            return False
        return True

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            self._score(*job)


class Server:
    """The state behind the app: models, router, log, shadow worker and metrics."""

    def __init__(self, settings: ServeConfig, loader: Loader) -> None:
        self.settings, self.loader = settings, loader
        self.router = Router(settings.mode, settings.canary)
        self.deployment: Deployment | None = None
        self.metrics = ServingMetrics()
        self.log: PredictionLog | None = None
        self.shadow: ShadowWorker | None = None
        self.reload_lock = asyncio.Lock()

    def load(self) -> Deployment:
        """Load every model the mode needs, completely, without touching what is served."""
        champion = Served.load(self.loader, self.settings.champion)
        challenger = None
        if self.settings.mode != "single" and self.settings.challenger:
            challenger = Served.load(self.loader, self.settings.challenger)
        schema = request_model(columns_of(champion.bundle.metadata), self.settings.max_records)
        return Deployment(champion, challenger, schema)

    def start(self) -> None:
        deployment = self.load()
        target = deployment.champion.bundle.metadata.get("target_schema") or {}
        self.metrics = ServingMetrics((target.get("min"), target.get("max")))
        self.metrics.canary_percent.set(self.router.percent)
        settings = self.settings.log
        self.log = PredictionLog(
            Path(settings.path),
            max_rows=settings.max_rows,
            max_age_days=settings.max_age_days,
            queue_size=settings.queue_size,
        )
        if self.router.shadow:
            self.shadow = ShadowWorker(self.score_shadow, self.settings.shadow_queue_size)
        self.deployment = deployment

    def stop(self) -> None:
        """Finish the shadow jobs, then write every queued log entry (a clean shutdown)."""
        if self.shadow is not None:
            self.shadow.close()
        if self.log is not None:
            self.log.close()

    def record(self, request_id: str, served: Served, arm: str, records: list[dict[str, Any]],
               *, scores: Scores, seconds: float) -> None:  # fmt: skip
        """Log the predictions and count them; cheap: the log serialises in its own thread."""
        probabilities = scores.probabilities
        assert self.log is not None  # noqa: S101 (started before the first request)
        self.log.log(Entry(
            request_id, datetime.now(UTC), served.name, served.version, arm, records,
            scores.predictions, probabilities.tolist() if probabilities is not None else None,
            served.predictor.classes, seconds * 1000,
        ))  # fmt: skip
        self.metrics.observe_predictions(
            served.version, arm, scores.predictions, served.predictor.classes is not None
        )

    def fail(self, request_id: str, version: str, arm: str, status: int, reason: str,
             *, seconds: float) -> None:  # fmt: skip
        """Log a request, or one arm's model call, that produced no prediction."""
        assert self.log is not None  # noqa: S101 (started before the first request)
        when = datetime.now(UTC)
        self.log.log(Failure(request_id, when, version, arm, status, reason, seconds * 1000))

    def score_shadow(self, request_id: str, records: list[dict[str, Any]]) -> None:
        """The challenger's turn, in the shadow thread: logged and counted, never returned."""
        deployment = self.deployment
        if deployment is None or deployment.challenger is None:
            return
        challenger = deployment.challenger
        started = time.perf_counter()
        try:
            scores = challenger.predictor.score_records(records)
        except Exception:  # the challenger's failure must never reach anyone
            self.metrics.model_errors.labels(challenger.version, SHADOW).inc()
            logger.exception("shadow challenger %s failed", challenger.version)
            seconds = time.perf_counter() - started
            self.fail(request_id, challenger.version, SHADOW, 500, MODEL_ERROR, seconds=seconds)
            return
        seconds = time.perf_counter() - started
        self.record(request_id, challenger, SHADOW, records, scores=scores, seconds=seconds)

    def score(self, request_id: str, deployment: Deployment, arm: Arm,
              records: list[dict[str, Any]]) -> tuple[Served, Arm, Scores, float]:  # fmt: skip
        """Score on the routed arm; a failing canary challenger falls back to the champion."""
        challenger = deployment.challenger
        if arm == CHALLENGER and challenger is not None:
            started = time.perf_counter()
            try:
                scores = challenger.predictor.score_records(records)
            except Exception:
                seconds = time.perf_counter() - started
                self.metrics.model_errors.labels(challenger.version, CHALLENGER).inc()
                logger.exception("canary challenger failed; the champion answers")
                self.observe_canary(CHALLENGER, ok=False, seconds=seconds)
                self.fail(request_id, challenger.version, CHALLENGER, 500, MODEL_ERROR,
                          seconds=seconds)  # fmt: skip
            else:
                seconds = time.perf_counter() - started
                self.observe_canary(CHALLENGER, ok=True, seconds=seconds)
                return challenger, CHALLENGER, scores, seconds
        started = time.perf_counter()
        try:
            scores = deployment.champion.predictor.score_records(records)
        except Exception:
            self.metrics.model_errors.labels(deployment.champion.version, CHAMPION).inc()
            self.observe_canary(CHAMPION, ok=False, seconds=time.perf_counter() - started)
            raise
        seconds = time.perf_counter() - started
        self.observe_canary(CHAMPION, ok=True, seconds=seconds)
        return deployment.champion, CHAMPION, scores, seconds

    def observe_canary(self, arm: Arm, *, ok: bool, seconds: float) -> None:
        reason = self.router.record(arm, ok, seconds)
        if reason is not None:
            self.metrics.canary_rollbacks.inc()
            self.metrics.canary_percent.set(0.0)
            logger.warning("canary rolled back to 0%%: %s", reason)

    async def reload(self) -> dict[str, Any]:
        """Load the configured sources again (e.g. a new champion alias), then swap."""
        async with self.reload_lock:
            old = self.deployment
            try:
                new = await anyio.to_thread.run_sync(self.load)
            except Exception:
                self.metrics.reloads.labels("failed").inc()
                raise
            self.deployment = new  # one reference: requests see the old or the new, whole
            old_challenger = old.challenger.version if old and old.challenger else None
            if new.challenger is not None and new.challenger.version != old_challenger:
                self.router.reset()
                self.metrics.canary_percent.set(self.router.percent)
            self.metrics.reloads.labels("ok").inc()
        before = {"champion": old.champion.version if old else None, "challenger": old_challenger}
        after = {
            "champion": new.champion.version,
            "challenger": new.challenger.version if new.challenger else None,
        }
        return {"before": before, "after": after}


async def reload_models(app: FastAPI, server: Server) -> dict[str, Any]:
    """Reload the models, then drop the cached OpenAPI schema (the request model may differ)."""
    versions = await server.reload()
    app.openapi_schema = None
    return versions


def reload_on_hangup(app: FastAPI, server: Server) -> Callable[[], None]:
    """Make SIGHUP reload the models (``kill -HUP <pid>``, ``docker kill -s HUP``).

    Signal handlers belong to the main thread's event loop: under uvicorn the handler is
    installed and the returned function removes it; elsewhere (a test client) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    running: set[asyncio.Task[None]] = set()  # keep a reference until the reload is done

    async def reload() -> None:
        try:
            versions = await reload_models(app, server)
        except Exception:  # the old models keep serving
            logger.exception("reload on SIGHUP failed, still serving the previous models")
        else:
            logger.info("reloaded on SIGHUP: %s", versions)

    def hangup() -> None:
        task = loop.create_task(reload())
        running.add(task)
        task.add_done_callback(running.discard)

    def stop_listening() -> None:
        loop.remove_signal_handler(signal.SIGHUP)

    loop.add_signal_handler(signal.SIGHUP, hangup)
    return stop_listening


class RequestMetrics:
    """Pure ASGI middleware: count and time every request by route, status, version and arm."""

    def __init__(self, app: Any, server: Server) -> None:
        self.app, self.server = app, server

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def observe(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = scope.get("route")
            state = scope.get("state") or {}
            self.server.metrics.observe_request(
                getattr(route, "path", "unmatched"), status, state.get("model_version", ""),
                state.get("arm", ""), time.perf_counter() - started,
            )  # fmt: skip


def create_app(settings: ServeConfig, loader: Loader) -> FastAPI:
    """The API for ``settings``; ``loader`` turns a model source into a loaded ``Bundle``."""
    server = Server(settings, loader)

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
    )
    app.state.server = server
    app.add_middleware(RequestMetrics, server=server)
    add_prediction_route(app, server)
    add_operation_routes(app, server)
    add_feedback_route(app, server)
    app.openapi = lambda: openapi(app, server)  # type: ignore[method-assign]
    return app


def add_prediction_route(app: FastAPI, server: Server) -> None:
    """POST /predict: the hot path."""
    settings = server.settings

    @app.post("/predict", responses={200: {"model": PredictResponse}, 413: {}, 422: {}})
    async def predict(request: Request) -> Response:
        """Predict for one or more records; the answer names the model version and the arm."""
        started = time.perf_counter()
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        deployment = server.deployment
        if deployment is None:
            return Response(status_code=503)
        champion = deployment.champion.version

        def refuse(status: int, found: list[Problem], arm: str = UNROUTED) -> Response:
            seconds = time.perf_counter() - started
            server.fail(request_id, champion, arm, status, found[0].rule, seconds=seconds)
            return problem_response(status, request_id, found)

        try:
            body = await read_body(request, settings.max_body_bytes)
            payload = deployment.request.model_validate_json(body)
        except PayloadTooLargeError:
            limit = f"the body is larger than {settings.max_body_bytes} bytes"
            return refuse(413, [Problem("body", "max_body_bytes", limit)])
        except ValidationError as error:
            found = problems(error)
            for item in found:
                server.metrics.validation_errors.labels(item.field.split(".")[-1], item.rule).inc()
            too_many = [item for item in found if item.rule == "max_records"]
            return refuse(413 if too_many else 422, too_many or found)
        records = [record.model_dump() for record in payload.records]
        arm = server.router.route(payload.entity_id or request_id)
        try:
            served, arm, scores, seconds = server.score(request_id, deployment, arm, records)
            content = answer(request_id, served, arm, scores)
        except ValueError as error:  # valid by the schema, yet the model cannot score it
            detail = f"the model cannot score these records: {str(error)[:200]}"
            return refuse(422, [Problem("records", "model_input", detail)], CHAMPION)
        except Exception:  # the champion failed: a logged 500 that names the request
            logger.exception("champion %s failed on request %s", champion, request_id)
            request.state.model_version, request.state.arm = champion, CHAMPION
            detail = "the model failed on these records; the error is in the server log"
            return refuse(500, [Problem("records", MODEL_ERROR, detail)], CHAMPION)
        request.state.model_version, request.state.arm = served.version, arm
        server.record(request_id, served, arm, records, scores=scores, seconds=seconds)
        if server.shadow is not None and not server.shadow.submit(request_id, records):
            server.metrics.shadow_dropped.inc()
        return Response(content, 200, {"x-request-id": request_id}, media_type=JSON)


def add_operation_routes(app: FastAPI, server: Server) -> None:
    """Health, readiness, metrics, model metadata and reload."""

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> Response:
        """Readiness: the models are loaded (503 until then)."""
        if server.deployment is None:
            return Response('{"status": "loading"}', 503, media_type=JSON)
        return Response('{"status": "ready"}', 200, media_type=JSON)

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus metrics."""
        if server.log is not None:
            server.metrics.log_dropped.set(server.log.dropped)
        return Response(server.metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/model")
    async def model() -> dict[str, Any]:
        """Metadata and lineage of the served models, and the routing state."""
        deployment = server.deployment
        if deployment is None:
            return {"status": "loading"}
        challenger = deployment.challenger
        return {
            "mode": server.settings.mode,
            "champion": deployment.champion.bundle.metadata,
            "challenger": challenger.bundle.metadata if challenger else None,
            "canary": {"percent": server.router.percent, "rollback": server.router.rollback},
            "fast_path": deployment.champion.predictor.fast,
        }

    @app.post("/admin/reload")
    async def reload(request: Request) -> Response:
        """Load the configured model sources again and swap them in with no dropped request."""
        token = os.environ.get(ADMIN_TOKEN_VARIABLE)
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token and not hmac.compare_digest(given, token):
            return Response('{"detail": "unauthorized"}', 401, media_type=JSON)
        try:
            versions = await reload_models(app, server)
        except Exception as error:  # the old models keep serving; say why
            logger.exception("reload failed")
            message = f"reload failed, still serving the previous models: {error}"
            return Response(json.dumps({"detail": message}), 503, media_type=JSON)
        return Response(json.dumps(versions), 200, media_type=JSON)


class FeedbackRequest(BaseModel):
    """The true label of one served record (``record`` indexes a multi-record request)."""

    request_id: str
    label: str | float
    record: int = Field(default=0, ge=0)


def add_feedback_route(app: FastAPI, server: Server) -> None:
    """POST /feedback: ground truth for monitoring (performance) and the next retrain."""
    log = Path(server.settings.log.path)
    store = FeedbackStore(store_path(log))

    @app.post("/feedback", status_code=201, responses={404: {}, 422: {}})
    async def feedback(body: FeedbackRequest) -> Response:
        """Store a label; 404 for an unknown request id, 422 for a label the target forbids."""
        deployment = server.deployment
        if deployment is None:
            return Response(status_code=503)
        target = deployment.champion.bundle.metadata.get("target_schema")
        value: str | float | None = body.label
        problem = None
        if target:
            value, problem = check_label(body.label, ColumnSpec.model_validate(target))
        if value is None:
            found = [Problem("label", "target_schema", problem or "not allowed")]
            return problem_response(422, body.request_id, found)
        key = (body.request_id, body.record)
        for attempt in range(FEEDBACK_LOOKUPS):  # the log writer may lag a fresh prediction
            if key in await anyio.to_thread.run_sync(logged_keys, log, [key]):
                break
            await asyncio.sleep(0.2 * (attempt + 1))
        else:
            detail = f"no served prediction with request id {body.request_id} record {body.record}"
            return Response(json.dumps({"detail": detail}), 404, media_type=JSON)
        label = Label(body.request_id, value, body.record, source="api")
        await anyio.to_thread.run_sync(store.add, [label])
        answer = {"request_id": body.request_id, "record": body.record, "label": value}
        return Response(json.dumps(answer), 201, media_type=JSON)


def openapi(app: FastAPI, server: Server) -> dict[str, Any]:
    """FastAPI's schema plus the request model generated for the loaded champion."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    if server.deployment is not None:
        body = server.deployment.request.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(body.pop("$defs", {}))
        components["PredictRequest"] = body
        schema["paths"]["/predict"]["post"]["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/PredictRequest"}}},
        }
    app.openapi_schema = schema
    return schema


def answer(request_id: str, served: Served, arm: str, scores: Scores) -> str:
    """The JSON body of a prediction, written directly (no response model on the hot path)."""
    classes = served.predictor.classes
    if scores.probabilities is not None and classes is not None:
        rows = scores.probabilities.tolist()
        predictions = [
            {"prediction": p, "probabilities": dict(zip(classes, row, strict=True))}
            for p, row in zip(scores.predictions, rows, strict=True)
        ]
    else:
        predictions = [{"prediction": p} for p in scores.predictions]
    model = {"name": served.name, "version": served.version}
    document = {"request_id": request_id, "model": model, "arm": arm, "predictions": predictions}
    return json.dumps(document, allow_nan=False)  # a non-finite score is a ValueError, not NaN


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

    from ...io.bundle import load_bundle

    if config.serve is None:
        raise ConfigError("no `serve` config: add `- serve: single` to conf/config.yaml defaults.")
    changes = {"champion": champion, "challenger": challenger, "host": host, "port": port}
    merged = {**config.serve.model_dump(), **{k: v for k, v in changes.items() if v is not None}}
    settings = ServeConfig.model_validate(merged)
    app = create_app(settings, lambda source: load_bundle(source, config))
    # The app's own messages (reloads, rollbacks, model errors) beside uvicorn's, on stderr.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False)
