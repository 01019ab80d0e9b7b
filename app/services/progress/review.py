"""The bureau's review (审核) of a filed report: accept it, or return it with a reason.

Accepting a version makes it its month's figure from that day; the version it replaces
(an earlier accepted one) stops counting that day (``superseded_on``), so the figures of
any earlier date are read as they were.
"""

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict
from app.models import ProgressReport, utcnow
from app.models.enums import ReportStatus, ReviewDecision
from app.models.progress import ProgressReportRead, ReviewCreate
from app.services.access.permissions import Principal
from app.services.common import audit, versioning
from app.services.events import outbox
from app.services.progress import reports


async def review(session: AsyncSession, principal: Principal, report_id: int, *, data: ReviewCreate,
                 if_match: str | None, today: date) -> ProgressReportRead:
    """Accept or return a submitted version (409 for one already reviewed)."""
    report = await reports.get(session, principal, report_id, for_update=True)
    versioning.check(if_match, report.version)
    if report.status != ReportStatus.submitted.value:
        raise Conflict(f"Report {report_id} is {report.status}, not submitted: only a submitted report is reviewed.",
                       code="report_not_submitted")
    now = utcnow()
    report.reviewed_by_key_id, report.reviewed_by, report.reviewed_at = principal.key_id, principal.name, now
    report.review_reason = data.reason
    replaced: list[ProgressReport] = []
    if data.decision == ReviewDecision.accept:
        replaced = list((await session.execute(select(ProgressReport).where(
            col(ProgressReport.project_id) == report.project_id, col(ProgressReport.year) == report.year,
            col(ProgressReport.month) == report.month, col(ProgressReport.id) != report.id,
            col(ProgressReport.status) == ReportStatus.accepted.value,
            col(ProgressReport.superseded_on).is_(None)))).scalars())
        for old in replaced:
            old.superseded_on, old.superseded_at = today, now
        report.status = ReportStatus.accepted.value
        report.accepted_at, report.accepted_on = now, today
    else:
        report.status = ReportStatus.returned.value
    await versioning.flush(session)
    answer = await reports.read(session, report)
    event = "accepted" if data.decision == ReviewDecision.accept else "returned"
    await audit.record(session, principal, action=f"progress_report.{data.decision.value}",
                       resource_type="progress_report", resource_id=report_id,
                       before={"status": ReportStatus.submitted.value},
                       after={"status": answer.status.value, "review_reason": data.reason,
                              "superseded": [o.id for o in replaced]})
    await outbox.emit(session, f"progress_report.{event}", {"progress_report": answer.model_dump(mode="json")})
    return answer
