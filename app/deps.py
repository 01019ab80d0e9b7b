"""FastAPI dependencies: the session, the principal, permissions, If-Match, idempotency."""

import json
import types
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app import plainsql
from app.config import Settings
from app.db import get_session
from app.errors import Forbidden, InvalidInput, TooManyRequests, Unauthorized
from app.services.access import auth, idempotency, ratelimit
from app.services.access.permissions import MATRIX, Action, Principal, allows

Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_read_session(request: Request, session: Session) -> AsyncIterator[AsyncSession]:
    """A session on the read replica (``PIPELINE_DATABASE_READ_URL``), read-only and rolled
    back at the end; the request's own session when no replica is configured."""
    replica = request.app.state.read_sessionmaker
    if replica is None:
        yield session
        return
    async with replica() as read:
        try:
            yield read
        finally:
            await read.rollback()


ReadSession = Annotated[AsyncSession, Depends(get_read_session, scope="function")]


async def get_plain_connection(request: Request) -> AsyncIterator[AsyncConnection | plainsql.Pooled]:
    """For a read made of plain statements only: a bare connection (``plainsql.connect``) on
    the primary, as a read whose ETag a change must match needs (a replica may lag). No
    session."""
    async with plainsql.connect(request.app.state.engine) as connection:
        # Lent to the principal's statements too when the route asks for it first: one
        # checkout a request instead of two.
        request.state.plain_connection = connection
        try:
            yield connection
            # Reached only when the route succeeded, as a session's commit would be.
            await _after_success(request)
        finally:
            request.state.plain_connection = None


PlainConnection = Annotated[AsyncConnection | plainsql.Pooled, Depends(get_plain_connection, scope="function")]


async def get_read_core_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """For a read of Core statements built per request (a filtered list): a SQLAlchemy
    connection, whose compiled cache serves each statement's shape, on the read replica or
    the primary. No session."""
    async with (request.app.state.read_engine or request.app.state.engine).connect() as connection:
        request.state.read_connection = connection
        try:
            yield connection
        finally:
            request.state.read_connection = None
    # Once the read's connection is back (SQLite: its read no longer holds the file), on the
    # primary; reached only when the route succeeded.
    await _after_success(request)


ReadCoreConnection = Annotated[AsyncConnection, Depends(get_read_core_connection, scope="function")]


def _before_commit(request: Request, hook: Callable[[plainsql.On], Awaitable[None]]) -> None:
    if not hasattr(request.state, "before_commit"):
        request.state.before_commit = []
    request.state.before_commit.append(hook)


