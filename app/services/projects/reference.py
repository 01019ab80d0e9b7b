"""Zones and industries: reference data the bureau keeps, with the leaders' and units' life
(list, create, read, update, archive; ETags, If-Match, audit).

Projects carry an entry's ``key``. A key is lower snake_case and unique; it may change only
while no project and no child entry uses it. ``parent_key`` makes each kind a tree (a park
within a district, a link within an industry chain): it names a current entry and never
makes a cycle. An archived entry stays on the projects that have it; no project may take it.
"""

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from app.errors import Conflict, InvalidInput, NotFound
from app.models import Project
from app.models.reference import IndustryEntry, ZoneEntry
from app.services.access.permissions import Principal
from app.services.common import audit, lifecycle, pagination, versioning
from app.services.common.pagination import Page, SortKey

Model = type[ZoneEntry] | type[IndustryEntry]
Entry = ZoneEntry | IndustryEntry
Read = TypeVar("Read", bound=SQLModel)

# How deep a tree may go: far beyond a province's parks within districts within cities.
MAX_DEPTH = 16


def resource(model: Model) -> str:
    return "zone" if model is ZoneEntry else "industry"


def _project_column(model: Model) -> Any:
    return col(Project.zone) if model is ZoneEntry else col(Project.industry)


def _sort_keys(model: Model) -> dict[str, SortKey]:
    return {
        "key": SortKey("key", model.key, pagination.decode_str),
        "name": SortKey("name", model.name, pagination.decode_str),
        "created_at": SortKey("created_at", model.created_at, pagination.decode_datetime),
        "id": SortKey("id", model.id, pagination.decode_id(pagination.INT32_MAX)),
    }


SORTS = ("key", "name", "created_at", "id")


def _snapshot(entry: Entry, read: type[Read]) -> dict[str, Any]:
    return read.model_validate(entry, from_attributes=True).model_dump(mode="json", exclude={"updated_at"})


async def by_key(session: AsyncSession, model: Model, key: str) -> Entry | None:
    entry: Entry | None = (await session.execute(  # type: ignore[assignment]
        select(model).where(col(model.key) == key))).scalar_one_or_none()
    return entry


async def _check_unique(session: AsyncSession, model: Model, *, key: str | None, name: str | None,
                        entry_id: int | None) -> None:
    for field, value in (("key", key), ("name", name)):
        if value is None:
            continue
        column = getattr(model, field)
        stmt = select(col(model.id)).where(func.lower(column) == value.lower())
        if entry_id is not None:
            stmt = stmt.where(col(model.id) != entry_id)
        if (await session.execute(stmt)).first() is not None:
            raise Conflict(f"Another {resource(model)} already has the {field} {value}.", code=f"{field}_taken",
                           errors=[{"field": field, "message": "is taken"}])


async def _check_parent(session: AsyncSession, model: Model, *, parent_key: str, own_key: str | None) -> None:
    """The parent exists, is current, and its chain of parents does not lead back to ``own_key``."""
    parent = await by_key(session, model, parent_key)
    if parent is None or parent.archived_at is not None:
        raise InvalidInput.field("parent_key", f"no current {resource(model)} has the key {parent_key}")
    seen: list[str] = []
    node: Entry | None = parent
    while node is not None:
        if node.key == own_key:
            raise InvalidInput.field("parent_key", "would make a cycle: " + " → ".join([own_key, *reversed(seen),
                                                                                         own_key]))
        seen.append(node.key)
        if len(seen) > MAX_DEPTH:
            raise InvalidInput.field("parent_key", f"would make the tree deeper than {MAX_DEPTH} levels")
        node = await by_key(session, model, node.parent_key) if node.parent_key else None


async def _flush(session: AsyncSession, model: Model) -> None:
    try:
        await versioning.flush(session)
    except IntegrityError as exc:  # lost a race for a unique key or name
        raise Conflict(f"Another {resource(model)} already has this key or name.", code="key_taken") from exc


async def create(session: AsyncSession, model: Model, read: type[Read], *, data: SQLModel,
                 actor: Principal) -> Read:
    """Add a zone or industry."""
    values = data.model_dump()
    await _check_unique(session, model, key=values["key"], name=values["name"], entry_id=None)
    if values.get("parent_key") is not None:
        await _check_parent(session, model, parent_key=values["parent_key"], own_key=values["key"])
    entry = model(**values)
    session.add(entry)
    await _flush(session, model)
    await audit.record(session, actor, action=f"{resource(model)}.create", resource_type=resource(model),
                       resource_id=entry.id or 0, after=_snapshot(entry, read))
    return read.model_validate(entry, from_attributes=True)


async def get(session: AsyncSession, model: Model, entry_id: int) -> Entry:
    entry: Entry | None = await session.get(model, entry_id)
    if entry is None:
        raise NotFound(f"No {resource(model)} with id {entry_id}.")
    return entry


