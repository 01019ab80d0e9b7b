"""Foreign investment: contracted (合同外资, on the project) and utilised (实际使用外资).

``utilised_fdi_query`` is the one source of utilised FDI: every figure that shows it (the
pipeline, targets, signing events, cohorts, and ``/stats/investment``'s ``fdi_utilised_ytd``)
is the sum of ``fdi_utilised`` in the accepted monthly reports (月报), each project-month
counted by the version that was its figure on the date asked (``counting_on``, the rule
``/stats/investment`` reads). The dated FDI receipts that stood in before the reports
carried ``fdi_utilised`` were moved into the reports by migration 0012; they stay readable,
and nothing records new ones (``docs/PROMOTION.md``).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import Subquery
from sqlmodel import col

from app.errors import Gone
from app.models import FdiReceipt, ProgressReport, Project
from app.models.enums import FundingSource
from app.models.promotion import FdiReceiptRead
from app.models.stats import ForeignInvestment, MoneyTotal
from app.services.access.permissions import Principal
from app.services.common import pagination
from app.services.common.pagination import Page, SortKey
from app.services.progress.reports import counted_by
from app.services.projects.projects import get_project

USD = "USD"
ZERO = Decimal("0.00")
SHARE_PLACES = Decimal("0.0001")


def share(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(SHARE_PLACES) if whole else None


def utilised_fdi_query(on: date, known_on: datetime | None = None) -> Subquery:
    """Per project, the foreign investment utilised (USD) by ``on``: (project_id, utilised),
    from the report versions that make the figures to ``on`` (``counted_by``), as recorded by
    ``known_on``."""
    r = ProgressReport
    return (select(col(r.project_id).label("project_id"), func.sum(col(r.fdi_utilised_amount)).label("utilised"))
            .where(col(r.fdi_utilised_amount).is_not(None), counted_by(on, known_on))
            .group_by(col(r.project_id)).subquery("utilised_fdi"))


def fdi_by(stmt: Any, keys: list[Any], on: date, *, projects: Any = Project, known_on: datetime | None = None
           ) -> Any:
    """Per value of ``keys`` over a query joining ``projects``: the foreign projects' count,
    contracted and utilised FDI (``n``, ``contracted``, ``utilised``), and the whole
    selection's (``all_n``, ``all_contracted``, ``all_utilised``) by window functions."""
    utilised = utilised_fdi_query(on, known_on)
    n, contracted = func.count(), func.sum(col(projects.contracted_fdi_amount))
    used = func.sum(utilised.c.utilised)
    return (stmt.outerjoin(utilised, utilised.c.project_id == col(projects.id))
            .where(col(projects.funding_source) == FundingSource.foreign.value)
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


def retired(project_id: int) -> Gone:
    """The answer to a new receipt: utilised FDI is filed in the monthly reports."""
    return Gone(f"FDI receipts are retired: file utilised foreign investment as fdi_utilised in the project's "
                f"monthly report, POST /api/v1/projects/{project_id}/progress-reports; it counts once the report "
                "is accepted.", code="fdi_receipts_retired",
                headers={"Link": f'</api/v1/projects/{project_id}/progress-reports>; rel="successor-version"'})


def _read(receipt: FdiReceipt, corrected_by_id: int | None) -> FdiReceiptRead:
    return FdiReceiptRead(id=receipt.id or 0, project_id=receipt.project_id, received_on=receipt.received_on,
                          amount={"amount": receipt.amount, "currency": receipt.currency},  # type: ignore[arg-type]
                          note=receipt.note, corrects_id=receipt.corrects_id, corrected_by_id=corrected_by_id,
                          actor_key_id=receipt.actor_key_id, actor_name=receipt.actor_name,
                          recorded_at=receipt.recorded_at)


async def list_receipts(session: AsyncSession, principal: Principal, project_id: int, *, cursor: str | None,
                        limit: int) -> Page[FdiReceiptRead]:
    """A project's FDI receipts (the stand-in before the monthly reports), in the order they were recorded."""
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
