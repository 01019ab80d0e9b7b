"""Foreign investment: contracted (合同外资, on the project) and utilised (实际使用外资).

``utilised_fdi_query`` is the one source of utilised FDI: every figure that shows it
(the pipeline, targets, signing events, cohorts) reads this query and nothing else. Until
the monthly reports (月报) carry ``fdi_utilised``, it sums the dated FDI receipts recorded
through ``/projects/{id}/fdi-receipts``; when they do, this query is pointed at the
accepted reports (and the receipts are migrated into them), and every figure follows.
Receipts are append-only: a correction is a new receipt whose ``corrects_id`` names the
one it replaces, which then no longer counts.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import Subquery
from sqlmodel import col

from app.dialect import a_date
from app.errors import Conflict, InvalidInput
from app.models import FdiReceipt, Project
from app.models.enums import FundingSource
from app.models.promotion import FdiReceiptCreate, FdiReceiptRead
from app.models.stats import ForeignInvestment, MoneyTotal
from app.services.access.permissions import Principal
from app.services.common import audit, pagination
from app.services.common.pagination import Page, SortKey
from app.services.projects.projects import get_project

USD = "USD"
ZERO = Decimal("0.00")
SHARE_PLACES = Decimal("0.0001")


def share(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(SHARE_PLACES) if whole else None


def effective(receipt: Any = FdiReceipt) -> ColumnElement[bool]:
    """The receipt still counts: no other receipt corrects it."""
    correction = aliased(FdiReceipt)
    return ~exists().where(col(correction.corrects_id) == receipt.id)


def utilised_fdi_query(on: date) -> Subquery:
    """Per project, the foreign investment utilised (USD) by ``on``: (project_id, utilised)."""
    return (select(col(FdiReceipt.project_id).label("project_id"), func.sum(col(FdiReceipt.amount)).label("utilised"))
            .where(col(FdiReceipt.received_on) <= a_date(on), effective())
            .group_by(col(FdiReceipt.project_id)).subquery("utilised_fdi"))


def fdi_by(stmt: Any, keys: list[Any], on: date) -> Any:
    """Per value of ``keys`` over a query joining ``projects``: the foreign projects' count,
    contracted and utilised FDI (``n``, ``contracted``, ``utilised``), and the whole
    selection's (``all_n``, ``all_contracted``, ``all_utilised``) by window functions."""
    utilised = utilised_fdi_query(on)
    n, contracted = func.count(), func.sum(col(Project.contracted_fdi_amount))
    used = func.sum(utilised.c.utilised)
    return (stmt.outerjoin(utilised, utilised.c.project_id == col(Project.id))
            .where(col(Project.funding_source) == FundingSource.foreign.value)
            .with_only_columns(*[k.label(f"k{i}") for i, k in enumerate(keys)], n.label("n"),
                               contracted.label("contracted"), used.label("utilised"),
                               func.sum(n).over().label("all_n"), func.sum(contracted).over().label("all_contracted"),
                               func.sum(used).over().label("all_utilised"))
            .group_by(*keys))


def foreign_investment(count: Any, contracted: Any, utilised: Any) -> ForeignInvestment:
    """The figures of foreign projects, from a row's sums (None for none)."""
    c, u = contracted if contracted is not None else ZERO, utilised if utilised is not None else ZERO
    return ForeignInvestment(foreign_projects=int(count or 0), contracted=MoneyTotal(amount=c, currency=USD),
                             utilised=MoneyTotal(amount=u, currency=USD), share_utilised=share(u, c))


async def create_receipt(session: AsyncSession, principal: Principal, project_id: int, *, data: FdiReceiptCreate,
                         today: date) -> FdiReceiptRead:
    """Record foreign investment paid in to a foreign-funded project."""
    project = await get_project(session, principal, project_id)
    if project.archived_at is not None:
        raise Conflict("An archived project cannot be changed.", code="project_archived")
    if project.funding_source != FundingSource.foreign:
        raise Conflict("Only a foreign-funded project utilises foreign investment.", code="not_foreign_funded")
    if data.received_on > today:
        raise InvalidInput.field("received_on", f"must not be in the future (today is {today})")
    if data.amount.currency != USD:
        raise InvalidInput.field("amount.currency", "must be USD (实际使用外资 is counted in US dollars)")
    if data.corrects_id is not None:
        corrected = await session.get(FdiReceipt, data.corrects_id)
        if corrected is None or corrected.project_id != project_id:
            raise InvalidInput.field("corrects_id", f"no receipt {data.corrects_id} on this project")
        if (await session.execute(select(col(FdiReceipt.id)).where(
                col(FdiReceipt.corrects_id) == data.corrects_id))).first() is not None:
            raise Conflict(f"Receipt {data.corrects_id} is already corrected.", code="already_corrected")
    receipt = FdiReceipt(project_id=project_id, received_on=data.received_on, amount=data.amount.amount,
                         currency=USD, note=data.note, corrects_id=data.corrects_id, actor_key_id=principal.key_id,
                         actor_name=principal.name)
    session.add(receipt)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"Receipt {data.corrects_id} is already corrected.", code="already_corrected") from exc
    read = _read(receipt, None)
    await audit.record(session, principal, action="fdi_receipt.create", resource_type="fdi_receipt",
                       resource_id=receipt.id or 0, after=read.model_dump(mode="json"))
    return read


def _read(receipt: FdiReceipt, corrected_by_id: int | None) -> FdiReceiptRead:
    return FdiReceiptRead(id=receipt.id or 0, project_id=receipt.project_id, received_on=receipt.received_on,
                          amount={"amount": receipt.amount, "currency": receipt.currency},  # type: ignore[arg-type]
                          note=receipt.note, corrects_id=receipt.corrects_id, corrected_by_id=corrected_by_id,
                          actor_key_id=receipt.actor_key_id, actor_name=receipt.actor_name,
                          recorded_at=receipt.recorded_at)


async def list_receipts(session: AsyncSession, principal: Principal, project_id: int, *, cursor: str | None,
                        limit: int) -> Page[FdiReceiptRead]:
    """A project's FDI receipts, in the order they were recorded."""
    await get_project(session, principal, project_id)
    correction = aliased(FdiReceipt)
    corrected_by = (select(col(correction.id)).where(col(correction.corrects_id) == col(FdiReceipt.id))
                    .scalar_subquery().label("corrected_by_id"))
    key = SortKey("id", FdiReceipt.id, pagination.decode_id(pagination.INT64_MAX))
    stmt = select(FdiReceipt, corrected_by).where(col(FdiReceipt.project_id) == project_id)
    stmt = pagination.apply(stmt, key=key, descending=False, id_column=FdiReceipt.id, cursor=cursor, limit=limit,
                            sort_label="fdi-receipts")
    rows = (await session.execute(stmt)).all()
    kept, next_cursor = pagination.page(rows, limit=limit, sort_label="fdi-receipts",
                                        key_of=lambda r: (r[0].id, r[0].id))
    return Page[FdiReceiptRead](items=[_read(r[0], r[1]) for r in kept], next_cursor=next_cursor)
