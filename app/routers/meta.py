"""``/meta/enums`` and the health endpoints."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from app.deps import Allowed, Session
from app.errors import problem
from app.models.enums import ENUMS
from app.routers.common import make_router
from app.services.access.permissions import Action, Principal
from app.services.projects import reference

router = make_router("/api/v1/meta", "meta")
health = APIRouter(tags=["health"])


class EnumValue(BaseModel):
    value: str
    labels: dict[str, str]


@router.get("/enums", response_model=dict[str, list[EnumValue]])
async def enums(session: Session, principal: Principal = Allowed(Action.meta_read)) -> dict[str, list[EnumValue]]:
    """Every enumeration's values, each with its Chinese (``zh-CN``) display label; ``zone``
    and ``industry`` list the keys of ``/zones`` and ``/industries`` (archived ones too,
    since old projects keep them) with their names."""
    out = {name: [EnumValue(value=v.value, labels={"zh-CN": v.label, "en": v.value.replace("_", " ")})
                  for v in enum]
           for name, enum in ENUMS.items()}
    for name, entries in (await reference.vocabularies(session)).items():
        out[name] = [EnumValue(value=key, labels={"zh-CN": zh, "en": en or key.replace("_", " ")})
                     for key, zh, en in entries]
    return out


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
