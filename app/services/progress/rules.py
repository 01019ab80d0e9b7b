"""When a month's report is due, and which projects must report it.

A month's report is due on the ``due_day`` of the next month (``PROGRESS_REPORT_DUE_DAY``).
A project must report a month when, on the month's last day, it is in one of the
``stages`` (under construction), or in preliminary work holding a granted designation
among ``designations`` (city key project, key preliminary project). Designations are
not historised: today's grant is read for any month.
"""

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_
from sqlmodel import col

from app.config import Settings
from app.errors import InvalidInput
from app.models import Project, ProjectDesignation
from app.models.enums import Designation, DesignationStatus, Stage


@dataclass(frozen=True)
class ReportingRules:
    due_day: int
    stages: tuple[Stage, ...]
    designations: tuple[Designation, ...]

    def means(self) -> str:
        return (f"in stage {', '.join(self.stages)} on the month's last day, or preliminary with a granted "
                f"designation of {', '.join(self.designations) or 'none'}; due on day {self.due_day} of the next "
                "month")


def rules_of(settings: Settings) -> ReportingRules:
    return ReportingRules(due_day=settings.progress_report_due_day, stages=tuple(settings.progress_report_stages),
                          designations=tuple(settings.progress_report_designations))


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def due_on(year: int, month: int, due_day: int) -> date:
    """The day the month's report is due: ``due_day`` of the next month."""
    return date(year + month // 12, month % 12 + 1, due_day)


def previous(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def check_month(year: int, month: int, today: date, *, field: str = "month") -> None:
    """422 for a month after the current one: a month is reported once it has begun."""
    if (year, month) > (today.year, today.month):
        raise InvalidInput.field(field, f"{year}-{month:02d} is in the future (today is {today})")


def must_report(rules: ReportingRules, stage: Any, project_id: Any = None) -> ColumnElement[bool]:
    """Whether the project (``project_id``, by default ``projects.id`` of the query) in
    ``stage`` on the month's last day must report the month."""
    designated = exists().where(
        col(ProjectDesignation.project_id) == (col(Project.id) if project_id is None else project_id),
        col(ProjectDesignation.designation).in_([d.value for d in rules.designations]),
        col(ProjectDesignation.status) == DesignationStatus.granted.value)
    clauses: list[ColumnElement[bool]] = [stage.in_([s.value for s in rules.stages])]
    if rules.designations:
        clauses.append(and_(stage == Stage.preliminary.value, designated))
    return or_(*clauses)
