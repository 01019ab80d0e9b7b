"""utilised FDI from one source: the FDI receipts move into the monthly reports

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 08:10:00.000000

No schema change. Utilised foreign investment (实际使用外资) is ``fdi_utilised`` in the
accepted monthly reports; the dated receipts that stood in for it become report versions
here, so that the figures read one source. The receipts that count (those no other receipt
corrects) are taken per project and month of ``received_on``:

- a month with no version that counts now (no report, or only returned or waiting ones):
  one accepted version per receipt day, carrying the month's receipts to that day
  (``investment_completed`` 0: the receipts said nothing of investment), accepted on that
  day, each superseded by the next; so utilised FDI on every past date is what it was;
- a month whose counting version has no ``fdi_utilised``: a new version with that
  version's figures and the receipts' sum, accepted today, the earlier one superseded
  today (a report's past is not rewritten);
- a month whose counting version has ``fdi_utilised``: the unit's reviewed figure stands
  and the receipts are not added (they would count the same money twice).

The receipts themselves stay, read-only. Each new version is audited
(``progress_report.file`` by ``migration 0012``, naming the receipts it carries). Running
it again adds nothing: every month it touched then has a counting version with FDI.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import groupby
from typing import Any

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate may render sqlmodel types

import app.models.types
from app.clock import local_date
from app.config import get_settings
from app.models.base import JSONDocument
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR = "migration 0012"
REPORT_COLUMNS = (
    "project_id", "year", "month", "revision", "status", "investment_amount", "construction_amount",
    "equipment_amount", "other_amount", "funds_own_funds", "funds_bank_loans", "funds_government_funds",
    "funds_special_bonds", "funds_foreign_capital", "funds_other", "fdi_utilised_amount", "physical_progress",
    "problems", "next_month_plan", "expected_investment", "not_required", "filed_by_key_id", "filed_by", "filed_at",
    "filed_on", "due_on", "late", "reviewed_by_key_id", "reviewed_by", "reviewed_at", "review_reason",
    "accepted_at", "accepted_on", "superseded_on", "version")
# Copied from the version a new one replaces: the month's figures as the unit reported them.
FIGURES = ("investment_amount", "construction_amount", "equipment_amount", "other_amount", "funds_own_funds",
           "funds_bank_loans", "funds_government_funds", "funds_special_bonds", "funds_foreign_capital",
           "funds_other", "physical_progress", "problems", "next_month_plan", "expected_investment", "not_required")

UTC_TIME = app.models.types.UTCDateTime(timezone=True)
AMOUNT = app.models.types.Amount()


def _reports() -> sa.TableClause:
    types: dict[str, Any] = {"id": sa.BigInteger(), "accepted_on": sa.Date(), "superseded_on": sa.Date(),
                             "filed_on": sa.Date(), "due_on": sa.Date(), "filed_at": UTC_TIME,
                             "reviewed_at": UTC_TIME, "accepted_at": UTC_TIME, "expected_investment": JSONDocument,
                             "not_required": sa.Boolean(), "late": sa.Boolean()}
    for name in REPORT_COLUMNS:
        if name.endswith("_amount") or name.startswith("funds_"):
            types[name] = AMOUNT
    return sa.table("progress_reports", *(sa.column(n, types.get(n)) for n in ("id", *REPORT_COLUMNS)))


def _due_on(year: int, month: int, due_day: int) -> date:
    return date(year + month // 12, month % 12 + 1, due_day)


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1) - date.resolution)


def _must_report(bind: sa.Connection, project_id: int, year: int, month: int) -> bool:
    """The reporting duty as the service reads it (app.services.progress.rules), in force now."""
    settings = get_settings()
    end = _month_end(year, month)
    stage = bind.execute(sa.text(
        "SELECT to_stage FROM stage_transitions WHERE project_id = :p AND occurred_on <= :end "
        "AND (left_on IS NULL OR left_on > :end) ORDER BY id DESC LIMIT 1"), {"p": project_id, "end": end}).scalar()
    if stage in {str(s) for s in settings.progress_report_stages}:
        return True
    designations = [str(d) for d in settings.progress_report_designations]
    if stage != "preliminary" or not designations:
        return False
    granted = bind.execute(sa.text(
        "SELECT count(*) FROM project_designations WHERE project_id = :p AND status = 'granted' "
        "AND designation IN :d").bindparams(sa.bindparam("d", expanding=True)),
        {"p": project_id, "d": designations}).scalar()
    return bool(granted)


def upgrade() -> None:
    bind = op.get_bind()
    reports = _reports()
    receipts = sa.table("fdi_receipts", sa.column("id", sa.BigInteger()), sa.column("project_id", sa.Integer()),
                        sa.column("received_on", sa.Date()), sa.column("amount", AMOUNT),
                        sa.column("corrects_id", sa.BigInteger()), sa.column("actor_key_id", sa.Integer()),
                        sa.column("actor_name", sa.String()), sa.column("recorded_at", UTC_TIME))
    audit = sa.table("audit_events", sa.column("occurred_at", UTC_TIME), sa.column("actor_key_id", sa.Integer()),
                     sa.column("actor_name", sa.String()), sa.column("action", sa.String()),
                     sa.column("resource_type", sa.String()), sa.column("resource_id", sa.String()),
                     sa.column("before", JSONDocument), sa.column("after", JSONDocument))
    correction = receipts.alias("correction")
    counting = (sa.select(receipts)
                .where(~sa.exists().where(correction.c.corrects_id == receipts.c.id))
                .order_by(receipts.c.project_id, receipts.c.received_on, receipts.c.id))
    rows = bind.execute(counting).all()
    now = datetime.now(UTC)
    today = local_date(now)
    due_day = get_settings().progress_report_due_day

    def month_of(r: Any) -> tuple[int, int, int]:
        return r.project_id, r.received_on.year, r.received_on.month

    for (project_id, year, month), group in groupby(rows, key=month_of):
        month_receipts = list(group)
        versions = bind.execute(sa.select(reports).where(
            reports.c.project_id == project_id, reports.c.year == year, reports.c.month == month)
            .order_by(reports.c.revision)).all()
        current = next((v for v in versions if v.status == "accepted" and v.superseded_on is None), None)
        if current is not None and current.fdi_utilised_amount is not None:
            continue
        revision = max((v.revision for v in versions), default=0)
        due = _due_on(year, month, due_day)
        made: list[dict[str, Any]] = []
        if current is None:
            required = _must_report(bind, project_id, year, month)
            total = Decimal(0)
            for day, same_day in groupby(month_receipts, key=lambda r: r.received_on):
                day_receipts = list(same_day)
                total += sum((r.amount for r in day_receipts), Decimal(0))
                last = day_receipts[-1]
                revision += 1
                filed_on = local_date(last.recorded_at)
                made.append({
                    **dict.fromkeys(REPORT_COLUMNS), "project_id": project_id, "year": year, "month": month,
                    "revision": revision, "status": "accepted", "investment_amount": Decimal(0),
                    "fdi_utilised_amount": total, "not_required": not required,
                    "filed_by_key_id": last.actor_key_id, "filed_by": last.actor_name, "filed_at": last.recorded_at,
                    "filed_on": filed_on, "due_on": due, "late": filed_on > due,
                    "reviewed_by_key_id": last.actor_key_id, "reviewed_by": last.actor_name,
                    "reviewed_at": last.recorded_at,
                    "review_reason": "实际使用外资到账记录迁入月报（到账记录 "
                                     + "、".join(f"#{r.id}" for r in month_receipts if r.received_on <= day) + "）",
                    "accepted_at": last.recorded_at, "accepted_on": day, "version": 1,
                    "_receipts": [r.id for r in month_receipts if r.received_on <= day]})
            for earlier, later in zip(made, made[1:], strict=False):
                earlier["superseded_on"] = later["accepted_on"]
        else:
            bind.execute(reports.update().where(reports.c.id == current.id)
                         .values(superseded_on=today, version=current.version + 1))
            made.append({
                **dict.fromkeys(REPORT_COLUMNS), **{name: getattr(current, name) for name in FIGURES},
                "project_id": project_id, "year": year, "month": month, "revision": revision + 1,
                "status": "accepted", "fdi_utilised_amount": sum((r.amount for r in month_receipts), Decimal(0)),
                "filed_by": ACTOR, "filed_at": now, "filed_on": today, "due_on": due, "late": today > due,
                "reviewed_by": ACTOR, "reviewed_at": now,
                "review_reason": f"第{current.revision}版加实际使用外资到账记录（"
                                 + "、".join(f"#{r.id}" for r in month_receipts) + "）",
                "accepted_at": now, "accepted_on": today, "version": 1,
                "_receipts": [r.id for r in month_receipts]})
        for values in made:
            carried = values.pop("_receipts")
            new_id = bind.execute(reports.insert().values(**values).returning(reports.c.id)).scalar_one()
            bind.execute(audit.insert().values(
                occurred_at=now, actor_key_id=None, actor_name=ACTOR, action="progress_report.file",
                resource_type="progress_report", resource_id=str(new_id), before=None,
                after={"project_id": project_id, "year": year, "month": month, "revision": values["revision"],
                       "status": "accepted", "accepted_on": values["accepted_on"].isoformat(),
                       "fdi_utilised": {"amount": str(values["fdi_utilised_amount"]), "currency": "USD"},
                       "from_fdi_receipts": carried,
                       "supersedes": None if current is None else current.id}))


def downgrade() -> None:
    # The versions made here are reports like any other and stay: nothing is deleted, and
    # upgrading again adds nothing (their months have a counting version with FDI).
    pass
