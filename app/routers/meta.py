"""``/meta/enums`` and the health endpoints."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from app.deps import Allowed
from app.errors import problem
from app.models.enums import ENUMS, LABELS
from app.routers.common import make_router
from app.services.access.permissions import Action, Principal

router = make_router("/api/v1/meta", "meta")
health = APIRouter(tags=["health"])


class EnumValue(BaseModel):
    value: str
    labels: dict[str, str]


@router.get("/enums", response_model=dict[str, list[EnumValue]])
async def enums(principal: Principal = Allowed(Action.meta_read)) -> dict[str, list[EnumValue]]:
    """Every enumeration's values, each with its Chinese (``zh-CN``) display label."""
    return {name: [EnumValue(value=v.value, labels={"zh-CN": LABELS[name][v.value], "en": v.value.replace("_", " ")})
                   for v in enum]
            for name, enum in ENUMS.items()}


class Health(BaseModel):
    status: str


@health.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@health.get("/readyz", response_model=Health, responses={503: {"description": "The database is unreachable."}})
async def readyz(request: Request) -> Any:
    """Readiness: the database answers."""
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return problem(503, "database_unavailable", "Service unavailable", "The database cannot be reached.",
                       headers={"Retry-After": "5"})
    return JSONResponse({"status": "ok"})
