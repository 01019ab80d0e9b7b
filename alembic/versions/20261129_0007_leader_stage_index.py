"""projects: an index on (leader_id, stage)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 02:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_projects_leader_id_stage', 'projects', ['leader_id', 'stage'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_projects_leader_id_stage', table_name='projects')
