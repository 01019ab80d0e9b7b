"""``/projects/{id}/difficulties`` and ``/difficulties``: difficulties, their statuses and timelines."""

from typing import Annotated

from fastapi import Depends, Query, Response, status

from app.clock import today
from app.deps import Allowed, IfMatch, Session
from app.models.difficulty import (
    DifficultyCreate,
    DifficultyEventRead,
    DifficultyNoteCreate,
    DifficultyRead,
    DifficultyTransition,
    DifficultyUpdate,
)
from app.models.enums import DifficultyCategory, DifficultyStatus, EscalationLevel
from app.routers.common import Cursor, Id, Limit, PositiveId, make_router, problems, set_etag
from app.services.access.permissions import Action, Principal
from app.services.common.pagination import Page
from app.services.supervision import difficulties
from app.services.supervision.difficulties import DifficultyFilters

router = make_router("/api/v1", "difficulties")

SORTS = ", ".join(difficulties.SORT_KEYS)
SORT_VALUES = [f"{d}{k}" for k in difficulties.SORT_KEYS for d in ("", "-")]
Sort = Annotated[str, Query(max_length=40, description=f"One of {SORTS}; prefix - to descend.",
                             json_schema_extra={"enum": SORT_VALUES})]


async def filters(
    status: Annotated[list[DifficultyStatus], Query(max_length=4)] = [],  # noqa: B006 - FastAPI copies defaults
    category: Annotated[list[DifficultyCategory], Query(max_length=10)] = [],  # noqa: B006
    escalation_level: Annotated[list[EscalationLevel], Query(max_length=3)] = [],  # noqa: B006
    unit_id: Annotated[list[PositiveId], Query(max_length=50)] = [],  # noqa: B006
    leader_id: Annotated[list[PositiveId], Query(max_length=50)] = [],  # noqa: B006
    overdue: Annotated[bool | None, Query(description="Only those unresolved past their due date (or, "
                                                      "false, the others).")] = None,
) -> DifficultyFilters:
    return DifficultyFilters(status=status, category=category, escalation_level=escalation_level, unit_id=unit_id,
                             leader_id=leader_id, overdue=overdue)


Filters = Annotated[DifficultyFilters, Depends(filters)]


@router.post("/projects/{project_id}/difficulties", status_code=status.HTTP_201_CREATED,
             response_model=DifficultyRead, responses=problems(404, 409))
async def raise_difficulty(project_id: Id, body: DifficultyCreate, response: Response, session: Session,
                           principal: Principal = Allowed(Action.difficulty_create)) -> DifficultyRead:
    """Raise a difficulty on a project. Its unit and leader default to the project's."""
    difficulty = await difficulties.raise_difficulty(session, principal, project_id, data=body, today=today())
    set_etag(response, difficulty.version)
    response.headers["Location"] = f"{router.prefix}/difficulties/{difficulty.id}"
    return difficulty


@router.get("/projects/{project_id}/difficulties", response_model=Page[DifficultyRead], responses=problems(404))
async def list_project_difficulties(project_id: Id, session: Session, flt: Filters,
                                    principal: Principal = Allowed(Action.difficulty_read),
                                    sort: Sort = "due_on", limit: Limit = 50,
                                    cursor: Cursor = None) -> Page[DifficultyRead]:
    """A project's difficulties, filtered, in keyset pages."""
    return await difficulties.list_project_difficulties(session, principal, project_id, filters=flt, sort=sort,
                                                        cursor=cursor, limit=limit, today=today())


@router.get("/difficulties", response_model=Page[DifficultyRead])
async def list_difficulties(session: Session, flt: Filters, principal: Principal = Allowed(Action.difficulty_read),
                            project_id: Annotated[list[PositiveId], Query(max_length=50)] = [],  # noqa: B006
                            sort: Sort = "due_on", limit: Limit = 50,
                            cursor: Cursor = None) -> Page[DifficultyRead]:
    """Difficulties across projects, filtered, in keyset pages. Repeat a filter to match any of its values."""
    flt.project_id = project_id
    return await difficulties.list_difficulties(session, principal, filters=flt, sort=sort, cursor=cursor,
                                                limit=limit, today=today())


@router.get("/difficulties/{difficulty_id}", response_model=DifficultyRead, responses=problems(404))
async def get_difficulty(difficulty_id: Id, response: Response, session: Session,
                         principal: Principal = Allowed(Action.difficulty_read)) -> DifficultyRead:
    """One difficulty; its ETag is what a change must send as If-Match."""
    difficulty = await difficulties.read_difficulty(session, principal, difficulty_id, today=today())
    set_etag(response, difficulty.version)
    return difficulty


@router.patch("/difficulties/{difficulty_id}", response_model=DifficultyRead,
              responses=problems(404, 409, 412, 428))
async def update_difficulty(difficulty_id: Id, body: DifficultyUpdate, if_match: IfMatch, response: Response,
                            session: Session,
                            principal: Principal = Allowed(Action.difficulty_update)) -> DifficultyRead:
    """Change a difficulty's title, description, category, unit, leader or due date. ``status``
    changes through transitions."""
    difficulty = await difficulties.update_difficulty(session, principal, difficulty_id, data=body,
                                                      if_match=if_match, today=today())
    set_etag(response, difficulty.version)
    return difficulty


@router.post("/difficulties/{difficulty_id}/transitions", status_code=status.HTTP_201_CREATED,
             response_model=DifficultyEventRead, responses=problems(404, 409, 412, 428))
async def move_difficulty(difficulty_id: Id, body: DifficultyTransition, if_match: IfMatch, response: Response,
                          session: Session,
                          principal: Principal = Allowed(Action.difficulty_transition)) -> DifficultyEventRead:
    """Move a difficulty: the responsible unit starts it (`in_progress`) and resolves it (`resolved`,
    with a `resolution`); the bureau or the leader in charge closes it (`closed`) or rejects the
    resolution (`in_progress`, with a `reason`). Any other move is 409 `invalid_transition`."""
    difficulty, entry = await difficulties.move_difficulty(session, principal, difficulty_id, data=body,
                                                           if_match=if_match, today=today())
    set_etag(response, difficulty.version)
    response.headers["Location"] = f"{router.prefix}/difficulties/{difficulty_id}/timeline"
    return entry


@router.post("/difficulties/{difficulty_id}/notes", status_code=status.HTTP_201_CREATED,
             response_model=DifficultyEventRead, responses=problems(404, 409))
async def add_note(difficulty_id: Id, body: DifficultyNoteCreate, response: Response, session: Session,
                   principal: Principal = Allowed(Action.difficulty_note)) -> DifficultyEventRead:
    """Add a dated progress note to a difficulty's timeline (the responsible unit, the leader in
    charge, or the bureau)."""
    entry = await difficulties.add_note(session, principal, difficulty_id, data=body, today=today())
    response.headers["Location"] = f"{router.prefix}/difficulties/{difficulty_id}/timeline"
    return entry


@router.get("/difficulties/{difficulty_id}/timeline", response_model=Page[DifficultyEventRead],
            responses=problems(404))
async def list_timeline(difficulty_id: Id, session: Session, principal: Principal = Allowed(Action.difficulty_read),
                        limit: Limit = 50, cursor: Cursor = None) -> Page[DifficultyEventRead]:
    """A difficulty's timeline, oldest first: raised, progress notes, status moves, escalations."""
    return await difficulties.list_timeline(session, principal, difficulty_id, cursor=cursor, limit=limit)
