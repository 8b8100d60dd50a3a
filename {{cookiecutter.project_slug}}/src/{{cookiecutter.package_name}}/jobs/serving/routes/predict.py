"""POST /predict: the hot path.

A request does as little as it can: the body is read within a size limit and parsed straight
into the generated request model (pydantic, in Rust), records are scored without a DataFrame,
and the log and the shadow challenger get a queue entry each. The route is a ``DirectRoute``:
FastAPI documents it but does not handle its requests. Every refusal names the field
and the rule, and is logged under the request id. ``explain: true`` adds each record's
explanation (`core/explanations.py`), off the event loop; without it nothing more is done.
"""

import logging
import re
import time
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute

from ....core.predictor import Scores
from ....core.request_schema import Problem
from ....core.routing import CHAMPION
from ....core.served import UNROUTED
from ..contract import PredictResponse, errors, problem_response
from ..deployment import Served
from ..encoding import FastJSONResponse
from ..lifecycle import NOT_READY, Server
from ..recorder import MODEL_ERROR
from ..request_ids import request_id as request_id_of
from .bodies import RejectedBodyError, read_body, refusals

logger = logging.getLogger(__name__)
INDEX = re.compile(r"\[\d+\]")


def field_label(problem: Problem) -> str:
    """The field as a metric label: a schema column's name, never a client's unknown key or a
    record index (either would make one time series per distinct request)."""
    if problem.rule == "unknown_field":
        return "(unknown)"
    return INDEX.sub("", problem.field).split(".")[-1]


def answer(
    request_id: str,
    served: Served,
    arm: str,
    scores: Scores,
    explanations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The body of a prediction, as plain data (no response model on the hot path)."""
    classes = served.predictor.classes
    if scores.probabilities is not None and classes is not None:
        rows = scores.probabilities.tolist()
        predictions = [
            {"prediction": p, "probabilities": dict(zip(classes, row, strict=True))}
            for p, row in zip(scores.predictions, rows, strict=True)
        ]
    else:
        predictions = [{"prediction": p} for p in scores.predictions]
    if explanations is not None:
        for prediction, explanation in zip(predictions, explanations, strict=True):
            prediction["explanation"] = explanation
    model = {"name": served.name, "version": served.version}
    return {"request_id": request_id, "model": model, "arm": arm, "predictions": predictions}


async def explain(
    served: Served, records: list[dict[str, Any]], scores: Scores, top: int | None
) -> list[dict[str, Any]]:
    """Each record's explanation (``explain: true`` only), computed in a worker thread: it
    costs tens of milliseconds, and the event loop keeps serving other requests meanwhile."""
    explainer = served.explainer
    if explainer is None:
        raise UnexplainableError(served.version)
    frame = served.predictor.frame(records)
    found = await anyio.to_thread.run_sync(explainer.explain, frame, scores.predictions)
    return [found.record(row, top) for row in range(len(records))]


class UnexplainableError(Exception):
    """The model that answered has no background rows to explain against."""

    def __init__(self, version: str) -> None:
        super().__init__(
            f"model version {version} cannot explain: it has no reference rows to explain "
            "against (its bundle has no reference/); serve a version evaluated with one"
        )


class DirectRoute(APIRoute):
    """A route whose endpoint takes the ``Request`` and returns the ``Response`` itself.

    FastAPI still documents it (its ``responses``, its docstring), but skips the per-request
    steps the endpoint does not use: solving dependencies, parsing the body, serialising a
    return value. Measured in process, those were about 15% of a /predict request's time.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint


def add_prediction_route(app: FastAPI, server: Server) -> None:
    settings = server.settings

    async def predict(request: Request) -> Response:
        """Predict for one or more records; the answer names the model version and the arm."""
        started = time.perf_counter()
        request_id = request_id_of(request)
        deployment, live = server.deployment, server.live
        if deployment is None or live is None:
            return problem_response(503, request_id, [NOT_READY])
        champion = deployment.champion.version

        def refuse(status: int, found: list[Problem], arm: str = UNROUTED) -> Response:
            seconds = time.perf_counter() - started
            live.recorder.failed(request_id, champion, arm, status, found[0].rule, seconds=seconds)
            return problem_response(status, request_id, found)

        try:
            body = await read_body(request, settings.max_body_bytes)
            with refusals():
                payload = deployment.request.model_validate_json(body)
        except RejectedBodyError as rejected:
            for item in rejected.found:
                server.metrics.validation_errors.labels(field_label(item), item.rule).inc()
            return refuse(rejected.status, rejected.found)
        records = [record.model_dump() for record in payload.records]
        arm = server.router.route(payload.entity_id or request_id)
        try:
            served, arm, scores, seconds = live.rollout.score(request_id, deployment, arm, records)
            explained = None
            if payload.explain:
                explained = await explain(served, records, scores, payload.explain_top)
            response = FastJSONResponse(answer(request_id, served, arm, scores, explained))
        except UnexplainableError as error:
            return refuse(422, [Problem("explain", "explainable", str(error))], arm)
        except ValueError as error:  # valid by the schema, yet the model cannot score it
            detail = f"the model cannot score these records: {str(error)[:200]}"
            return refuse(422, [Problem("records", "model_input", detail)], CHAMPION)
        except Exception:  # the champion failed: a logged 500 that names the request
            logger.exception("champion %s failed on request %s", champion, request_id)
            request.state.model_version, request.state.arm = champion, CHAMPION
            detail = "the model failed on these records; the error is in the server log"
            return refuse(500, [Problem("records", MODEL_ERROR, detail)], CHAMPION)
        request.state.model_version, request.state.arm = served.version, arm
        live.recorder.answered(
            request_id,
            served,
            arm,
            records,
            scores=scores,
            seconds=seconds,
            entity_id=payload.entity_id,
        )
        live.rollout.shadow_copy(request_id, deployment, records)
        return response

    app.router.add_api_route(
        "/predict",
        predict,
        methods=["POST"],
        responses={200: {"model": PredictResponse}, **errors(400, 413, 422, 500, 503)},
        route_class_override=DirectRoute,
    )
