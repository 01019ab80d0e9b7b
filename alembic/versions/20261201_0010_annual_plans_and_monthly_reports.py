"""annual plans and monthly reports (项目调度): annual_plans, progress_reports and their indexes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:40:30.861565
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate may render sqlmodel types

import app.models.types
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('annual_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('planned_amount', app.models.types.Amount(precision=20, scale=2), nullable=False),
    sa.Column('planned_currency', sa.String(length=3), nullable=False),
    sa.Column('progress_goal', sa.Text(), nullable=True),
    sa.Column('q1_amount', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('q2_amount', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('q3_amount', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('q4_amount', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_annual_plans_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_plans')),
    sa.UniqueConstraint('project_id', 'year', name='uq_annual_plans_project_id_year')
    )
    with op.batch_alter_table('annual_plans', schema=None) as batch_op:
        batch_op.create_index('ix_annual_plans_year_project_id', ['year', 'project_id'], unique=False)

    op.create_table('progress_reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('investment_amount', app.models.types.Amount(precision=20, scale=2), nullable=False),
    sa.Column('construction_amount', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('equipment_amount', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('other_amount', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('funds_own_funds', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('funds_bank_loans', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('funds_government_funds', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('funds_special_bonds', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('funds_foreign_capital', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('funds_other', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('fdi_utilised_amount', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('physical_progress', sa.Text(), nullable=True),
    sa.Column('problems', sa.Text(), nullable=True),
    sa.Column('next_month_plan', sa.Text(), nullable=True),
    sa.Column('expected_investment', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('not_required', sa.Boolean(), nullable=False),
    sa.Column('filed_by_key_id', sa.Integer(), nullable=True),
    sa.Column('filed_by', sa.String(length=100), nullable=False),
    sa.Column('filed_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('reviewed_by_key_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=100), nullable=True),
    sa.Column('reviewed_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_reason', sa.Text(), nullable=True),
    sa.Column('accepted_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('superseded_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['filed_by_key_id'], ['api_keys.id'], name=op.f('fk_progress_reports_filed_by_key_id_api_keys')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_progress_reports_project_id_projects')),
    sa.ForeignKeyConstraint(['reviewed_by_key_id'], ['api_keys.id'], name=op.f('fk_progress_reports_reviewed_by_key_id_api_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_reports')),
    sa.UniqueConstraint('project_id', 'year', 'month', 'revision', name='uq_progress_reports_month_revision')
    )
    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.create_index('ix_progress_reports_project_id_year_month', ['project_id', 'year', 'month'], unique=False)
        batch_op.create_index('ix_progress_reports_status_id', ['status', 'id'], unique=False)
        batch_op.create_index('ix_progress_reports_year_month_accepted', ['year', 'month', 'accepted_on', 'superseded_on', 'project_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_progress_reports_year_month_accepted')
        batch_op.drop_index('ix_progress_reports_status_id')
        batch_op.drop_index('ix_progress_reports_project_id_year_month')

    op.drop_table('progress_reports')
    with op.batch_alter_table('annual_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_annual_plans_year_project_id')

    op.drop_table('annual_plans')
