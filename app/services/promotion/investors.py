"""Investors (客商): a registry with the leaders' and units' life, and the link projects keep.

A project names its investor by ``investor_id`` and carries the investor's name and
country (``projects.investor``, ``projects.investor_country``) so that the list, its text
search and the ledger read them without a join; renaming an investor, or changing its
country, rewrites them on its projects (a new version of each). A project written with
the investor's name and country instead of an id is linked to the current investor of
that name and country (the oldest, if there are several), which is created if there is
none: the older clients and the ledger keep working.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, InvalidInput, NotFound
from app.models import Investor, Project, utcnow
from app.models.promotion import InvestorCreate, InvestorRead, InvestorUpdate
from app.services.access.permissions import Principal
from app.services.common import audit, lifecycle, pagination, versioning
from app.services.common.pagination import Page, SortKey

SORT_KEYS: dict[str, SortKey] = {
    "name": SortKey("name", Investor.name, pagination.decode_str),
    "created_at": SortKey("created_at", Investor.created_at, pagination.decode_datetime),
    "id": SortKey("id", Investor.id, pagination.decode_id(pagination.INT32_MAX)),
}


def to_read(investor: Investor) -> InvestorRead:
    return InvestorRead.model_validate(investor, from_attributes=True)


def _snapshot(investor: Investor) -> dict[str, Any]:
    return to_read(investor).model_dump(mode="json", exclude={"updated_at"})


async def _check_code_free(session: AsyncSession, code: str | None, *, investor_id: int | None = None) -> None:
    if code is None:
        return
    stmt = select(col(Investor.id)).where(col(Investor.credit_code) == code)
    if investor_id is not None:
        stmt = stmt.where(col(Investor.id) != investor_id)
    other = (await session.execute(stmt)).scalar_one_or_none()
    if other is not None:
        raise Conflict(f"credit_code: investor {other} already has the credit code {code}.",
                       code="credit_code_taken",
                       errors=[{"field": "credit_code", "message": f"investor {other} already has it"}])


async def _flush(session: AsyncSession) -> None:
    try:
        await versioning.flush(session)
    except IntegrityError as exc:  # lost a race for a unique credit code
        raise Conflict("credit_code: another investor already has this credit code.", code="credit_code_taken",
                       errors=[{"field": "credit_code", "message": "another investor already has it"}]) from exc


async def _add(session: AsyncSession, data: InvestorCreate, actor: Principal) -> Investor:
    await _check_code_free(session, data.credit_code)
    investor = Investor(**data.model_dump())
    session.add(investor)
    await _flush(session)
    await audit.record(session, actor, action="investor.create", resource_type="investor",
                       resource_id=investor.id or 0, after=_snapshot(investor))
    return investor


async def create(session: AsyncSession, *, data: InvestorCreate, actor: Principal) -> InvestorRead:
    """Add an investor; a credit code another investor has is 409."""
    return to_read(await _add(session, data, actor))


async def get(session: AsyncSession, investor_id: int) -> Investor:
    investor = await session.get(Investor, investor_id)
    if investor is None:
        raise NotFound(f"No investor with id {investor_id}.")
    return investor


async def listing(session: AsyncSession, *, q: str | None, country: list[str], fortune_global_500: bool | None,
                  credit_code: str | None, archived: bool, sort: str, cursor: str | None,
                  limit: int) -> Page[InvestorRead]:
    """One page of investors."""
    key, descending = pagination.parse_sort(sort, SORT_KEYS)
    stmt = select(Investor).where(col(Investor.archived_at).is_not(None) if archived
                                  else col(Investor.archived_at).is_(None))
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(func.lower(Investor.name).like(pattern, escape="\\"))
    if country:
        stmt = stmt.where(col(Investor.country).in_(country))
    if fortune_global_500 is not None:
        stmt = stmt.where(col(Investor.fortune_global_500) == fortune_global_500)
    if credit_code is not None:
        stmt = stmt.where(col(Investor.credit_code) == credit_code)
    stmt = pagination.apply(stmt, key=key, descending=descending, id_column=Investor.id, cursor=cursor, limit=limit,
                            sort_label=f"investor:{sort}", id_max=pagination.INT32_MAX)
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label=f"investor:{sort}",
                                        key_of=lambda e: (getattr(e, key.name), e.id or 0))
    return Page[InvestorRead](items=[to_read(e) for e in kept], next_cursor=next_cursor)


async def update_investor(session: AsyncSession, investor_id: int, *, data: InvestorUpdate, if_match: str | None,
                          actor: Principal) -> InvestorRead:
    """Change the fields present in ``data``; a new name or country reaches its projects."""
    investor = await get(session, investor_id)
    changes = data.model_dump(exclude_unset=True)

    async def check() -> None:
        if changes.get("credit_code") is not None:
            await _check_code_free(session, changes["credit_code"], investor_id=investor_id)

    changed = await lifecycle.update(session, actor, investor, if_match=if_match, resource_type="investor",
                                     resource_id=investor_id, snapshot=lambda: _snapshot(investor), fields=changes,
                                     apply=check, flush=_flush)
    if "name" in changed.after or "country" in changed.after:
        # Each project's copy changes, so its version moves on: an ETag read before is stale.
        relabelled = await session.execute(
            update(Project).where(col(Project.investor_id) == investor_id)
            .values(investor=investor.name, investor_country=investor.country, version=col(Project.version) + 1,
                    updated_at=utcnow())
            .execution_options(synchronize_session=False))
        changed.event.after = {**changed.after, "projects_relabelled": relabelled.rowcount}  # type: ignore[attr-defined]
    return to_read(investor)


async def archive(session: AsyncSession, investor_id: int, *, if_match: str | None,
                  actor: Principal) -> InvestorRead:
    """Archive an investor; its projects keep their link, new ones no longer match it."""
    investor = await get(session, investor_id)
    await lifecycle.archive(session, actor, investor, if_match=if_match, resource_type="investor",
                            resource_id=investor_id)
    return to_read(investor)


# --- the link from projects ----------------------------------------------------------------


async def current(session: AsyncSession, investor_id: int) -> Investor:
    """A current investor a project may name; else 422 on ``investor_id``."""
    investor = await session.get(Investor, investor_id)
    if investor is None or investor.archived_at is not None:
        raise InvalidInput.field("investor_id", f"no current investor has id {investor_id}")
    return investor


async def match_or_create(session: AsyncSession, *, name: str, country: str, actor: Principal) -> Investor:
    """The current investor of this name and country (the oldest), or a new one."""
    found = (await session.execute(
        select(Investor).where(col(Investor.name) == name, col(Investor.country) == country,
                               col(Investor.archived_at).is_(None))
        .order_by(col(Investor.id)).limit(1))).scalar_one_or_none()
    if found is not None:
        return found
    return await _add(session, InvestorCreate(name=name, country=country), actor)


async def match_or_create_many(session: AsyncSession, pairs: Sequence[tuple[str | None, str | None]], *,
                               actor: Principal) -> dict[tuple[str, str], Investor]:
    """``match_or_create`` for each (name, country), in a few statements for them all."""
    wanted = dict.fromkeys((name, country) for name, country in pairs if name is not None and country is not None)
    found: dict[tuple[str, str], Investor] = {}
    names = sorted({name for name, _ in wanted})
    for start in range(0, len(names), 500):
        stmt = (select(Investor).where(col(Investor.name).in_(names[start:start + 500]),
                                       col(Investor.archived_at).is_(None)).order_by(col(Investor.id)))
        for investor in (await session.execute(stmt)).scalars():
            if (investor.name, investor.country) in wanted:
                found.setdefault((investor.name, investor.country), investor)
    new = [Investor(**InvestorCreate(name=name, country=country).model_dump())
           for name, country in wanted if (name, country) not in found]  # in the order they are named
    if new:
        session.add_all(new)
        await _flush(session)
        for investor in new:
            await audit.record(session, actor, action="investor.create", resource_type="investor",
                               resource_id=investor.id or 0, after=_snapshot(investor))
            found[(investor.name, investor.country)] = investor
    return found


async def resolve(session: AsyncSession, *, investor_id: int | None, name: str | None, country: str | None,
                  actor: Principal) -> Investor:
    """The investor a project write names: by id (the name and country, if sent too, must be
    its own), else by name and country."""
    if investor_id is not None:
        investor = await current(session, investor_id)
        if name is not None and name != investor.name:
            raise InvalidInput.field("investor", f"investor {investor_id} is named {investor.name!r}; "
                                     "leave investor out or send that name")
        if country is not None and country != investor.country:
            raise InvalidInput.field("investor_country", f"investor {investor_id} is from {investor.country}")
        return investor
    assert name is not None and country is not None
    return await match_or_create(session, name=name, country=country, actor=actor)
