"""The stage state machine and the append-only stage history.

    negotiating → signed → registered → preliminary → under_construction → in_production
          └───────────┴──────────┴────────────┴──────────────┴──→ terminated (with a reason)

Forward one stage at a time. Backward, or out of ``terminated``, only as an admin's
correction with a reason. Every move records its business date (``occurred_on``: not in
the future, not before the previous move), its principal and a note.
"""

from datetime import date

from app.errors import Conflict, Forbidden, InvalidInput
from app.models import Project, StageTransition
from app.models.enums import STAGE_ORDER, Stage, TransitionKind
from app.services.access.permissions import Action, Principal, allows


def classify(current: Stage, to: Stage) -> TransitionKind:
    """What kind of move ``current → to`` is, or 409 ``invalid_transition``."""
    if to == current:
        raise Conflict(f"The project is already {current}.", code="invalid_transition")
    if to == Stage.terminated:
        if current == Stage.in_production:
            raise Conflict("A project in production cannot be terminated.", code="invalid_transition")
        return TransitionKind.terminate
    if current == Stage.terminated:
        return TransitionKind.correction
    step = STAGE_ORDER.index(to) - STAGE_ORDER.index(current)
    if step == 1:
        return TransitionKind.advance
    if step > 1:
        nxt = STAGE_ORDER[STAGE_ORDER.index(current) + 1]
        raise Conflict(f"A project moves forward one stage at a time: from {current} the next stage is {nxt}.",
                       code="invalid_transition")
    return TransitionKind.correction


def forward_steps(current: Stage, to: Stage) -> list[Stage] | None:
    """The moves, one stage at a time, that take a project from ``current`` forward to ``to``
    (terminating is one move from anywhere); None when ``to`` is not ahead."""
    if to == Stage.terminated:
        return [Stage.terminated]
    if current == Stage.terminated or STAGE_ORDER.index(to) <= STAGE_ORDER.index(current):
        return None
    return list(STAGE_ORDER[STAGE_ORDER.index(current) + 1:STAGE_ORDER.index(to) + 1])


def check(principal: Principal, kind: TransitionKind, *, reason: str | None, occurred_on: date,
          previous_on: date | None, today: date) -> None:
    """The rules beyond the shape of the move: who, why and when."""
    if kind == TransitionKind.correction and not allows(principal, Action.project_correct):
        raise Forbidden("Moving a project backward is a correction, which only an admin may make.",
                        code="correction_requires_admin")
    if kind in (TransitionKind.terminate, TransitionKind.correction) and not reason:
        raise InvalidInput.field("reason", f"is required to {'terminate' if kind == 'terminate' else 'correct'}"
                                           " a project")
    if occurred_on > today:
        raise InvalidInput.field("occurred_on", f"must not be in the future (today is {today})")
    if previous_on is not None and occurred_on < previous_on:
        raise InvalidInput.field("occurred_on", f"must not be before the previous move, on {previous_on}")


def first_entry(project: Project, *, actor: Principal, note: str | None) -> StageTransition:
    """A project's creation is the first entry of its history."""
    assert project.id is not None
    return StageTransition(project_id=project.id, kind=TransitionKind.created, from_stage=None,
                           to_stage=project.stage, occurred_on=project.stage_entered_on, note=note,
                           actor_key_id=actor.key_id, actor_name=actor.name)
