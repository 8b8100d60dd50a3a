"""Operating the API: liveness, readiness, Prometheus metrics, model metadata and reload."""

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from ....core.request_schema import Problem
from ..auth import Tokens
from ..contract import (
    PROMETHEUS,
    Health,
    ModelInfo,
    Readiness,
    Reloaded,
    errors,
    problem_response,
)
from ..lifecycle import NOT_READY, Server, reload_models
from ..request_ids import request_id

MAX_MESSAGE = 500  # characters of a load error a reload answers with (the rest is in the log)


def add_operation_routes(app: FastAPI, server: Server, tokens: Tokens) -> None:
    @app.get("/health", response_model=Health)
    async def health() -> dict[str, Any]:
        """Liveness: the process answers (200 even when degraded: a restart would not help)."""
        problems = server.problems()
        return {"status": "degraded" if problems else "ok", "problems": problems}

    @app.get(
        "/ready",
        responses={200: {"model": Readiness}, 503: {"model": Readiness, "description": "Loading."}},
    )
    async def ready() -> Response:
        """Readiness: the models are loaded (503 until then)."""
        if server.deployment is None:
            return JSONResponse({"status": "loading"}, 503)
        return JSONResponse({"status": "ready"})

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        responses={200: {"content": {PROMETHEUS: {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        """Prometheus metrics, in the text exposition format."""
        if server.live is not None:
            server.metrics.observe_log(server.live.log)
        return Response(server.metrics.render(), media_type=PROMETHEUS)

    @app.get(
        "/model",
        responses={200: {"model": ModelInfo}, **errors(503)},
    )
    async def model(request: Request) -> Response:
        """Metadata and lineage of the served models, and the routing state."""
        deployment = server.deployment
        if deployment is None:
            return problem_response(503, request_id(request), [NOT_READY])
        champion, challenger = (
            served.bundle.metadata.model_dump(mode="json") if served else None
            for served in (deployment.champion, deployment.challenger)
        )
        return JSONResponse(
            {
                "mode": server.settings.mode,
                "champion": champion,
                "challenger": challenger,
                "canary": {"percent": server.router.percent, "rollback": server.router.rollback},
                "fast_path": deployment.champion.predictor.fast,
                "engines": {
                    role: {
                        "engine": served.predictor.engine,
                        "reason": served.predictor.engine_reason,
                    }
                    for role, served in (
                        ("champion", deployment.champion),
                        ("challenger", deployment.challenger),
                    )
                    if served is not None
                },
            }
        )

    @app.post(
        "/admin/reload",
        responses={200: {"model": Reloaded}, **errors(503)},
    )
    async def reload(request: Request) -> Response:
        """Load the configured model sources again and swap them in with no dropped request."""
        refusal = tokens.check(request.headers.get("authorization"), "admin")
        if refusal is not None:
            return problem_response(refusal.status, request_id(request), [refusal.problem])
        try:
            versions = await reload_models(app, server)
        except Exception as error:  # logged; the old models keep serving: say why, no traceback
            message = f"reload failed, still serving the previous models: {error}"[:MAX_MESSAGE]
            problem = Problem("model", "reload_failed", message)
            return problem_response(503, request_id(request), [problem])
        return JSONResponse(versions)
