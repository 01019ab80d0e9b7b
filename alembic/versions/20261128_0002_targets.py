"""the year's targets, their dated member lists, and exchange rates to CNY

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 22:46:33.819963
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate may render sqlmodel types

import app.models.types
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('exchange_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('rate', app.models.types.Rate(precision=24, scale=10), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_rates')),
    sa.UniqueConstraint('currency', 'valid_from', name='uq_exchange_rates_currency_valid_from')
    )
    op.create_table('targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('goal_stage', sa.String(length=24), nullable=True),
    sa.Column('goal_designation', sa.String(length=24), nullable=True),
    sa.Column('target_count', sa.Integer(), nullable=False),
    sa.Column('target_amount', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('target_currency', sa.String(length=3), nullable=False),
    sa.Column('membership', sa.String(length=16), nullable=False),
    sa.Column('criterion', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('plan_rates', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_targets'))
    )
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.create_index('ix_targets_year_id', ['year', 'id'], unique=False)

    op.create_table('target_members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('added_on', sa.Date(), nullable=False),
    sa.Column('removed_on', sa.Date(), nullable=True),
    sa.Column('added_by', sa.String(length=100), nullable=False),
    sa.Column('added_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_by', sa.String(length=100), nullable=True),
    sa.Column('removed_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_target_members_project_id_projects')),
    sa.ForeignKeyConstraint(['target_id'], ['targets.id'], name=op.f('fk_target_members_target_id_targets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target_members'))
    )
    with op.batch_alter_table('target_members', schema=None) as batch_op:
        batch_op.create_index('ix_target_members_project_id', ['project_id'], unique=False)
        batch_op.create_index('ix_target_members_target_id_project_id', ['target_id', 'project_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('target_members', schema=None) as batch_op:
        batch_op.drop_index('ix_target_members_target_id_project_id')
        batch_op.drop_index('ix_target_members_project_id')

    op.drop_table('target_members')
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_index('ix_targets_year_id')

    op.drop_table('targets')
    op.drop_table('exchange_rates')
