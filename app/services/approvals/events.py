"""Status events pushed by approval systems: received once, applied in order, never lost.

- A resent event (same ``event_id``) changes nothing and gets the first answer again;
  the same id with another body is refused (409 ``event_id_reused``).
- An event older (by its own ``occurred_at``) than the latest applied to its item is
  kept as ``stale`` and changes nothing, so late deliveries never move a status back.
- An event naming a project code no project has or had is kept as ``unmatched`` and
  applied when a project gets that code (``apply_waiting``, called by the registry).
  A code a project had before (re-approved, corrected: ``project_codes``) leads to it.

Which item an event is about: the item of that project and kind with the event's
``reference`` (the approval system's case number); failing that, the only item of the
kind without a reference (it adopts the reference), or — for an event without a
reference — the newest item of the kind; failing all, a new item.
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import clock
from app.db import lock_key
from app.errors import Conflict, InvalidInput
from app.models import ApprovalEvent, ApprovalItem, Project, ProjectCodeRecord, utcnow
from app.models.approval import ApprovalEventIn, ApprovalEventRead, ApprovalEventReceipt
from app.models.enums import APPROVAL_DECIDED, APPROVAL_PENDING, ApprovalEventOutcome, ApprovalStatus, Role
from app.services.access.permissions import Principal
from app.services.approvals import items
from app.services.common import pagination, versioning
from app.services.common.pagination import Page, SortKey

# How far ahead of the server's clock an event's occurred_at may be.
CLOCK_SKEW = timedelta(minutes=5)


def _fingerprint(data: ApprovalEventIn) -> str:
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check(data: ApprovalEventIn, *, now: datetime) -> None:
    if data.occurred_at > now + CLOCK_SKEW:
        raise InvalidInput.field("occurred_at", "must not be in the future")
    day = clock.local_date(data.occurred_at)
    for name, value in (("submitted_on", data.submitted_on), ("decided_on", data.decided_on)):
        if value is not None and value > day:
            raise InvalidInput.field(name, f"must not be after the day the event occurred ({day})")


def _receipt(event: ApprovalEvent) -> ApprovalEventReceipt:
    return ApprovalEventReceipt(event_id=event.event_id, outcome=ApprovalEventOutcome(event.outcome),
                                project_id=event.project_id, approval_item_id=event.approval_item_id,
                                received_at=event.received_at)


async def receive(session: AsyncSession, principal: Principal, *, data: ApprovalEventIn) -> ApprovalEventReceipt:
    """Take one event: apply it, keep it unmatched, or replay the answer it got before (its
    receipt as first given: ``unmatched`` for an event that waited for its project)."""
    assert principal.key_id is not None
    now = utcnow()
    fingerprint = _fingerprint(data)
    previous = await _by_event_id(session, data.event_id)
    if previous is not None:
        return _replay(previous, fingerprint)
    _check(data, now=now)
    await items.usable_kind(session, data.kind, allow_archived=True)
    event = ApprovalEvent(
        event_id=data.event_id, api_key_id=principal.key_id, source_name=principal.name, received_at=now,
        occurred_at=data.occurred_at, project_code=data.project_code, kind=data.kind, authority=data.authority,
        status=data.status, submitted_on=data.submitted_on, decided_on=data.decided_on,
        time_limit_days=data.time_limit_days, reference=data.reference, note=data.note,
        payload_hash=fingerprint, outcome=ApprovalEventOutcome.unmatched)
    try:
        # Claims the id: a concurrent copy of this event waits here until we commit.
        async with session.begin_nested():
            session.add(event)
    except IntegrityError:
        previous = await _by_event_id(session, data.event_id)
        if previous is None:
            raise
        return _replay(previous, fingerprint)
    # Serializes with a project taking this code (see ``apply_waiting``).
    await lock_key(session, "project_code", data.project_code)
    # A code the project had before (re-approved, corrected) still leads to it.
    project = (await session.execute(
        select(Project).where(or_(col(Project.code) == data.project_code,
                                  col(Project.id).in_(select(col(ProjectCodeRecord.project_id))
                                                      .where(col(ProjectCodeRecord.code) == data.project_code))))
        .with_for_update())).scalar_one_or_none()
    if project is not None:
        await _apply(session, event, project, actor=principal)
    receipt = _receipt(event)
    event.response_body = receipt.model_dump_json()
    await session.flush()
    return receipt


async def _by_event_id(session: AsyncSession, event_id: str) -> ApprovalEvent | None:
    return (await session.execute(
        select(ApprovalEvent).where(col(ApprovalEvent.event_id) == event_id)
        .execution_options(populate_existing=True))).scalar_one_or_none()


def _replay(event: ApprovalEvent, fingerprint: str) -> ApprovalEventReceipt:
    if event.payload_hash != fingerprint:
        raise Conflict(f"The event id {event.event_id} was already used for a different event.",
                       code="event_id_reused")
    assert event.response_body is not None
    return ApprovalEventReceipt.model_validate_json(event.response_body)


async def _match(session: AsyncSession, event: ApprovalEvent, project_id: int) -> ApprovalItem | None:
    stmt = (select(ApprovalItem)
            .where(col(ApprovalItem.project_id) == project_id, col(ApprovalItem.kind) == event.kind,
                   col(ApprovalItem.archived_at).is_(None))
            .order_by(col(ApprovalItem.id).desc())
            .with_for_update())
    candidates = list((await session.execute(stmt)).scalars())
    if event.reference is not None:
        same = [i for i in candidates if i.reference == event.reference]
        if same:
            return same[0]
        unreferenced = [i for i in candidates if i.reference is None]
        return unreferenced[0] if len(unreferenced) == 1 else None
    return candidates[0] if candidates else None


async def _apply(session: AsyncSession, event: ApprovalEvent, project: Project, *, actor: Principal) -> None:
    """Apply a received event to its project's item, unless it is older than the item's last."""
    assert project.id is not None
    today = clock.local_date(utcnow())
    event.project_id, event.applied_at = project.id, utcnow()
    item = await _match(session, event, project.id)
    if item is not None and item.last_event_at is not None and event.occurred_at < item.last_event_at:
        event.outcome, event.approval_item_id = ApprovalEventOutcome.stale, item.id
        return
    status = ApprovalStatus(event.status)
    day = clock.local_date(event.occurred_at)
    before = items.to_read(item, today=today) if item is not None else None
    if item is None:
        kind = await items.usable_kind(session, event.kind, allow_archived=True)
        item = ApprovalItem(project_id=project.id, kind=event.kind, authority=event.authority, status=status,
                            time_limit_days=kind.default_time_limit_days)
        session.add(item)
    submitted_on = event.submitted_on or item.submitted_on
    if status == ApprovalStatus.not_started:
        submitted_on = None
    elif status in APPROVAL_PENDING and submitted_on is None:
        submitted_on = day  # the event is the submission
    item.authority, item.status, item.submitted_on = event.authority, status, submitted_on
    item.decided_on = (event.decided_on or day) if status in APPROVAL_DECIDED else None
    if event.time_limit_days is not None:
        item.time_limit_days = event.time_limit_days
    item.reference = event.reference or item.reference
    item.note = event.note if event.note is not None else item.note
    item.last_event_at = event.occurred_at
    item.updated_at = utcnow()
    items.derive(item)
    await versioning.flush(session)
    await items.announce(session, actor, item, project, before=before, today=today)
    event.outcome, event.approval_item_id = ApprovalEventOutcome.applied, item.id


async def waiting_for(session: AsyncSession, projects: Sequence[Project]) -> list[Project]:
    """Those of the projects whose code unmatched events name (``apply_waiting`` applies them)."""
    by_code = {p.code: p for p in projects if p.code is not None}
    if not by_code:
        return []
    named = (await session.execute(
        select(col(ApprovalEvent.project_code)).distinct()
        .where(col(ApprovalEvent.project_code).in_(by_code), col(ApprovalEvent.project_id).is_(None)))).scalars()
    return [by_code[code] for code in sorted(c for c in named if c is not None)]


async def apply_waiting(session: AsyncSession, *, project: Project) -> int:
    """Apply the unmatched events naming a project's (new) code, oldest first; returns how many."""
    if project.code is None:
        return 0
    await lock_key(session, "project_code", project.code)
    waiting = list((await session.execute(
        select(ApprovalEvent)
        .where(col(ApprovalEvent.project_code) == project.code, col(ApprovalEvent.project_id).is_(None))
        .order_by(col(ApprovalEvent.occurred_at), col(ApprovalEvent.id))
        .with_for_update())).scalars())
    for event in waiting:
        sender = Principal(key_id=event.api_key_id, name=event.source_name, role=Role.integration)
        await _apply(session, event, project, actor=sender)
    await session.flush()
    return len(waiting)


async def list_events(session: AsyncSession, *, matched: bool | None, outcome: ApprovalEventOutcome | None,
                      project_code: str | None, cursor: str | None, limit: int) -> Page[ApprovalEventRead]:
    """Received events, newest first; ``matched=false`` lists those waiting for their project."""
    stmt = select(ApprovalEvent)
    if matched is not None:
        project_id = col(ApprovalEvent.project_id)
        stmt = stmt.where(project_id.is_not(None) if matched else project_id.is_(None))
    if outcome is not None:
        stmt = stmt.where(col(ApprovalEvent.outcome) == outcome)
    if project_code is not None:
        stmt = stmt.where(col(ApprovalEvent.project_code) == project_code)
    key = SortKey("id", ApprovalEvent.id, int)
    stmt = pagination.apply(stmt, key=key, descending=True, id_column=ApprovalEvent.id, cursor=cursor,
                            limit=limit, sort_label="approval_event")
    rows = list((await session.execute(stmt)).scalars())
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="approval_event",
                                        key_of=lambda e: (e.id or 0, e.id or 0))
    return Page[ApprovalEventRead](items=[ApprovalEventRead.model_validate(e, from_attributes=True) for e in kept],
                                   next_cursor=next_cursor)
