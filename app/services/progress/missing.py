"""未按时报送: per responsible unit, the projects that must report a month and have not,
and those that filed it after its due day (judged by the month's first filing)."""

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import ProgressReport, Project, Unit
from app.models.progress import MissingByUnit, MissingProject, MissingReports
from app.services.access.permissions import Principal, project_scope
from app.services.progress.rules import ReportingRules, check_month, due_on, month_end, must_report
from app.services.stats.timeline import active, projects_on


async def missing(session: AsyncSession, principal: Principal, *, year: int, month: int, rules: ReportingRules,
                  today: date) -> MissingReports:
    """The month's reporting duty per unit: how many must report, who has not, who was late."""
    check_month(year, month, today)
    due = due_on(year, month, rules.due_day)
    first = (select(col(ProgressReport.project_id).label("project_id"),
                    func.min(col(ProgressReport.filed_on)).label("filed_on"))
             .where(col(ProgressReport.year) == year, col(ProgressReport.month) == month)
             .group_by(col(ProgressReport.project_id)).subquery("first_filing"))
    base, state = projects_on(month_end(year, month))
    duty = (base.outerjoin(first, first.c.project_id == col(Project.id))
            .where(active(state.c.stage), must_report(rules, state.c.stage), project_scope(principal)))
    required = dict((await session.execute(duty.with_only_columns(col(Project.unit_id), func.count())
                                           .group_by(col(Project.unit_id)))).all())
    rows = (await session.execute(
        duty.with_only_columns(col(Project.id), col(Project.name), col(Project.unit_id), first.c.filed_on)
        .where((first.c.filed_on.is_(None)) | (first.c.filed_on > due)).order_by(col(Project.id)))).all()
    names = dict((await session.execute(select(col(Unit.id), col(Unit.name)))).all())
    items: dict[int | None, MissingByUnit] = {
        unit_id: MissingByUnit(unit_id=unit_id, unit_name=names.get(unit_id) if unit_id is not None else None,
                               required=int(n), missing=[], late=[])
        for unit_id, n in sorted(required.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))}
    for row in rows:
        entry = MissingProject(project_id=row.id, name=row.name, filed_on=row.filed_on,
                               late=row.filed_on is not None or today > due)
        (items[row.unit_id].missing if row.filed_on is None else items[row.unit_id].late).append(entry)
    return MissingReports(year=year, month=month, due_on=due, as_of=today, required_means=rules.means(),
                          items=list(items.values()))