async def listing(session: AsyncSession, model: Model, read: type[Read], *, q: str | None, parent_key: str | None,
                  archived: bool, sort: str, cursor: str | None, limit: int) -> Page[Read]:
    """One page of zones or industries."""
    key, descending = pagination.parse_sort(sort, _sort_keys(model))
    stmt = select(model).where(col(model.archived_at).is_not(None) if archived else col(model.archived_at).is_(None))
    if parent_key is not None:
        stmt = stmt.where(col(model.parent_key) == parent_key)
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(func.lower(model.name).like(pattern, escape="\\")
                          | func.lower(func.coalesce(model.name_en, "")).like(pattern, escape="\\")
                          | col(model.key).like(pattern, escape="\\"))
    label = f"{resource(model)}:{sort}"
    stmt = pagination.apply(stmt, key=key, descending=descending, id_column=model.id, cursor=cursor, limit=limit,
                            sort_label=label, id_max=pagination.INT32_MAX)
    rows: list[Entry] = list((await session.execute(stmt)).scalars())  # type: ignore[arg-type]
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label=label,
                                        key_of=lambda e: (getattr(e, key.name), e.id or 0))
    return Page[read](items=[read.model_validate(e, from_attributes=True) for e in kept],  # type: ignore[valid-type]
                      next_cursor=next_cursor)


async def _in_use(session: AsyncSession, model: Model, key: str) -> str | None:
    """What uses ``key``, said for a person; None when nothing does."""
    projects = (await session.execute(select(func.count()).where(_project_column(model) == key))).scalar_one()
    if projects:
        return f"{projects} project(s)"
    children = (await session.execute(select(func.count()).where(col(model.parent_key) == key))).scalar_one()
    return f"{children} child {resource(model)} entr(ies)" if children else None


async def update(session: AsyncSession, model: Model, read: type[Read], entry_id: int, *, data: SQLModel,
                 if_match: str | None, actor: Principal) -> Read:
    """Change the fields present in ``data``."""
    entry = await get(session, model, entry_id)
    changes = data.model_dump(exclude_unset=True)

    async def check() -> None:
        new_key = changes.get("key")
        if new_key is not None and new_key != entry.key:
            user = await _in_use(session, model, entry.key)
            if user is not None:
                raise Conflict(f"The key {entry.key} is used by {user}: it cannot change.", code="key_in_use",
                               errors=[{"field": "key", "message": "is in use and cannot change"}])
        await _check_unique(session, model, key=new_key, name=changes.get("name"), entry_id=entry_id)
        if changes.get("parent_key") is not None:
            await _check_parent(session, model, parent_key=changes["parent_key"], own_key=new_key or entry.key)

    await lifecycle.update(session, actor, entry, if_match=if_match, resource_type=resource(model),
                           resource_id=entry_id, snapshot=lambda: _snapshot(entry, read), fields=changes,
                           apply=check, flush=lambda s: _flush(s, model))
    return read.model_validate(entry, from_attributes=True)


async def archive(session: AsyncSession, model: Model, read: type[Read], entry_id: int, *, if_match: str | None,
                  actor: Principal) -> Read:
    """Archive a zone or industry: the projects that have it keep it; no other may take it."""
    entry = await get(session, model, entry_id)
    await lifecycle.archive(session, actor, entry, if_match=if_match, resource_type=resource(model),
                            resource_id=entry_id)
    return read.model_validate(entry, from_attributes=True)


async def check_usable(session: AsyncSession, *, zone: str | None = None, industry: str | None = None) -> None:
    """422 naming the field unless each key given is a current zone or industry."""
    for field, model, key in (("zone", ZoneEntry, zone), ("industry", IndustryEntry, industry)):
        if key is None:
            continue
        entry = await by_key(session, model, key)
        if entry is None:
            raise InvalidInput.field(field, f"no {field} has the key {key} (see /api/v1/{path(field)})")
        if entry.archived_at is not None:
            raise InvalidInput.field(field, f"the {field} {key} ({entry.name}) is archived: new projects may "
                                            "not take it")


def path(name: str) -> str:
    """Where the entries of ``zone`` or ``industry`` are listed."""
    return "zones" if name == "zone" else "industries"


async def all_entries(session: AsyncSession, model: Model) -> list[Entry]:
    """Every entry of a kind, archived ones too, in the order they were added (few: hundreds at most)."""
    return list((await session.execute(select(model).order_by(col(model.id)))).scalars())  # type: ignore[arg-type]


async def vocabularies(session: AsyncSession) -> dict[str, list[tuple[str, str, str | None]]]:
    """``zone`` and ``industry``: each entry's key, Chinese and English name, in the order added."""
    return {resource(model): [(e.key, e.name, e.name_en) for e in await all_entries(session, model)]
            for model in (ZoneEntry, IndustryEntry)}


async def check_known(session: AsyncSession, *, field: str, zones: Iterable[str] = (),
                      industries: Iterable[str] = ()) -> None:
    """422 naming ``field`` unless every key names a zone or industry (archived ones too: a
    criterion may still count the projects that kept one)."""
    for kind, model, keys in (("zone", ZoneEntry, set(zones)), ("industry", IndustryEntry, set(industries))):
        if not keys:
            continue
        known = set((await session.execute(select(col(model.key)).where(col(model.key).in_(keys)))).scalars())
        if unknown := sorted(keys - known):
            raise InvalidInput.field(f"{field}.{kind}", f"no {kind} has the key {', '.join(unknown)}")
