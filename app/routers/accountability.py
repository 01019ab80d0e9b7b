"""``/stats/difficulties``, ``/stats/supervision`` and ``/leaders/{id}/difficulties-summary``."""

from typing import Annotated

from fastapi import Query

from app.clock import today
from app.deps import Allowed, Session
from app.models.accountability import DifficultyStats, LeaderWorkload, SupervisionStats
from app.routers.common import Id, make_router, problems
from app.services.access.permissions import Action, Principal
from app.services.stats import accountability

router = make_router("/api/v1", "accountability")

Year = Annotated[int, Query(ge=2000, le=2100)]


@router.get("/stats/difficulties", response_model=DifficultyStats)
async def difficulty_stats(session: Session, principal: Principal = Allowed(Action.accountability_read),
                           year: Annotated[int | None, Query(ge=2000, le=2100, description=(
                               "Only difficulties raised in this year."))] = None) -> DifficultyStats:
    """Difficulties by category, unit, leader and status, with the median days to resolve and the
    share resolved on time (difficulties of archived projects are left out)."""
    return await accountability.difficulty_stats(session, today=today(), year=year)


@router.get("/stats/supervision", response_model=SupervisionStats)
async def supervision_stats(year: Year, session: Session,
                            principal: Principal = Allowed(Action.accountability_read)) -> SupervisionStats:
    """The year-end assessment (年终考评) of responsible units: per unit, the tasks due in `year`,
    done on time, done late, overdue and still open, ranked best first."""
    return await accountability.supervision_stats(session, year=year, today=today())


@router.get("/leaders/{leader_id}/difficulties-summary", response_model=LeaderWorkload, responses=problems(404))
async def leader_workload(leader_id: Id, session: Session, principal: Principal = Allowed(Action.accountability_read),
                          limit: Annotated[int, Query(ge=1, le=200, description="At most this many in each list.")]
                          = 50) -> LeaderWorkload:
    """A leader's open and overdue difficulties and the overdue tasks of supervised items on their
    projects: the difficulties part of the leader's dashboard."""
    return await accountability.leader_workload(session, leader_id=leader_id, today=today(), limit=limit)
