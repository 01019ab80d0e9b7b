"""What every router shares: the error responses it declares, paging parameters, ETags."""

from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from app.deps import AppRoute
from app.services.common import versioning


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="A stable machine-readable error code.")
    instance: str | None = None
    errors: list[FieldError] | None = None


_DESCRIPTIONS = {
    401: "No valid API key.",
    403: "The key's role may not do this.",
    404: "No such resource, or not visible to this key.",
    409: "The change conflicts with the resource's state.",
    410: "The endpoint is retired; the detail names what replaced it.",
    412: "If-Match does not name the current version.",
    413: "The request body is too large.",
    422: "Invalid input; `errors` names each field.",
    428: "If-Match is required.",
    429: "Too many requests: the key's rate limit, or failed authentications from this address; see Retry-After.",
    503: "The database is unreachable; retry later.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    # Any request may be throttled (the key's rate, failed authentications) or meet a database away.
    codes = sorted({401, 403, 422, 429, 503, *statuses})
    return {s: {"model": Problem, "description": _DESCRIPTIONS[s],
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for s in codes}


def make_router(prefix: str, tag: str) -> APIRouter:
    return APIRouter(prefix=prefix, tags=[tag], route_class=AppRoute, responses=problems())


Limit = Annotated[int, Query(ge=1, le=200, description="Page size (default 50, at most 200).")]
Cursor = Annotated[str | None, Query(max_length=512,
                                     description="`next_cursor` of the previous page; empty or absent: the first.")]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
PositiveId = Annotated[int, Field(ge=1, le=2**31 - 1)]


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = versioning.etag(version)


def json_response(content: Any, *, version: int | None = None) -> Response:
    """``content`` (plain values a service built in its response model's shape) encoded
    once, in Rust. The hot reads answer this way: FastAPI would validate and serialize
    their response model again, which cost more than the request's SQL. The route still
    declares ``response_model`` for the OpenAPI document, and the tests check the body
    against it."""
    response = Response(pydantic_core.to_json(content), media_type="application/json")
    if version is not None:
        set_etag(response, version)
    return response
