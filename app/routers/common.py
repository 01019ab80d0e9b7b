"""What every router shares: the error responses it declares, paging parameters, ETags."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Match, Route
from starlette.types import Scope

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


class _InRangeId(Convertor[int]):
    """One to nine digits without a leading zero: an ``Id`` for certain. Any other segment
    (0, 007, ten digits, letters) goes on to the FastAPI route, which refuses it as usual."""

    regex = "[1-9][0-9]{0,8}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("in_range_id", _InRangeId())


class _PlainRoute(Route):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match != Match.NONE:
            # FastAPI's router records the route for its own routes only; the access log and
            # the metrics name every request by it.
            child_scope["route"] = self
        return match, child_scope


def plain_get(path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> Route:
    """A GET answered without FastAPI's routing and dependency solving. For GET by id they
    cost more CPU than the read itself: 0.70 ms a request through the FastAPI route and a
    session, about 0.4 ms as this route on a bare connection (one process under wrk).

    It goes before the FastAPI route of the same path, which documents it in the OpenAPI
    document and answers what it does not match."""
    route = _PlainRoute(path, endpoint, methods=["GET"])
    route.methods = {"GET"}  # not HEAD, which Starlette adds: the API answers HEAD with 405
    return route


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
