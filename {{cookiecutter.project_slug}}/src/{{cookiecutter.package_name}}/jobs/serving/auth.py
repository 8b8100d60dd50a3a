"""Bearer tokens for the routes that change state: /admin/* and /feedback.

Each token comes from the environment when the app is built, never from a file: set
``SERVE_ADMIN_TOKEN`` (reload; it also opens /feedback) and ``SERVE_FEEDBACK_TOKEN`` (/feedback
only, for a labelling tool) whenever the API listens beyond localhost. A route is open while
none of the tokens that open it is set. A missing or unknown token is a 401; a feedback token
on an admin route is a 403. Tokens are compared in constant time.
"""

import hmac
import os
from dataclasses import dataclass
from typing import Literal

from ...core.request_schema import Problem

ADMIN_TOKEN_VARIABLE = "SERVE_ADMIN_TOKEN"  # noqa: S105 (the name of a variable, not a secret)
FEEDBACK_TOKEN_VARIABLE = "SERVE_FEEDBACK_TOKEN"  # noqa: S105 (the name of a variable)
ADMIN_SCHEME, FEEDBACK_SCHEME = "adminToken", "feedbackToken"  # OpenAPI security schemes
Scope = Literal["admin", "feedback"]


@dataclass(frozen=True)
class Refusal:
    """Why a request may not use a route: 401 (no or unknown token) or 403 (wrong token)."""

    status: int
    problem: Problem


@dataclass(frozen=True)
class Tokens:
    """The configured tokens (None: not set)."""

    admin: str | None = None
    feedback: str | None = None

    @classmethod
    def from_environment(cls) -> "Tokens":
        return cls(
            os.environ.get(ADMIN_TOKEN_VARIABLE) or None,
            os.environ.get(FEEDBACK_TOKEN_VARIABLE) or None,
        )

    def schemes(self, scope: Scope) -> list[str]:
        """The OpenAPI security schemes that open ``scope`` (none: the route is open)."""
        opening = {ADMIN_SCHEME: self.admin}
        if scope == "feedback":
            opening[FEEDBACK_SCHEME] = self.feedback
        return [scheme for scheme, token in opening.items() if token]

    def forbidden_possible(self, scope: Scope) -> bool:
        """Whether ``scope`` can answer 403: a token exists that is valid, but not here."""
        return scope == "admin" and self.admin is not None and self.feedback is not None

    def check(self, authorization: str | None, scope: Scope) -> Refusal | None:
        """None when ``authorization`` (the header) opens ``scope``, else the refusal."""
        if not self.schemes(scope):
            return None
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        # The header as sent (Starlette decodes it as Latin-1), compared as bytes: any text works.
        given = credentials.strip().encode("latin-1") if scheme.lower() == "bearer" else b""
        opening = [self.admin] if scope == "admin" else [self.admin, self.feedback]
        if any(_same(given, token) for token in opening):
            return None
        if _same(given, self.feedback):
            message = (
                f"the feedback token does not open /{scope} routes; use {ADMIN_TOKEN_VARIABLE}"
            )
            return Refusal(403, Problem("authorization", "forbidden", message))
        message = "send the route's token as `Authorization: Bearer <token>`"
        return Refusal(401, Problem("authorization", "unauthorized", message))


def _same(given: bytes, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(given, token.encode())
