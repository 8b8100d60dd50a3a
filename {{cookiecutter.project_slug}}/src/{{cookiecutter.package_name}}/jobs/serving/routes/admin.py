"""DELETE /admin/entities/{entity_id}: erase one entity's rows, as `feedback forget` does.

An erasure cannot be undone, so this route is never open: without ``SERVE_ADMIN_TOKEN`` it
answers 403 (the other admin routes are open on a server without tokens). The log's queue is
written first, so a prediction served a moment ago is erased too; the deleting runs off the
event loop, and is recorded (pseudonym, counts, who, when) in ``erasures.jsonl`` beside the
log (`io/erasure.py`).
"""

from dataclasses import asdict
from functools import partial
from pathlib import Path

import anyio
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from ....core.errors import ProjectError
from ....core.privacy import PseudonymKeyError
from ....core.request_schema import MAX_TEXT, Problem
from ....io import erasure
from ..auth import ADMIN_TOKEN_VARIABLE, Tokens
from ..contract import Erased, ProblemResponse, errors, problem_response
from ..lifecycle import NOT_READY, Server
from ..request_ids import request_id as request_id_of

SYNC_SECONDS = 5.0  # at most this long for the log writer to write what is queued
WHO = "api (admin token)"  # who erased, as the erasure record names it
NO_TOKEN = (
    f"erasure over the API needs {ADMIN_TOKEN_VARIABLE}: set it on the server and send it as "
    "`Authorization: Bearer <token>` (or run `feedback forget --entity-id ID`)"
)
TOO_LONG = Problem("entity_id", "max_length", f"an entity id has 1 to {MAX_TEXT} characters")


def add_admin_routes(app: FastAPI, server: Server, tokens: Tokens) -> None:
    log_file = Path(server.settings.log.path)
    no_token = {"model": ProblemResponse, "description": f"No {ADMIN_TOKEN_VARIABLE} is set."}

    def refused(request: Request, request_id: str, entity_id: str) -> Response | None:
        """The answer to a caller who may not erase this id (None: the caller may)."""
        if tokens.admin is None:
            return problem_response(403, request_id, [Problem("authorization", "token", NO_TOKEN)])
        refusal = tokens.check(request.headers.get("authorization"), "admin")
        if refusal is not None:
            return problem_response(refusal.status, request_id, [refusal.problem])
        if not 0 < len(entity_id) <= MAX_TEXT:
            return problem_response(422, request_id, [TOO_LONG])
        return None

    @app.delete(
        "/admin/entities/{entity_id:path}",
        responses={200: {"model": Erased}, 403: no_token, **errors(422, 503)},
    )
    async def erase_entity(entity_id: str, request: Request) -> Response:
        """Erase every row about an entity (the ``entity_id`` its requests were sent with) from
        the prediction log, the labels and the review exports; the counts are recorded, never
        the id."""
        request_id = request_id_of(request)
        refusal = refused(request, request_id, entity_id)
        if refusal is not None:
            return refusal
        live = server.live
        if live is None:
            return problem_response(503, request_id, [NOT_READY])
        try:
            entity = server.privacy.pseudonym(entity_id)
        except PseudonymKeyError as error:
            return problem_response(503, request_id, [Problem("entity_id", "pii_key", str(error))])
        await anyio.to_thread.run_sync(live.log.sync, SYNC_SECONDS)
        try:
            erased = await anyio.to_thread.run_sync(
                partial(erasure.erase_entity, log_file, entity, who=WHO)
            )
        except ProjectError as error:  # e.g. an unreadable export: nothing was recorded
            return problem_response(503, request_id, [Problem("entity_id", "erase", str(error))])
        return JSONResponse(asdict(erased))
