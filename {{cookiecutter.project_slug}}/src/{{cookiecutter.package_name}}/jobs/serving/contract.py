"""The API's contract: the body of every answer, and the OpenAPI document that lists them all.

Every status a route can answer is documented with its body and content type, so a client
generated from ``/openapi.json`` is right, and a schemathesis run in the tests holds the code to
it. Errors share one shape (``ProblemResponse``: the request id and, per broken rule, the
field, the rule and a message; never a stack trace). The document is generated from the
loaded champion: its request model, the label its target allows, and the security of the
routes whose token is configured; a reload makes it be generated again.
"""

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter

from ...core.bundle_metadata import BundleMetadata
from ...core.request_schema import Problem, RequestId
from ...core.routing import Arm
from .auth import (
    ADMIN_SCHEME,
    ADMIN_TOKEN_VARIABLE,
    FEEDBACK_SCHEME,
    FEEDBACK_TOKEN_VARIABLE,
    Scope,
    Tokens,
)

REQUEST_ID_HEADER = "x-request-id"
PROMETHEUS = "text/plain; version=0.0.4"
# What each error status means, wherever it is answered; a route lists the ones it can answer.
ERRORS = {
    400: "The body is not JSON (rule `json`).",
    401: "No token, or an unknown one (`Authorization: Bearer <token>`).",
    403: "A valid token that does not open this route.",
    404: "No served prediction has this request id and record.",
    413: "Too large: a body over the size limit, or more records than `max_records`.",
    422: "A field (or the x-request-id header) breaks a rule; `detail` names it and the rule.",
    500: "The model failed on these records; the error is in the server log.",
    503: "Not ready (the models are loading), or a store or reload failed.",
}
GUARDED: dict[str, Scope] = {
    "/admin/reload": "admin",
    "/admin/entities/{entity_id}": "admin",
    "/feedback": "feedback",
}
VARIABLES = {
    ADMIN_SCHEME: f"${ADMIN_TOKEN_VARIABLE}",
    FEEDBACK_SCHEME: f"${FEEDBACK_TOKEN_VARIABLE}",
}


class ProblemDetail(BaseModel):
    field: str = Field(description="Where: `records[3].island`, `body`, `x-request-id`...")
    rule: str = Field(description="The broken rule: `categories`, `max`, `json`...")
    message: str


class ProblemResponse(BaseModel):
    """Every refusal and error of the API."""

    request_id: RequestId
    detail: list[ProblemDetail]


class ModelId(BaseModel):
    name: str
    version: str


class Contribution(BaseModel):
    column: str = Field(description="An input column, as the request names it.")
    contribution: float = Field(description="What its value added to the output (signed).")


class Explanation(BaseModel):
    """Why this prediction: ``base_value`` + the contributions + ``other`` = ``value``."""

    output: str = Field(
        description="What is explained: `prediction` (a regressor), or `proba_<class>`, the "
        "probability of the predicted class (a classifier)."
    )
    base_value: float = Field(description="The output's mean over the model's reference rows.")
    value: float = Field(description="The output for this record.")
    contributions: list[Contribution] = Field(
        description="Per input column, largest absolute contribution first."
    )
    other: float = Field(description="The sum of the contributions left out by `explain_top`.")


class Prediction(BaseModel):
    prediction: str | float
    probabilities: dict[str, float] = Field(
        default_factory=dict, description="Per class; a classifier's only (absent otherwise)."
    )
    explanation: Explanation | None = Field(
        default=None, description="Only when the request asks for it (`explain: true`)."
    )


class PredictResponse(BaseModel):
    """The answer of POST /predict: one prediction per record, in order."""

    request_id: RequestId
    model: ModelId
    arm: Arm
    predictions: list[Prediction]


class FeedbackStored(BaseModel):
    request_id: RequestId
    record: int
    label: str | float


class Health(BaseModel):
    """Liveness: the process answers; ``degraded`` when the prediction log cannot be written."""

    status: Literal["ok", "degraded"]
    problems: list[str] = Field(description="What is wrong (empty when ok).")


class Readiness(BaseModel):
    status: Literal["ready", "loading"]


class Canary(BaseModel):
    percent: float
    rollback: str | None = Field(description="Why the canary was rolled back (None: it was not).")


class Engine(BaseModel):
    engine: Literal["onnx", "sklearn"] = Field(description="What scores this model's requests.")
    reason: str = Field(description="Why: the verified graph, or why scikit-learn serves.")


