"""Errors, answered as RFC 9457 ``application/problem+json`` with a stable ``code``.

    AppError                        (status, code, title, detail)
    ├── Unauthorized         401    unauthorized, key_revoked, key_expired,
    │                               signature_required, signature_malformed, signature_expired, signature_mismatch
    ├── Forbidden            403    forbidden, correction_requires_admin, signing_secret_not_set
    ├── NotFound             404    not_found
    ├── Conflict             409    conflict, invalid_transition, project_archived, code_taken, key_taken,
    │                               name_taken, key_in_use, ...,
    │                               event_id_reused, not_an_integration_key, delivery_pending
    ├── PreconditionFailed   412    version_mismatch
    ├── Gone                 410    fdi_receipts_retired
    ├── PayloadTooLarge      413    payload_too_large, expanded_size_too_large
    ├── InvalidInput         422    validation_error, idempotency_key_reused, invalid_cursor, webhook_url_refused,
    │                               duplicate_key,
    │                               unsupported_file, ledger_header, ledger_invalid
    ├── PreconditionRequired 428    if_match_required
    ├── TooManyRequests      429    rate_limited, authentication_throttled
    └── ServiceUnavailable   503    database_unavailable, query_timeout

Request validation errors (422 ``validation_error``) list ``errors: [{field, message}]``.
Anything else is a bug and answers 500 ``internal_error`` with no internals.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("app.errors")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://pipeline.invest.example/problems/"


class AppError(Exception):
    status = 500
    code = "internal_error"
    title = "Internal error"

    def __init__(self, detail: str, *, code: str | None = None, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None, extensions: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.errors = errors
        self.headers = headers
        # RFC 9457 extension members added to the problem document (e.g. an import's report).
        self.extensions = extensions


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class PreconditionFailed(AppError):
    status, code, title = 412, "version_mismatch", "Precondition failed"


class Gone(AppError):
    """A retired endpoint: the detail names what replaced it."""

    status, code, title = 410, "gone", "Gone"


class PayloadTooLarge(AppError):
    status, code, title = 413, "payload_too_large", "Content too large"


class InvalidInput(AppError):
    status, code, title = 422, "validation_error", "Invalid input"

    @classmethod
    def field(cls, field: str, message: str, *, code: str | None = None) -> "InvalidInput":
        return cls(f"{field}: {message}", code=code, errors=[{"field": field, "message": message}])


class PreconditionRequired(AppError):
    status, code, title = 428, "if_match_required", "Precondition required"


class TooManyRequests(AppError):
    status, code, title = 429, "rate_limited", "Too many requests"


class ServiceUnavailable(AppError):
    status, code, title = 503, "database_unavailable", "Service unavailable"


def problem(status: int, code: str, title: str, detail: str, *, errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None, instance: str | None = None,
            extensions: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail,
                            "code": code}
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    for name, value in (extensions or {}).items():
        body.setdefault(name, value)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    # ("body", "total_investment", "amount") -> "total_investment.amount"; the source
    # ("body", "query", "path", "header") is dropped unless it is all there is.
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts)


READ_ONLY_FIELDS = frozenset({"id", "stage", "stage_entered_on", "version", "created_at", "updated_at",
                              "archived_at"})


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for err in exc.errors():
        field = _field_name(tuple(err.get("loc", ())))
        message = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid":
            field, message = "body", f"is not valid JSON ({err.get('ctx', {}).get('error', 'syntax error')})"
        elif err.get("type") == "extra_forbidden":
            message = ("is read-only and may not be set" if field in READ_ONLY_FIELDS
                       else "is not a known field")
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
            # Model-level checks name their field as "field: message".
            if field in ("", "body") and ": " in message:
                field, message = message.split(": ", 1)
        errors.append({"field": field or "body", "message": message})
    return errors


def _routes(routes: list[Any]) -> list[Any]:
    """Every route, looking inside the routers an app includes."""
    flat: list[Any] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        flat += _routes(inner.routes) if inner is not None else [route]
    return flat


# PostgreSQL's query_canceled: here, a statement ran past ``statement_timeout``.
QUERY_CANCELED = "57014"


def _sqlstate(exc: Exception) -> str | None:
    """The SQLSTATE behind a database error, raised through SQLAlchemy or app/plainsql.py
    (or, unwrapped, by the driver)."""
    for error in (getattr(exc, "orig", None), exc):
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


# SQLSTATEs that say the database cannot serve now, not that the request is wrong. A
# restart raises them at any step: a pooled connection found dead is replaced, and the
# new one is refused while the server shuts down or starts (57P03), or cut (57P01, 08*).
UNAVAILABLE_CLASSES = ("08",)  # connection exception: 08000, 08001, 08003, 08004, 08006, 08P01 ...
UNAVAILABLE_STATES = frozenset({
    "57P01",  # admin_shutdown: terminated by a fast or immediate shutdown, or pg_terminate_backend
    "57P02",  # crash_shutdown: another server process crashed
    "57P03",  # cannot_connect_now: the server is starting up or shutting down
    "57P05",  # idle_session_timeout
    "53300",  # too_many_connections
    "53400",  # configuration_limit_exceeded
})


def is_unavailable_sqlstate(state: str | None) -> bool:
    return state is not None and (state in UNAVAILABLE_STATES or state.startswith(UNAVAILABLE_CLASSES))


def _query_timeout(request: Request, exc: Exception) -> JSONResponse:
    timeout_ms = request.app.state.settings.statement_timeout_ms
    log.warning("statement timeout (%d ms) on %s: %s", timeout_ms, request.url.path, getattr(exc, "orig", exc))
    return problem(503, "query_timeout", "Service unavailable",
                   f"The database did not answer within the limit of {timeout_ms} ms; try again later.",
                   headers={"Retry-After": "30"}, instance=request.url.path)


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.title, exc.detail, errors=exc.errors, headers=exc.headers,
                       instance=request.url.path, extensions=exc.extensions)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "validation_error", "Invalid input", detail, errors=errors,
                       instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # a body the framework could not even read
            return problem(422, "validation_error", "Invalid input", "body: could not be read as JSON",
                           errors=[{"field": "body", "message": "could not be read as JSON"}],
                           instance=request.url.path)
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; a path may have several.
            allowed = sorted({m for route in _routes(request.app.routes)
                              if getattr(route, "path_regex", None) is not None
                              and route.path_regex.match(request.url.path)
                              for m in (getattr(route, "methods", None) or ())})
            headers = {"Allow": ", ".join(allowed)}
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail), headers=headers,
                       instance=request.url.path)

    @app.exception_handler(PoolTimeoutError)
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _db_unavailable(request: Request, exc: Exception) -> JSONResponse:
        if _sqlstate(exc) == QUERY_CANCELED:
            return _query_timeout(request, exc)
        log.warning("database unavailable: %s: %s", type(exc).__name__, getattr(exc, "orig", exc))
        return problem(503, "database_unavailable", "Service unavailable",
                       "The database cannot be reached; try again shortly.",
                       headers={"Retry-After": "5"}, instance=request.url.path)

    # The one place that decides whether a database error is the database's state (503,
    # with Retry-After) or a bug (500).
    @app.exception_handler(DBAPIError)
    @app.exception_handler(OSError)
    async def _db_error(request: Request, exc: Exception) -> JSONResponse:
        state = _sqlstate(exc)
        if (isinstance(exc, OSError) or getattr(exc, "connection_invalidated", False)
                or state == QUERY_CANCELED or is_unavailable_sqlstate(state)):
            return await _db_unavailable(request, exc)  # 503: database_unavailable or query_timeout
        log.exception("database error")
        return problem(500, "internal_error", "Internal error", "An unexpected error occurred.",
                       instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_unavailable_sqlstate(_sqlstate(exc)):  # a driver error that escaped unwrapped
            return await _db_unavailable(request, exc)
        log.exception("unhandled error")
        return problem(500, "internal_error", "Internal error", "An unexpected error occurred.",
                       instance=request.url.path)
