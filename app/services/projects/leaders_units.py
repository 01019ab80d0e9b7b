"""Leaders in charge and responsible units: small registries with the same life."""

from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.errors import Conflict, NotFound
from app.models import Leader, Unit
from app.services.access.permissions import Principal
from app.services.common import audit, lifecycle, pagination, versioning
from app.services.common.pagination import Page, SortKey

Model = type[Leader] | type[Unit]
Read = TypeVar("Read", bound=SQLModel)



def _resource(model: Model) -> str:
    return "leader" if model is Leader else "unit"


def _sort_keys(model: Model) -> dict[str, SortKey]:
    return {
        "name": SortKey("name", model.name, pagination.decode_str),
        "created_at": SortKey("created_at", model.created_at, pagination.decode_datetime),
        "id": SortKey("id", model.id, pagination.decode_id(pagination.INT32_MAX)),
    }


def _snapshot(entry: Leader | Unit, read: type[Read]) -> dict[str, Any]:
    return read.model_validate(entry, from_attributes=True).model_dump(mode="json", exclude={"updated_at"})


async def _flush(session: AsyncSession, model: Model) -> None:
    try:
        await versioning.flush(session)
    except IntegrityError as exc:
        raise Conflict(f"Another {_resource(model)} already has this name.", code="name_taken") from exc


async def create(session: AsyncSession, model: Model, read: type[Read], *, data: SQLModel,
                 actor: Principal) -> Read:
    """Add a leader or unit."""
    entry = model(**data.model_dump())
    session.add(entry)
    await _flush(session, model)
    await audit.record(session, actor, action=f"{_resource(model)}.create", resource_type=_resource(model),
                       resource_id=entry.id or 0, after=_snapshot(entry, read))
    return read.model_validate(entry, from_attributes=True)


async def get(session: AsyncSession, model: Model, entry_id: int) -> Leader | Unit:
    entry: Leader | Unit | None = await session.get(model, entry_id)
    if entry is None:
        raise NotFound(f"No {_resource(model)} with id {entry_id}.")
    return entry


async def listing(session: AsyncSession, model: Model, read: type[Read], *, q: str | None,
                  archived: bool, sort: str, cursor: str | None, limit: int) -> Page[Read]:
    """One page of leaders or units."""
    keys = _sort_keys(model)
    key, descending = pagination.parse_sort(sort, keys)
    stmt = select(model).where(model.archived_at.is_not(None) if archived  # type: ignore[union-attr]
                               else model.archived_at.is_(None))  # type: ignore[union-attr]
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(func.lower(model.name).like(pattern, escape="\\"))
    stmt = pagination.apply(stmt, key=key, descending=descending, id_column=model.id, cursor=cursor, limit=limit,
                            sort_label=f"{_resource(model)}:{sort}", id_max=pagination.INT32_MAX)
    rows: list[Leader | Unit] = list((await session.execute(stmt)).scalars())  # type: ignore[arg-type]
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label=f"{_resource(model)}:{sort}",
                                        key_of=lambda e: (getattr(e, key.name), e.id or 0))
    return Page[read](items=[read.model_validate(e, from_attributes=True) for e in kept],  # type: ignore[valid-type]
                      next_cursor=next_cursor)


async def update(session: AsyncSession, model: Model, read: type[Read], entry_id: int, *, data: SQLModel,
                 if_match: str | None, actor: Principal) -> Read:
    """Change the fields present in ``data``."""
    entry = await get(session, model, entry_id)
    await lifecycle.update(session, actor, entry, if_match=if_match, resource_type=_resource(model),
                           resource_id=entry_id, snapshot=lambda: _snapshot(entry, read),
                           fields=data.model_dump(exclude_unset=True), archived_code=None,
                           flush=lambda s: _flush(s, model))
    return read.model_validate(entry, from_attributes=True)


async def archive(session: AsyncSession, model: Model, read: type[Read], entry_id: int, *, if_match: str | None,
                  actor: Principal) -> Read:
    """Archive a leader or unit; projects keep their reference to it."""
    entry = await get(session, model, entry_id)
    await lifecycle.archive(session, actor, entry, if_match=if_match, resource_type=_resource(model),
                            resource_id=entry_id)
    return read.model_validate(entry, from_attributes=True)
