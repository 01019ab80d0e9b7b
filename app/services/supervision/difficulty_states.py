"""The difficulty status machine and the timeline entries its moves write.

    open ──start──→ in_progress ──resolve──→ resolved ──close──→ closed
                         ↑                       │
                         └─────────reject────────┘

The responsible unit starts work and resolves (with a resolution); the bureau or the
leader in charge confirms the resolution (closes) or rejects it (with a reason), which
sends the difficulty back to work. ``closed`` is final. Any other move is 409
``invalid_transition``. Every move records its business date (not in the future, not
before the previous entry), its principal and its text.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import Conflict, Forbidden, InvalidInput
from app.models import Difficulty, DifficultyEvent, utcnow
from app.models.enums import DifficultyEventKind, DifficultyStatus
from app.services.access.permissions import Action, Principal, allows

S, K = DifficultyStatus, DifficultyEventKind


@dataclass(frozen=True, slots=True)
class Move:
    kind: DifficultyEventKind
    action: Action  # which role may make it (see permissions.MATRIX)
    needs: str | None  # the body field it requires


MOVES: dict[tuple[DifficultyStatus, DifficultyStatus], Move] = {
    (S.open, S.in_progress):     Move(K.start, Action.difficulty_work, None),
    (S.in_progress, S.resolved): Move(K.resolve, Action.difficulty_work, "resolution"),
    (S.resolved, S.closed):      Move(K.close, Action.difficulty_confirm, None),
    (S.resolved, S.in_progress): Move(K.reject, Action.difficulty_confirm, "reason"),
}  # fmt: skip


def classify(current: DifficultyStatus, to: DifficultyStatus) -> Move:
    """The move ``current → to``, or 409 ``invalid_transition``."""
    move = MOVES.get((current, to))
    if move is None:
        allowed = sorted(str(b) for a, b in MOVES if a == current)
        detail = f"A difficulty cannot move from {current} to {to}"
        detail += f"; from {current} it may move to {', '.join(allowed)}." if allowed else f": {current} is final."
        raise Conflict(detail, code="invalid_transition")
    return move


def check(principal: Principal, move: Move, *, resolution: str | None, reason: str | None, occurred_on: date,
          previous_on: date, today: date) -> None:
    """The rules beyond the shape of the move: who, with what, and when."""
    if not allows(principal, move.action):
        who = "the responsible unit or the bureau" if move.action == Action.difficulty_work \
            else "the bureau or the leader in charge"
        raise Forbidden(f"Only {who} may {move.kind} a difficulty.")
    given = {"resolution": resolution, "reason": reason}
    if move.needs is not None and not given[move.needs]:
        raise InvalidInput.field(move.needs, f"is required to {move.kind} a difficulty")
    if occurred_on > today:
        raise InvalidInput.field("occurred_on", f"must not be in the future (today is {today})")
    if occurred_on < previous_on:
        raise InvalidInput.field("occurred_on", f"must not be before the previous entry, on {previous_on}")


async def last_entry_on(session: AsyncSession, difficulty: Difficulty) -> date:
    """The business date of the latest status entry (raising counts), which a move may not precede."""
    assert difficulty.id is not None
    latest = (await session.execute(
        select(func.max(col(DifficultyEvent.occurred_on))).where(
            col(DifficultyEvent.difficulty_id) == difficulty.id,
            col(DifficultyEvent.to_status).is_not(None)))).scalar_one_or_none()
    return latest or difficulty.raised_on


async def transition(session: AsyncSession, difficulty: Difficulty, *, to: DifficultyStatus,
                     occurred_on: date, resolution: str | None, reason: str | None, note: str | None,
                     actor: Principal, today: date) -> DifficultyEvent:
    """Move ``difficulty`` to status ``to`` and append the move to its timeline (not flushed)."""
    assert difficulty.id is not None
    current = DifficultyStatus(difficulty.status)
    move = classify(current, to)
    check(actor, move, resolution=resolution, reason=reason, occurred_on=occurred_on,
          previous_on=await last_entry_on(session, difficulty), today=today)
    if move.kind == K.resolve:
        difficulty.resolution, difficulty.resolved_on = resolution, occurred_on
    elif move.kind == K.reject:
        # The rejected resolution stays on the timeline, in its resolve entry.
        difficulty.resolution = difficulty.resolved_on = None
    elif move.kind == K.close:
        difficulty.closed_on = occurred_on
    text = {K.resolve: resolution, K.reject: reason}.get(move.kind)
    if note:
        text = f"{text}\n{note}" if text else note
    entry = DifficultyEvent(difficulty_id=difficulty.id, kind=move.kind, occurred_on=occurred_on,
                            from_status=current, to_status=to, note=text, actor_key_id=actor.key_id,
                            actor_name=actor.name)
    session.add(entry)
    difficulty.status = to
    difficulty.updated_at = utcnow()
    return entry


def raised_entry(difficulty: Difficulty, *, actor: Principal) -> DifficultyEvent:
    """Raising a difficulty is the first entry of its timeline."""
    assert difficulty.id is not None
    return DifficultyEvent(difficulty_id=difficulty.id, kind=K.raised, occurred_on=difficulty.raised_on,
                           to_status=difficulty.status, note=difficulty.description, actor_key_id=actor.key_id,
                           actor_name=actor.name)
