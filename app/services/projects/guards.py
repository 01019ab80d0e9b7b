"""The two checks every resource that points at the registry makes.

- ``visible_project``: the project, if it exists and the key may see it; else 404, the
  same answer as for a project that does not exist, so a key learns nothing of others'.
- ``check_current``: what a write names (a leader, a unit, projects) exists and is not
  archived; else 422 naming the field. Archived ones stay on what already points at them.
"""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import InvalidInput, NotFound
from app.models import Leader, Project, Unit
from app.services.access.permissions import Principal, can_see_project

Referenced = type[Leader] | type[Unit] | type[Project]
_WHAT = {Leader: "leader", Unit: "unit", Project: "project"}


async def visible_project(session: AsyncSession, principal: Principal, project_id: int, *,
                          for_update: bool = False) -> Project:
    """The project, if it exists and ``principal`` may see it; else 404."""
    stmt = select(Project).where(col(Project.id) == project_id)
    if for_update:
        stmt = stmt.with_for_update()
    project = (await session.execute(stmt)).scalar_one_or_none()
    if project is None or not can_see_project(principal, project):
        raise NotFound(f"No project with id {project_id}.")
    return project


async def check_current(session: AsyncSession, model: Referenced, ids: int | Sequence[int] | None, *,
                        field: str) -> None:
    """422 naming ``field`` unless every id is a current (unarchived) row of ``model``."""
    wanted = [] if ids is None else [ids] if isinstance(ids, int) else list(ids)
    if not wanted:
        return
    found = set((await session.execute(select(model.id).where(  # type: ignore[call-overload]
        col(model.id).in_(wanted), col(model.archived_at).is_(None)))).scalars())
    missing = [i for i in wanted if i not in found]
    if missing:
        shown = ", ".join(str(i) for i in missing[:10]) + (" …" if len(missing) > 10 else "")
        raise InvalidInput.field(field, f"no current {_WHAT[model]} has id {shown}")
