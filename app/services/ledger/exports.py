"""Ledger (台账) exports: the projects a principal may see, as .xlsx or .csv, streamed.

Projects are read in keyset batches (by id), each batch in its own short transaction,
so neither a 100,000-row export nor a slow download holds rows, a connection or a lock
for long. CSV bytes are sent batch by batch; an .xlsx is built by openpyxl's write-only
workbook (rows go to a temporary file), then sent in chunks. The first batch is read
before the response starts, so an unreachable database is a 503, not a cut download.
Rows are numbered (序号) in id order.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import anyio.to_thread
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.models import IndustryEntry, Investor, Leader, Project, Unit, ZoneEntry
from app.models.ledger import LedgerFormat
from app.services.access.permissions import Principal, project_scope
from app.services.ledger import columns, spreadsheets
from app.services.ledger.columns import Record
from app.services.projects import projects
from app.services.projects.projects import ProjectFilters


@dataclass
class Export:
    """A ready-to-send export: its media type, its download name, and its bytes to come."""

    media_type: str
    filename: str
    body: AsyncIterator[bytes]

    @property
    def content_disposition(self) -> str:
        ascii_name = "projects-" + self.filename.split("-", 1)[1]
        return spreadsheets.attachment(ascii_name, self.filename)


async def _fetch(session: AsyncSession, principal: Principal, *, filters: ProjectFilters, after: int,
                 batch_size: int) -> list[Record]:
    """The next batch of projects (by id, after ``after``), with the names of their leaders, units,
    zones and industries, and their investors' credit codes."""
    stmt = cast(Select[Any], select(Project, col(Leader.name), col(Unit.name), col(ZoneEntry.name),
                                    col(IndustryEntry.name), col(Investor.credit_code),
                                    col(Investor.fortune_global_500))
                .outerjoin(Leader, col(Leader.id) == col(Project.leader_id))
                .outerjoin(Unit, col(Unit.id) == col(Project.unit_id))
                .outerjoin(ZoneEntry, col(ZoneEntry.key) == col(Project.zone))
                .outerjoin(IndustryEntry, col(IndustryEntry.key) == col(Project.industry))
                .outerjoin(Investor, col(Investor.id) == col(Project.investor_id))
                .where(project_scope(principal), col(Project.id) > after)
                .order_by(col(Project.id)).limit(batch_size))
    rows = (await session.execute(filters.apply(stmt))).all()
    designations = await projects.designations_of(session, [p.id for p, *_ in rows if p.id])
    return [Record(project=p, leader=leader, unit=unit, zone=zone, industry=industry,
                   designations={d.designation: d.status for d in designations.get(p.id or 0, [])},
                   credit_code=code, fortune_global_500=bool(top))
            for p, leader, unit, zone, industry, code, top in rows]


async def _rest(sessionmaker: async_sessionmaker[AsyncSession], principal: Principal, *, filters: ProjectFilters,
                first: list[Record], batch_size: int) -> AsyncIterator[list[Record]]:
    """The batches after the first, each read in its own short transaction while the response streams."""
    batch = first
    while len(batch) == batch_size:
        after = batch[-1].project.id or 0
        async with sessionmaker() as session:
            batch = await _fetch(session, principal, filters=filters, after=after, batch_size=batch_size)
        if batch:
            yield batch


async def _csv(first: list[Record], rest: AsyncIterator[list[Record]]) -> AsyncIterator[bytes]:
    yield spreadsheets.csv_chunk([columns.export_headers()], bom=True)
    number = 0
    batch: list[Record] | None = first
    while batch is not None:
        yield spreadsheets.csv_chunk([columns.export_values(number + i, r) for i, r in enumerate(batch, start=1)])
        number += len(batch)
        batch = await anext(rest, None)


async def _xlsx(first: list[Record], rest: AsyncIterator[list[Record]]) -> AsyncIterator[bytes]:
    widths = [c.width for c in columns.EXPORTED]
    book = await anyio.to_thread.run_sync(spreadsheets.XlsxLedger, columns.export_headers(), widths)
    try:
        number = 0
        batch: list[Record] | None = first
        while batch is not None:
            rows = [columns.export_values(number + i, r) for i, r in enumerate(batch, start=1)]
            await anyio.to_thread.run_sync(book.append, rows)
            number += len(batch)
            batch = await anext(rest, None)
        async for chunk in spreadsheets.saved_chunks(book.save):
            yield chunk
    finally:
        book.discard()


async def export_projects(session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
                          principal: Principal, *, filters: ProjectFilters, fmt: LedgerFormat, batch_size: int,
                          today: date) -> Export:
    """The ledger of the projects the principal may see that pass ``filters``, ready to stream.

    The first batch is read now, in the request's session; the rest as the response
    streams, after that session has ended (SQLite allows one writer-capable transaction).
    """
    first = await _fetch(session, principal, filters=filters, after=0, batch_size=batch_size)
    batches = _rest(sessionmaker, principal, filters=filters, first=first, batch_size=batch_size)
    if fmt == "csv":
        return Export(spreadsheets.CSV_MEDIA_TYPE, f"项目台账-{today}.csv", _csv(first, batches))
    return Export(spreadsheets.XLSX_MEDIA_TYPE, f"项目台账-{today}.xlsx", _xlsx(first, batches))
