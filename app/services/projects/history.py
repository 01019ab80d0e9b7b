"""Attributes through time: what was true on a date, by what was recorded by an instant.

Two tables of versions keep them the same way (a ``Kind`` each): ``ProjectVersion``, the
project's attributes the aggregates read (``HISTORISED``, and whether it is archived), and
``AnnualPlanVersion``, an annual plan's planned investment. Each version holds its
attributes for an interval of business dates, as recorded at an instant until a later record
superseded it. Nothing is rewritten:

    a change effective on E, recorded at T:
      every version believed before T whose interval reaches past E is superseded at T,
      and replaced by its copies cut at E: before E as it was, from E on with the change

So the world as it was on D, by what was recorded by K, is the one version of each owner
with ``valid_from <= D < valid_to`` and ``recorded_at <= K < superseded_at`` (nulls: open).
A first version holds since ever: whether a project existed on a date is for its stage
history to say, and before its first day it has the attributes it was registered with (a
plan, the amount it was first set to).

A change may be dated in the past (a correction, a reassignment recorded late), but not
before a later change of the same attribute to another value: that would silently undo the
later one (409 ``later_change``).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict
from app.models import AnnualPlanVersion, ProjectVersion
from app.models.progress import PLAN_HISTORISED
from app.models.project import HISTORISED

Version = ProjectVersion | AnnualPlanVersion


@dataclass(frozen=True)
class Kind:
    """One table of versions: its model, the column naming what a version is of, the attributes
    it keeps, and those a first version takes as given rather than from its owner."""

    model: type[ProjectVersion] | type[AnnualPlanVersion]
    owner: str
    kept: tuple[str, ...]
    first: Mapping[str, Any] = field(default_factory=dict)

    def version(self, owner_id: int, **values: Any) -> Any:
        owned: dict[str, Any] = {self.owner: owner_id, **values}
        return self.model(**owned)


PROJECT = Kind(ProjectVersion, "project_id", (*HISTORISED, "archived"), {"archived": False})
PLAN = Kind(AnnualPlanVersion, "plan_id", PLAN_HISTORISED)


@dataclass(frozen=True, slots=True)
class Dated:
    """A change of some of the kept attributes of one owner (a project, a plan), from ``effective_on``."""

    owner_id: int
    effective_on: date
    values: Mapping[str, Any]


def begin(session: AsyncSession, owners: Sequence[Any], *, recorded_at: datetime, kind: Kind = PROJECT) -> None:
    """The first version of each new owner: as registered."""
    for o in owners:
        assert o.id is not None
        session.add(kind.version(o.id, recorded_at=recorded_at,
                                 **{name: kind.first[name] if name in kind.first else getattr(o, name)
                                    for name in kind.kept}))


async def believed(session: AsyncSession, owner_ids: Sequence[int], *, kind: Kind = PROJECT
                   ) -> dict[int, list[Any]]:
    """Each owner's versions as now believed."""
    out: dict[int, list[Any]] = {oid: [] for oid in owner_ids}
    owner = col(getattr(kind.model, kind.owner))
    for start in range(0, len(owner_ids), 500):
        stmt = (select(kind.model)
                .where(owner.in_(owner_ids[start:start + 500]), col(kind.model.superseded_at).is_(None))
                .order_by(col(kind.model.id)))
        for version in (await session.execute(stmt)).scalars():
            out[getattr(version, kind.owner)].append(version)
    return out


def _start(version: Version) -> date:
    return version.valid_from or date.min  # null: since ever


def check(versions: Sequence[Version], change: Dated) -> list[Version]:
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


def record(session: AsyncSession, believed: dict[int, list[Any]], changes: Sequence[Dated], *,
           recorded_at: datetime, kind: Kind = PROJECT) -> None:
    """Record ``changes`` (each checked first: ``check``); ``believed`` is kept as the versions now believed."""
    for change in changes:
        versions = believed[change.owner_id]
        superseded = check(versions, change)
        replacing: list[Version] = []
        for old in superseded:
            old.superseded_at = recorded_at
            kept = {name: getattr(old, name) for name in kind.kept}
            if old.valid_from is None or old.valid_from < change.effective_on:
                replacing.append(kind.version(change.owner_id, valid_from=old.valid_from,
                                              valid_to=change.effective_on, recorded_at=recorded_at, **kept))
            replacing.append(kind.version(change.owner_id,
                                          valid_from=max(old.valid_from or change.effective_on, change.effective_on),
                                          valid_to=old.valid_to, recorded_at=recorded_at,
                                          **{**kept, **change.values}))
        if superseded:
            gone = {id(v) for v in superseded}
            believed[change.owner_id] = sorted([v for v in versions if id(v) not in gone] + replacing, key=_start)
            session.add_all(replacing)
