"""Escalation (升级督办): overdue difficulties climb a ladder of who must clear them.

    unit (责任单位) ──after N days overdue──→ leader (包项目市领导) ──after M days──→ supervision_office (督查室)

The rungs and their days are settings (``escalation_ladder``). A periodic job moves every
unresolved difficulty (``open`` or ``in_progress``) of a current project up to the highest
rung its days overdue have reached, recording each rung climbed on its timeline with its
time and reason, and writing one audit event per difficulty.

Several service processes run the job at once, so a climb must happen once:
- candidates are read ``FOR UPDATE SKIP LOCKED`` (PostgreSQL): a row another run holds
  is left to that run;
- each climb is a conditional ``UPDATE ... WHERE escalation_level = :seen`` that only the
  first run to commit can satisfy (the later one finds the row changed and updates none);
- the timeline's unique (difficulty, to_level) refuses a second entry for one rung.
SQLite serializes writers (``BEGIN IMMEDIATE``), so there the second run waits and then
sees the first one's work.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app import clock
from app.config import EscalationRung, Settings
from app.models import Difficulty, DifficultyEvent, Project, utcnow
from app.models.enums import ESCALATION_ORDER, UNRESOLVED, DifficultyEventKind, EscalationLevel
from app.services.access.permissions import Principal
from app.services.common import audit
from app.services.events import outbox

log = logging.getLogger("app.escalation")

JOB_ACTOR = Principal.operator("escalation job")
MAX_BATCHES = 1000  # a bound on one run, far above any real backlog


@dataclass(frozen=True, slots=True)
class EscalationRun:
    examined: int = 0  # overdue-enough difficulties this run looked at
    escalated: int = 0  # difficulties that climbed
    steps: int = 0  # rungs climbed (a difficulty may climb several at once)

    def __add__(self, other: "EscalationRun") -> "EscalationRun":
        return EscalationRun(self.examined + other.examined, self.escalated + other.escalated,
                             self.steps + other.steps)


def _rank(level: str) -> int:
    return ESCALATION_ORDER.index(EscalationLevel(level))


def target_level(ladder: Sequence[EscalationRung], days_overdue: int) -> EscalationLevel:
    """The highest rung that ``days_overdue`` has reached."""
    reached = [r.level for r in ladder if days_overdue >= r.after_days]
    return reached[-1] if reached else EscalationLevel.unit


def _needs_climbing(ladder: Sequence[EscalationRung], today: date) -> Any:
    """Below some rung and overdue long enough for it, as a WHERE clause."""
    return or_(*(and_(col(Difficulty.escalation_level).in_(
                          [str(lv) for lv in ESCALATION_ORDER[:_rank(rung.level)]]),
                      col(Difficulty.due_on) <= today - timedelta(days=rung.after_days))
                 for rung in ladder))


async def escalate_overdue(session: AsyncSession, *, today: date, now: datetime, ladder: Sequence[EscalationRung],
                           actor: Principal = JOB_ACTOR, limit: int = 200) -> EscalationRun:
    """Climb up to ``limit`` overdue difficulties to the rung they have reached (flushed, not committed)."""
    if not ladder:
        return EscalationRun()
    current_projects = select(col(Project.id)).where(col(Project.archived_at).is_(None))
    candidates = (
        select(col(Difficulty.id), col(Difficulty.escalation_level), col(Difficulty.due_on))
        .where(col(Difficulty.status).in_([str(s) for s in UNRESOLVED]),
               col(Difficulty.project_id).in_(current_projects),
               _needs_climbing(ladder, today))
        .order_by(col(Difficulty.id))
        .limit(limit)
        .with_for_update(of=Difficulty, skip_locked=True)
    )
    rows = (await session.execute(candidates)).all()
    run = EscalationRun(examined=len(rows))
    for difficulty_id, seen, due_on in rows:
        assert difficulty_id is not None
        days = (today - due_on).days
        target = target_level(ladder, days)
        if _rank(target) <= _rank(seen):
            continue
        climbed = await session.execute(
            update(Difficulty)
            .where(col(Difficulty.id) == difficulty_id,
                   col(Difficulty.escalation_level) == seen,
                   col(Difficulty.status).in_([str(s) for s in UNRESOLVED]))
            .values(escalation_level=target, escalated_at=now, updated_at=now,
                    version=col(Difficulty.version) + 1)
            .execution_options(synchronize_session=False))
        if getattr(climbed, "rowcount", 0) != 1:
            continue  # another run (or a status change) got there first
        previous = EscalationLevel(seen)
        for rung in ladder:
            if _rank(seen) < _rank(rung.level) <= _rank(target):
                session.add(DifficultyEvent(
                    difficulty_id=difficulty_id, kind=DifficultyEventKind.escalate, occurred_on=today,
                    from_level=previous, to_level=rung.level, days_overdue=days, recorded_at=now,
                    actor_key_id=actor.key_id, actor_name=actor.name,
                    note=(f"{days} days past its due date ({due_on}); the ladder sends a difficulty to the "
                          f"{rung.level} after {rung.after_days} days overdue.")))
                previous = rung.level
                run += EscalationRun(steps=1)
        await audit.record(session, actor, action="difficulty.escalate", resource_type="difficulty",
                           resource_id=difficulty_id, before={"escalation_level": seen},
                           after={"escalation_level": str(target), "days_overdue": days})
        await outbox.emit(session, "difficulty.escalated", {
            "difficulty_id": difficulty_id, "previous_level": seen, "escalation_level": str(target),
            "days_overdue": days, "due_on": due_on})
        run += EscalationRun(escalated=1)
    await session.flush()
    return run


async def run_job(sessionmaker: async_sessionmaker[AsyncSession], *, today: date, now: datetime,
                  ladder: Sequence[EscalationRung], batch_size: int, actor: Principal = JOB_ACTOR) -> EscalationRun:
    """The job: escalate every overdue difficulty, one committed transaction per batch.

    Unlike the request services this owns its transactions, as the CLI does: short
    batches keep row locks brief while requests go on.
    """
    total = EscalationRun()
    for _ in range(MAX_BATCHES):
        async with sessionmaker() as session, session.begin():
            run = await escalate_overdue(session, today=today, now=now, ladder=ladder, actor=actor,
                                         limit=batch_size)
        total += run
        if run.examined < batch_size:
            break
    return total


async def periodic(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *,
                   today: Callable[[], date] = clock.today) -> None:
    """Run the job every ``escalation_interval_seconds`` until cancelled; a failed run is logged and retried."""
    while True:
        try:
            run = await run_job(sessionmaker, today=today(), now=utcnow(), ladder=settings.escalation_ladder,
                                batch_size=settings.escalation_batch_size)
            if run.escalated:
                log.info("escalated %d difficulties (%d steps)", run.escalated, run.steps)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("escalation job failed; retrying at the next interval")
        await asyncio.sleep(settings.escalation_interval_seconds)