class ModelInfo(BaseModel):
    mode: Literal["single", "shadow", "canary"]
    champion: BundleMetadata
    challenger: BundleMetadata | None
    canary: Canary
    fast_path: bool = Field(description="The champion is scored without a DataFrame.")
    engines: dict[str, Engine] = Field(description="Per role (champion, challenger).")


class Versions(BaseModel):
    champion: str | None
    challenger: str | None


class Reloaded(BaseModel):
    before: Versions
    after: Versions


class Erased(BaseModel):
    """What an erasure removed; the same is recorded in ``erasures.jsonl`` beside the log."""

    entity: str = Field(description="The entity id's pseudonym (keyed hash), never the id.")
    when: str
    who: str
    prediction_log: int = Field(description="Rows deleted from the prediction log.")
    feedback: int = Field(description="Labels deleted from the feedback store.")
    review_exports: dict[str, int] = Field(description="Rows removed, per review export file.")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of a route (FastAPI's ``responses``)."""
    return {
        status: {"model": ProblemResponse, "description": ERRORS[status]} for status in statuses
    }


def problem_response(status: int, request_id: str, found: list[Problem]) -> JSONResponse:
    """A refusal or an error, as every route answers one."""
    detail = [{"field": p.field, "rule": p.rule, "message": p.message} for p in found]
    return JSONResponse({"request_id": request_id, "detail": detail}, status)


def document(app: FastAPI, tokens: Tokens, bodies: dict[str, type[BaseModel]]) -> dict[str, Any]:
    """The OpenAPI document: FastAPI's, plus what depends on the loaded champion and tokens.

    ``bodies`` are the request models by path (generated per model: none before it loads).
    """
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    components = schema.setdefault("components", {})
    models = components.setdefault("schemas", {})
    paths: dict[str, dict[str, Any]] = schema["paths"]
    for path, model in bodies.items():
        body = model.model_json_schema(ref_template="#/components/schemas/{model}")
        models.update(body.pop("$defs", {}))
        models[model.__name__] = body
        reference = {"$ref": f"#/components/schemas/{model.__name__}"}
        paths[path]["post"]["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": reference}},
        }
    problem = {"application/json": {"schema": {"$ref": "#/components/schemas/ProblemResponse"}}}
    for operation in (op for methods in paths.values() for op in methods.values()):
        operation.setdefault("parameters", []).append(_request_id_parameter())
        responses = operation["responses"]
        responses.setdefault("422", {"description": ERRORS[422], "content": problem})
        for response in responses.values():
            response.setdefault("headers", {})[REQUEST_ID_HEADER] = _request_id_header()
    _secure(paths, components, tokens, problem)
    # Stateful tests (and readers) follow the request id from a prediction to its label.
    paths["/predict"]["post"]["responses"]["200"]["links"] = {
        "LabelThePrediction": {
            "operationId": "feedback",
            "requestBody": {"request_id": "$response.body#/request_id"},
            "description": "The true label of a record of this prediction.",
        }
    }
    return schema


def _request_id_parameter() -> dict[str, Any]:
    return {
        "name": REQUEST_ID_HEADER,
        "in": "header",
        "required": False,
        "description": "The request's id, kept in the log and echoed back (default: a new one).",
        "schema": TypeAdapter(RequestId).json_schema(),
    }


def _request_id_header() -> dict[str, Any]:
    schema = TypeAdapter(RequestId).json_schema()
    return {"description": "The request's id.", "required": True, "schema": schema}


def _secure(
    paths: dict[str, Any], components: dict[str, Any], tokens: Tokens, problem: dict[str, Any]
) -> None:
    """Security requirements, 401 and 403 on the routes whose tokens are configured."""
    schemes = {}
    for path, scope in GUARDED.items():
        names = tokens.schemes(scope)
        if not names:
            continue
        for operation in paths[path].values():
            operation["security"] = [{name: []} for name in names]
            statuses = [401, 403] if tokens.forbidden_possible(scope) else [401]
            for status in statuses:
                operation["responses"][str(status)] = {
                    "description": ERRORS[status],
                    "content": problem,
                }
        for name in names:
            schemes[name] = {"type": "http", "scheme": "bearer", "description": VARIABLES[name]}
    if schemes:
        components["securitySchemes"] = schemes
