"""rate limit windows

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-28 23:45:27.946799
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate may render sqlmodel types

import app.models.types
from alembic import op


revision: str = '0006'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('rate_limit_windows',
    sa.Column('bucket', sa.String(length=64), nullable=False),
    sa.Column('window_start', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'window_start', name=op.f('pk_rate_limit_windows'))
    )



def downgrade() -> None:

    op.drop_table('rate_limit_windows')

