"""Request ids: one per request, checked before anything echoes it, on every response.

A caller may send ``x-request-id`` to correlate its logs with ours; it must follow
``RequestId``'s pattern (letters, digits, ``. _ : -``), so echoing it can never break a response
header or a log line. A bad one is refused with a 422 naming the header, under a fresh id; no
header gets a fresh id. Routes read it as ``request.state.request_id``; every response carries it.
"""

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request
from pydantic import TypeAdapter, ValidationError

from ...core.request_schema import Problem, RequestId
from .contract import REQUEST_ID_HEADER, problem_response

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
CHECK: TypeAdapter[str] = TypeAdapter(RequestId)
HEADER = REQUEST_ID_HEADER.encode()


def new_request_id() -> str:
    """32 random hex digits (a UUID4's randomness without building a UUID)."""
    return os.urandom(16).hex()


def request_id(request: Request) -> str:
    """The id ``RequestIds`` gave this request."""
    return str(request.state.request_id)


class RequestIds:
    """Pure ASGI middleware: check or make the request id, and add it to the response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == HEADER), None)
        identifier = new_request_id()
        problem = None
        if given is not None:
            try:
                identifier = CHECK.validate_python(given.decode("latin-1"))
            except ValidationError as error:
                message = error.errors(include_url=False)[0]["msg"]
                problem = Problem(REQUEST_ID_HEADER, "request_id", message)
        header = (HEADER, identifier.encode())

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        if problem is not None:
            await problem_response(422, identifier, [problem])(scope, receive, send_with_id)
            return
        scope.setdefault("state", {})["request_id"] = identifier
        await self.app(scope, receive, send_with_id)
