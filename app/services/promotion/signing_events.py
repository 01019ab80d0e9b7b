"""Signing events (签约活动): investment fairs and promotion weeks at which projects are signed.

A move to ``signed`` may name the event (``signing_event_id`` on the stage-history entry);
what each event brought is ``/stats/signing-events/{id}`` (``app.services.stats.cohorts``).
"""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import InvalidInput, NotFound
from app.models import SigningEvent
from app.models.enums import Stage
from app.models.promotion import SigningEventCreate, SigningEventRead, SigningEventUpdate
from app.services.access.permissions import Principal
from app.services.common import audit, lifecycle, pagination, versioning
from app.services.common.pagination import Page, SortKey

SORT_KEYS: dict[str, SortKey] = {
    "held_on": SortKey("held_on", SigningEvent.held_on, pagination.decode_date),
    "name": SortKey("name", SigningEvent.name, pagination.decode_str),
    "id": SortKey("id", SigningEvent.id, pagination.decode_id(pagination.INT32_MAX)),
}


def to_read(event: SigningEvent) -> SigningEventRead:
    return SigningEventRead.model_validate(event, from_attributes=True)


def _snapshot(event: SigningEvent) -> dict[str, Any]:
    return to_read(event).model_dump(mode="json", exclude={"updated_at"})


async def create(session: AsyncSession, *, data: SigningEventCreate, actor: Principal) -> SigningEventRead:
    """Add a signing event."""
    event = SigningEvent(**data.model_dump())
    session.add(event)
    await versioning.flush(session)
    await audit.record(session, actor, action="signing_event.create", resource_type="signing_event",
                       resource_id=event.id or 0, after=_snapshot(event))
    return to_read(event)


async def get(session: AsyncSession, event_id: int) -> SigningEvent:
    event = await session.get(SigningEvent, event_id)
    if event is None:
        raise NotFound(f"No signing event with id {event_id}.")
    return event


async def listing(session: AsyncSession, *, year: int | None, archived: bool, sort: str, cursor: str | None,
                  limit: int) -> Page[SigningEventRead]:
    """One page of signing events."""
    key, descending = pagination.parse_sort(sort, SORT_KEYS)
    stmt = select(SigningEvent).where(col(SigningEvent.archived_at).is_not(None) if archived
                                      else col(SigningEvent.archived_at).is_(None))
    if year is not None:
        stmt = stmt.where(col(SigningEvent.held_on) >= date(year, 1, 1),
                          col(SigningEvent.held_on) <= date(year, 12, 31))
    label = f"signing-events:{sort}"
    stmt = pagination.apply(stmt, key=key, descending=descending, id_column=SigningEvent.id, cursor=cursor,
                            limit=limit, sort_label=label, id_max=pagination.INT32_MAX)
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label=label,
                                        key_of=lambda e: (getattr(e, key.name), e.id or 0))
    return Page[SigningEventRead](items=[to_read(e) for e in kept], next_cursor=next_cursor)


async def update(session: AsyncSession, event_id: int, *, data: SigningEventUpdate, if_match: str | None,
                 actor: Principal) -> SigningEventRead:
    """Change the fields present in ``data``."""
    event = await get(session, event_id)
    await lifecycle.update(session, actor, event, if_match=if_match, resource_type="signing_event",
                           resource_id=event_id, snapshot=lambda: _snapshot(event),
                           fields=data.model_dump(exclude_unset=True), archived_code=None)
    return to_read(event)


async def archive(session: AsyncSession, event_id: int, *, if_match: str | None,
                  actor: Principal) -> SigningEventRead:
    """Archive a signing event; the moves that name it keep it."""
    event = await get(session, event_id)
    await lifecycle.archive(session, actor, event, if_match=if_match, resource_type="signing_event",
                            resource_id=event_id)
    return to_read(event)


async def check_for_move(session: AsyncSession, *, signing_event_id: int | None, to: Stage) -> None:
    """A move may name a current signing event, and only a move to ``signed`` may."""
    if signing_event_id is None:
        return
    if to != Stage.signed:
        raise InvalidInput.field("signing_event_id", f"only a move to signed may name a signing event (not to {to})")
    event = await session.get(SigningEvent, signing_event_id)
    if event is None or event.archived_at is not None:
        raise InvalidInput.field("signing_event_id", f"no current signing event has id {signing_event_id}")
