"""A project's attributes through time: what was true on a date, by what was recorded by an instant.

Each ``ProjectVersion`` holds the attributes the aggregates read (``HISTORISED``, and
whether the project is archived) for an interval of business dates, as recorded at an
instant until a later record superseded it. Nothing is rewritten:

    a change effective on E, recorded at T:
      every version believed before T whose interval reaches past E is superseded at T,
      and replaced by its copies cut at E: before E as it was, from E on with the change

So the world as it was on D, by what was recorded by K, is the one version per project
with ``valid_from <= D < valid_to`` and ``recorded_at <= K < superseded_at`` (nulls: open).
A project's first version holds since ever: whether it existed on a date is for its stage
history to say, and before its first day it has the attributes it was registered with.

A change may be dated in the past (a correction, a reassignment recorded late), but not
before a later change of the same attribute to another value: that would silently undo the
later one (409 ``later_change``).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict
from app.models import Project, ProjectVersion
from app.models.project import HISTORISED

_KEPT = (*HISTORISED, "archived")


@dataclass(frozen=True, slots=True)
class Dated:
    """A change of some of a project's historised attributes (or ``archived``), from ``effective_on``."""

    project_id: int
    effective_on: date
    values: Mapping[str, Any]


def begin(session: AsyncSession, projects: Sequence[Project], *, recorded_at: datetime) -> None:
    """The first version of each new project: as registered."""
    for p in projects:
        assert p.id is not None
        session.add(ProjectVersion(project_id=p.id, recorded_at=recorded_at,
                                   archived=False, **{name: getattr(p, name) for name in HISTORISED}))


async def believed(session: AsyncSession, project_ids: Sequence[int]) -> dict[int, list[ProjectVersion]]:
    """Each project's versions as now believed."""
    out: dict[int, list[ProjectVersion]] = {pid: [] for pid in project_ids}
    for start in range(0, len(project_ids), 500):
        stmt = (select(ProjectVersion)
                .where(col(ProjectVersion.project_id).in_(project_ids[start:start + 500]),
                       col(ProjectVersion.superseded_at).is_(None))
                .order_by(col(ProjectVersion.id)))
        for version in (await session.execute(stmt)).scalars():
            out[version.project_id].append(version)
    return out


def _start(version: ProjectVersion) -> date:
    return version.valid_from or date.min  # null: since ever


def check(versions: Sequence[ProjectVersion], change: Dated) -> list[ProjectVersion]:
    """The versions ``change`` supersedes (none when it changes nothing), after its checks."""
    reached = sorted((v for v in versions if v.valid_to is None or v.valid_to > change.effective_on),
                     key=_start)
    changed = [name for name, value in change.values.items() if any(getattr(v, name) != value for v in reached)]
    for name in changed:
        for earlier, later in pairwise(reached):
            # A later change of this field (not a cut made by another field's change) to another value.
            value = getattr(later, name)
            if value != getattr(earlier, name) and value != change.values[name]:
                raise Conflict(f"{name} changes again on {later.valid_from}: a change effective on "
                               f"{change.effective_on} would undo that change; date it on or after "
                               f"{later.valid_from}.", code="later_change",
                               errors=[{"field": "effective_on", "message": f"must not be before {later.valid_from}"}])
    return reached if changed else []


def record(session: AsyncSession, believed: dict[int, list[ProjectVersion]], changes: Sequence[Dated], *,
           recorded_at: datetime) -> None:
    """Record ``changes`` (each checked first: ``check``); ``believed`` is kept as the versions now believed."""
    for change in changes:
        versions = believed[change.project_id]
        superseded = check(versions, change)
        replacing: list[ProjectVersion] = []
        for old in superseded:
            old.superseded_at = recorded_at
            kept = {name: getattr(old, name) for name in _KEPT}
            if old.valid_from is None or old.valid_from < change.effective_on:
                replacing.append(ProjectVersion(project_id=old.project_id, valid_from=old.valid_from,
                                                valid_to=change.effective_on, recorded_at=recorded_at, **kept))
            replacing.append(ProjectVersion(project_id=old.project_id,
                                            valid_from=max(old.valid_from or change.effective_on,
                                                           change.effective_on),
                                            valid_to=old.valid_to, recorded_at=recorded_at,
                                            **{**kept, **change.values}))
        if superseded:
            gone = {id(v) for v in superseded}
            believed[change.project_id] = sorted([v for v in versions if id(v) not in gone] + replacing,
                                                 key=_start)
            session.add_all(replacing)
