"""POST /feedback: the true label of a served prediction, for monitoring and the next retrain.

The body is generated from the champion's target (``feedback_model``): the label is one of its
classes, or a finite number within its range, so the OpenAPI document says exactly what is
accepted. A label is stored only for a record the log holds a served prediction for, with the
pseudonym of that prediction's entity (so that erasing the entity erases the label too).
"""

from pathlib import Path

import anyio
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from ....core.errors import ProjectError
from ....core.labels import Label
from ....core.request_schema import Problem
from ....io.feedback_store import FeedbackStore, store_path
from ....io.prediction_log import served_entities
from ..auth import Tokens
from ..contract import FeedbackStored, errors, problem_response
from ..lifecycle import NOT_READY, Server
from ..request_ids import request_id as request_id_of
from .bodies import RejectedBodyError, read_body, refusals

SYNC_SECONDS = 2.0  # at most this long for the log writer to catch up with a fresh prediction
MAX_BODY_BYTES = 16_384  # a label is small; this bounds what is read before parsing


def add_feedback_route(app: FastAPI, server: Server, tokens: Tokens) -> None:
    log_file = Path(server.settings.log.path)
    store = FeedbackStore(store_path(log_file), max_age_days=server.settings.log.max_age_days)

    @app.post(
        "/feedback",
        status_code=201,
        responses={201: {"model": FeedbackStored}, **errors(400, 404, 413, 422, 503)},
    )
    async def feedback(request: Request) -> Response:
        """Store the label of a served record (a later label for the same record replaces it)."""
        request_id = request_id_of(request)
        refusal = tokens.check(request.headers.get("authorization"), "feedback")
        if refusal is not None:
            return problem_response(refusal.status, request_id, [refusal.problem])
        deployment, live = server.deployment, server.live
        if deployment is None or live is None:
            return problem_response(503, request_id, [NOT_READY])
        try:
            raw = await read_body(request, MAX_BODY_BYTES)
            with refusals():
                body = deployment.feedback.model_validate_json(raw)
        except RejectedBodyError as rejected:
            return problem_response(rejected.status, request_id, rejected.found)
        key = (body.request_id, body.record)
        served = await anyio.to_thread.run_sync(served_entities, log_file, [key])
        if not served:
            # Perhaps served a moment ago and still queued: wait for the writer, look again.
            await anyio.to_thread.run_sync(live.log.sync, SYNC_SECONDS)
            served = await anyio.to_thread.run_sync(served_entities, log_file, [key])
        if not served:
            message = f"no served prediction with request id {key[0]} and record {key[1]}"
            return problem_response(404, request_id, [Problem("request_id", "served", message)])
        label = Label(body.request_id, body.label, body.record, source="api")
        try:
            await anyio.to_thread.run_sync(store.add, [label], served)
        except ProjectError as error:  # e.g. its disk is full: the caller may retry later
            return problem_response(503, request_id, [Problem("label", "store", str(error))])
        stored = {"request_id": body.request_id, "record": body.record, "label": body.label}
        return JSONResponse(stored, 201)
