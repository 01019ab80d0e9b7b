"""``/zones`` and ``/industries``: the reference data projects' ``zone`` and ``industry`` name."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from sqlmodel import SQLModel

from app.deps import Allowed, IfMatch, Session
from app.models.reference import (
    KEY_PATTERN,
    IndustryCreate,
    IndustryEntry,
    IndustryRead,
    IndustryUpdate,
    ZoneCreate,
    ZoneEntry,
    ZoneRead,
    ZoneUpdate,
)
from app.routers.common import Cursor, Limit, make_router, problems, set_etag
from app.services.access.permissions import Action, Principal
from app.services.common.pagination import Page
from app.services.projects import reference

REFERENCE_SORTS = [f"{d}{k}" for k in reference.SORTS for d in ("", "-")]


def _router(path: str, noun: str, model: type[ZoneEntry] | type[IndustryEntry], create_schema: type[SQLModel],
            update_schema: type[SQLModel], read_schema: type[SQLModel]) -> APIRouter:
    router = make_router(f"/api/v1/{path}", path)
    EntryId = Annotated[int, Path(alias=f"{noun}_id", ge=1, le=2**31 - 1)]

    async def create(body: Any, response: Response, session: Session,
                     principal: Principal = Allowed(Action.registry_write)) -> Any:
        entry = await reference.create(session, model, read_schema, data=body, actor=principal)
        set_etag(response, entry.version)  # type: ignore[attr-defined]
        response.headers["Location"] = f"{router.prefix}/{entry.id}"  # type: ignore[attr-defined]
        return entry

    async def listing(session: Session, principal: Principal = Allowed(Action.registry_read),
                      q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$",
                                                     description="Text in the key or either name.")] = None,
                      parent_key: Annotated[str | None, Query(max_length=32, pattern=KEY_PATTERN,
                                                              description="Only the children of this entry.")]
                      = None,
                      archived: bool = False,
                      sort: Annotated[str, Query(json_schema_extra={"enum": REFERENCE_SORTS},
                                                 description="A field; prefix - to descend.")] = "id",
                      limit: Limit = 50, cursor: Cursor = None) -> Any:
        return await reference.listing(session, model, read_schema, q=q, parent_key=parent_key, archived=archived,
                                       sort=sort, cursor=cursor, limit=limit)

    async def read(entry_id: EntryId, response: Response, session: Session,
                   principal: Principal = Allowed(Action.registry_read)) -> Any:
        entry = await reference.get(session, model, entry_id)
        set_etag(response, entry.version)
        return read_schema.model_validate(entry, from_attributes=True)

    async def update(entry_id: EntryId, body: Any, response: Response, session: Session, if_match: IfMatch,
                     principal: Principal = Allowed(Action.registry_write)) -> Any:
        entry = await reference.update(session, model, read_schema, entry_id, data=body, if_match=if_match,
                                       actor=principal)
        set_etag(response, entry.version)  # type: ignore[attr-defined]
        return entry

    async def archive(entry_id: EntryId, response: Response, session: Session, if_match: IfMatch,
                      principal: Principal = Allowed(Action.registry_write)) -> Any:
        entry = await reference.archive(session, model, read_schema, entry_id, if_match=if_match, actor=principal)
        set_etag(response, entry.version)  # type: ignore[attr-defined]
        return entry

    create.__annotations__["body"] = create_schema
    update.__annotations__["body"] = update_schema
    router.add_api_route("", create, methods=["POST"], status_code=status.HTTP_201_CREATED,
                         response_model=read_schema, responses=problems(409), name=f"create_{noun}",
                         summary=f"Add a {noun}")
    router.add_api_route("", listing, methods=["GET"], response_model=Page[read_schema],  # type: ignore[valid-type]
                         name=f"list_{path}", summary=f"List {path}")
    router.add_api_route(f"/{{{noun}_id}}", read, methods=["GET"], response_model=read_schema,
                         responses=problems(404), name=f"get_{noun}", summary=f"One {noun}")
    router.add_api_route(f"/{{{noun}_id}}", update, methods=["PATCH"], response_model=read_schema,
                         responses=problems(404, 409, 412, 428), name=f"update_{noun}",
                         summary=f"Change a {noun} (its key only while nothing uses it)")
    router.add_api_route(f"/{{{noun}_id}}", archive, methods=["DELETE"], response_model=read_schema,
                         responses=problems(404, 409, 412, 428), name=f"archive_{noun}",
                         summary=f"Archive a {noun}: projects keep it, new ones may not take it")
    return router


zones = _router("zones", "zone", ZoneEntry, ZoneCreate, ZoneUpdate, ZoneRead)
industries = _router("industries", "industry", IndustryEntry, IndustryCreate, IndustryUpdate, IndustryRead)
