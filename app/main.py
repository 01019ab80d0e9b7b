"""The application factory."""

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from app import context, deps, errors
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.routers import access, ledger, meta, projects, registry
from app.services import idempotency

log = logging.getLogger("app")

DESCRIPTION = """\
The investment-project pipeline of the city's investment promotion bureau (招商局):
every project from negotiation (在谈) to production (投产), the city leader in charge of
each (市领导包项目), and who changed what.

Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457
`application/problem+json` with a stable `code`. Changes need `If-Match` with the ETag
you read; POSTs accept `Idempotency-Key`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(title="Investment project pipeline", version="1.0.0", description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.settings = settings
    errors.install(app)
    app.add_exception_handler(idempotency.Replay, deps.replay)

    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        incoming = request.headers.get("x-request-id", "")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isascii() and incoming.isprintable() \
            else uuid.uuid4().hex
        token = context.request_id.set(rid)
        try:
            response = await call_next(request)
        finally:
            context.request_id.reset(token)
        response.headers["X-Request-ID"] = rid
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    for router in (projects.router, registry.leaders, registry.units, access.api_keys, access.audit_events,
                   meta.router, meta.health, ledger.imports_router, ledger.exports_router):
        app.include_router(router)
    return app
