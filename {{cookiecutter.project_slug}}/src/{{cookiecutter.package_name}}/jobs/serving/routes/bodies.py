"""Request bodies: read within a size limit, then parsed straight into a generated model.

The body is refused before it is parsed when it is over the limit (413, read no further than
the limit); then it is parsed and validated in one step (pydantic, in Rust). The statuses:
413 for too much (bytes, or records beyond ``max_records``), 400 for what is not JSON, 422 for
a field that breaks a rule.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from pydantic import ValidationError

from ....core.request_schema import Problem, problems

TOO_MANY = "max_records"
NOT_JSON = "json"


class RejectedBodyError(Exception):
    """A body refused with ``status``, for the ``found`` broken rules."""

    def __init__(self, status: int, found: list[Problem]) -> None:
        super().__init__(status, found)
        self.status, self.found = status, found


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes without reading them all."""
    too_large = RejectedBodyError(413, [Problem("body", "max_body_bytes", f"over {limit} bytes")])
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@contextmanager
def refusals() -> Iterator[None]:
    """Around parsing a body: its ``ValidationError`` becomes a ``RejectedBodyError`` with the
    status and every broken rule."""
    try:
        yield
    except ValidationError as error:
        found = problems(error)
        for rule, status in ((NOT_JSON, 400), (TOO_MANY, 413)):
            matching = [item for item in found if item.rule == rule]
            if matching:
                raise RejectedBodyError(status, matching) from None
        raise RejectedBodyError(422, found) from None