async def current_principal(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    # Once a request: a route may reach it through ``require`` and by itself too, and each
    # call would count the request against the key's limit again.
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    # Its statements are plain and each commits by itself: a bare connection serves them
    # without a session's cost, and the request's session (if it has one) starts after.
    shared = getattr(request.state, "plain_connection", None)
    if shared is not None:
        return await principal_of(request, shared, authorization)
    async with plainsql.connect(request.app.state.engine) as connection:
        return await principal_of(request, connection, authorization)


async def principal_of(request: Request, on: AsyncConnection | plainsql.Pooled, authorization: str | None) -> Principal:
    """Who asks (401 if nobody valid; 429 after a burst of failures from one address), then
    counted against the key's rate limit (429).

    The key is checked first, so a request that does not authenticate writes nothing.
    The key's last use, when due, is written when the request's session commits, or, for
    a request without a session, once its route has succeeded (``require(session=False)``)."""
    settings: Settings = request.app.state.settings
    resolution = timedelta(seconds=settings.key_last_used_resolution_seconds)
    try:
        principal, due = await auth.authenticate(on, authorization, last_used_resolution=resolution)
    except Unauthorized:
        failures: ratelimit.FailedAuthentication = request.app.state.auth_failures
        verdict = failures.fail(request.client.host if request.client else "unknown")
        if not verdict.allowed:
            raise TooManyRequests(
                f"More than {failures.limit} failed authentications from this address this minute.",
                code="authentication_throttled",
                headers={"Retry-After": str(verdict.retry_after_seconds)}) from None
        raise
    await ratelimit.check(on, principal.key_id, limit=settings.rate_limit_per_minute)
    request.state.principal = principal
    if due and principal.key_id is not None:
        key_id = principal.key_id

        async def _touch(on: plainsql.On) -> None:
            await auth.touch(on, key_id, last_used_resolution=resolution)

        _before_commit(request, _touch)
    return principal


async def _after_success(request: Request) -> None:
    """The hooks ``principal_of`` left for a commit, in a request that has no session, once
    its route has succeeded: the connection a sessionless route reads on runs them as it
    closes, and ``AppRoute`` runs whatever is left (a route with neither)."""
    pending = getattr(request.state, "before_commit", None)
    if not pending or getattr(request.state, "db", None) is not None:
        return  # nothing due, or the request's session runs them at its commit
    request.state.before_commit = []
    shared = getattr(request.state, "plain_connection", None)
    if shared is not None:
        for hook in pending:
            await hook(shared)
        return
    async with plainsql.connect(request.app.state.engine) as connection:
        for hook in pending:
            await hook(connection)


def permit(principal: Principal, action: Action) -> None:
    """403 unless the principal's role may do ``action``."""
    if not allows(principal, action):
        roles = ", ".join(sorted(MATRIX[action]))
        raise Forbidden(f"The role {principal.role} may not {action}; allowed: {roles}.")


def authorise(request: Request, principal: Principal, action: Action) -> None:
    """Every check a route's authorisation makes once the principal is known: both kinds of
    ``require`` run it, so a check added here reaches every route."""
    permit(principal, action)
    duplicate = getattr(request.state, "duplicate_json_key", None)
    if duplicate is not None:  # after who asks, before what the body says
        raise InvalidInput.field(duplicate, "is given more than once in the JSON body; give each key once",
                                 code="duplicate_key")


def require(action: Action, *, session: bool = True) -> Callable[..., Any]:
    """A dependency that yields the principal if its role may do ``action``, else 403.

    ``session=False`` is for reads that run on a connection of their own (no session): a
    session created and committed for nothing cost about a fifth of GET by id's CPU. Such a
    route takes no Idempotency-Key (only a POST reads it) and writes the key's last use
    after it succeeds (``_after_success``), on its plain connection or one of its own.

    Without a session it is one plain function that reads the header itself: each
    dependency FastAPI solves, and each one that yields (an exit stack and a shielded
    cancel scope a request), cost GET by id CPU that its SQL did not."""
    if not session:
        async def sessionless(
            request: Request,
            authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
        ) -> Principal:
            principal = await current_principal(request, authorization)
            authorise(request, principal, action)
            return principal

        sessionless.__name__ = f"require_{action.name}"
        return sessionless

    async def dependency(
        request: Request,
        principal: Annotated[Principal, Depends(current_principal, scope="function")],
        session: Session,
        # Checked (check_key) after the role, so that a role that may not act hears 403 first.
        idempotency_key: Annotated[str | None, Header(
            description="Makes a POST safe to retry: the same key and body return the first response.",
            json_schema_extra={"maxLength": idempotency.MAX_KEY_LENGTH, "pattern": r"^[\x20-\x7e]+$"},
        )] = None,
    ) -> Principal:
        authorise(request, principal, action)
        if request.method == "POST" and idempotency_key is not None and principal.key_id is not None:
            key = idempotency.check_key(idempotency_key)
            # The query is part of what is asked (e.g. an import's dry_run), so part of the fingerprint.
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            fingerprint = idempotency.request_hash(request.method, target, await request.body())
            settings: Settings = request.app.state.settings
            request.state.idempotency_claim = await idempotency.claim(
                session, principal, key=key, fingerprint=fingerprint,
                ttl=timedelta(hours=settings.idempotency_ttl_hours))
        return principal

    dependency.__name__ = f"require_{action.name}"
    return dependency


def Allowed(action: Action, *, session: bool = True) -> Any:
    return Depends(require(action, session=session), scope="function")


async def _if_match(if_match: Annotated[str | None, Header(
        alias="If-Match", description="The ETag of the version being changed. Required: 428 without it.")] = None,
) -> str | None:
    return if_match


# Checked by the service (``versioning.check``) rather than here, so that a request is
# refused in the order 401, 403, 404, 428, 412: who asks comes before what they send.
IfMatch = Annotated[str | None, Depends(_if_match)]


class AppRoute(APIRoute):
    """Refuses repeated JSON keys, and stores the response of an idempotent POST in the
    request's transaction."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        # Fixed by the route's code, so found once: the query parameters that take one value.
        self.single_valued_query_params = frozenset(
            param.alias for param in _query_params(self.dependant) if not _takes_many(param.field_info.annotation))

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            if request.scope.get("query_string") and self.single_valued_query_params:
                refuse_repeated_query(request, self.single_valued_query_params)
            if request.method == "POST" and "idempotency-key" in request.headers:
                # Keep the body (bounded by the request layer) so that both the form or
                # JSON parser and the idempotency fingerprint can read it.
                await request.body()
            if request.method in ("POST", "PATCH", "PUT", "DELETE") and _is_json(request.headers.get("content-type")):
                body = await request.body()
                if body:
                    try:
                        _, duplicate = parse_json(body)
                    except ValueError:
                        pass  # not JSON: FastAPI's parser reports it
                    else:
                        request.state.duplicate_json_key = duplicate
            response = await handler(request)
            # Reached only when the route succeeded. A connection the route still holds runs
            # them as it closes (``get_plain_connection``, ``get_read_core_connection``).
            if getattr(request.state, "plain_connection", None) is None \
                    and getattr(request.state, "read_connection", None) is None:
                await _after_success(request)
            claim = getattr(request.state, "idempotency_claim", None)
            if claim is not None and 200 <= response.status_code < 300:
                body = idempotency.redact(bytes(response.body), getattr(request.state, "never_store", ()))
                await idempotency.complete(request.state.db, claim, status_code=response.status_code, body=body,
                                           headers=dict(response.headers))
            return response

        return route_handler


def _query_params(dependant: Dependant) -> list[Any]:
    """The query parameters of a route's endpoint and of every dependency it has."""
    return [*dependant.query_params, *(p for d in dependant.dependencies for p in _query_params(d))]


def _takes_many(annotation: Any) -> bool:
    """Whether a parameter's type is a list (or tuple, set), optional or not."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _takes_many(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_takes_many(arg) for arg in typing.get_args(annotation))
    target = origin or annotation
    return isinstance(target, type) and issubclass(target, (list, tuple, set, frozenset, Sequence)) \
        and not issubclass(target, (str, bytes))


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "application/json").partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def parse_json(body: bytes) -> tuple[Any, str | None]:
    """The JSON document, and the dotted path of a key some object repeats (or None).

    Python's parser, like most, keeps the last of repeated keys silently: ``{"role":
    "viewer", "role": "admin"}`` would be read as admin while a proxy or a log that keeps the
    first reads viewer. A body that repeats a key is refused instead."""
    repeated: list[tuple[int, str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items) and not repeated:
            seen: set[str] = set()
            key = next(k for k, _ in items if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            repeated.append((id(obj), key))
        return obj

    document = json.loads(body, object_pairs_hook=pairs)
    if not repeated:
        return document, None
    target, key = repeated[0]

    def path_to(node: Any, path: tuple[str, ...]) -> tuple[str, ...] | None:
        if isinstance(node, dict):
            if id(node) == target:
                return (*path, key)
            children: Any = node.items()
        elif isinstance(node, list):
            children = ((str(i), v) for i, v in enumerate(node))
        else:
            return None
        for name, child in children:
            found = path_to(child, (*path, name))
            if found is not None:
                return found
        return None

    return document, ".".join(path_to(document, ()) or (key,))


async def replay(request: Request, exc: Exception) -> Response:
    """Answer a retried POST with the response its first attempt got."""
    assert isinstance(exc, idempotency.Replay)
    headers = {**exc.headers, "Idempotent-Replayed": "true"}
    return Response(content=exc.body, status_code=exc.status_code, headers=headers)


def refuse_repeated_query(request: Request, single: frozenset[str]) -> None:
    """422 when a query parameter that takes one value is given several times.

    Frameworks silently keep the last value; a client that sent two filters should learn
    that only list filters (``stage=a&stage=b``) take several. ``AppRoute`` checks it
    before its route's dependencies, rather than an app-wide dependency that every route
    solved on every request, with or without a query.
    """
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in single:
            if name in seen:
                raise InvalidInput.field(name, "may be given only once")
            seen.add(name)


# Every dependency is ``async def``: FastAPI runs a plain ``def`` one in a worker thread, a
# thread hop per request (GET /healthz served 3,357 requests/s with one, 6,115 without).
async def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


__all__ = ["Allowed", "AppRoute", "IfMatch", "PlainConnection", "ReadCoreConnection", "ReadSession", "Session",
           "current_principal", "permit", "principal_of", "settings_of"]
