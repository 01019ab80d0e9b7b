"""annual plan versions: a plan's planned investment historised in business and recording time;
when each report version stopped counting, as an instant

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 08:00:00.000000

Each existing plan gets the history it can be given: its amount as it is now, valid since
ever and recorded when the plan was created (what changed before this revision is in the
audit trail, not in these rows). A superseded report version stopped counting when the
version after it was accepted: the earliest later acceptance of the same month.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate may render sqlmodel types

import app.models.types
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0014's covering index, with the two instants that known_on reads.
INCLUDED = ['accepted_on', 'superseded_on', 'investment_amount', 'funds_own_funds', 'funds_bank_loans',
            'funds_government_funds', 'funds_special_bonds', 'funds_foreign_capital', 'funds_other',
            'fdi_utilised_amount']
INCLUDED_NOW = ['accepted_on', 'superseded_on', 'accepted_at', 'superseded_at', *INCLUDED[2:]]


def upgrade() -> None:
    op.create_table('annual_plan_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('recorded_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('superseded_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('planned_amount', app.models.types.Amount(precision=20, scale=2), nullable=False),
    sa.Column('planned_currency', sa.String(length=3), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['annual_plans.id'], name=op.f('fk_annual_plan_versions_plan_id_annual_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_plan_versions'))
    )
    with op.batch_alter_table('annual_plan_versions', schema=None) as batch_op:
        batch_op.create_index('ix_annual_plan_versions_plan_id_valid_from', ['plan_id', 'valid_from'], unique=False)
    plans = sa.table("annual_plans", sa.column("id"), sa.column("created_at"), sa.column("planned_amount"),
                     sa.column("planned_currency"))
    versions = sa.table("annual_plan_versions", sa.column("plan_id"), sa.column("recorded_at"),
                        sa.column("planned_amount"), sa.column("planned_currency"))
    op.execute(versions.insert().from_select(
        ["plan_id", "recorded_at", "planned_amount", "planned_currency"],
        sa.select(plans.c.id, plans.c.created_at, plans.c.planned_amount, plans.c.planned_currency)))

    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superseded_at', app.models.types.UTCDateTime(timezone=True), nullable=True))
    reports = sa.table("progress_reports", sa.column("id"), sa.column("project_id"), sa.column("year"),
                       sa.column("month"), sa.column("accepted_at"), sa.column("superseded_on"),
                       sa.column("superseded_at"))
    later = reports.alias("later")
    op.execute(reports.update().where(reports.c.superseded_on.is_not(None)).values(superseded_at=(
        sa.select(sa.func.min(later.c.accepted_at))
        .where(later.c.project_id == reports.c.project_id, later.c.year == reports.c.year,
               later.c.month == reports.c.month, later.c.accepted_at > reports.c.accepted_at)
        .scalar_subquery())))
    op.drop_index('ix_progress_reports_year_project_id_month', table_name='progress_reports')
    op.create_index('ix_progress_reports_year_project_id_month', 'progress_reports', ['year', 'project_id', 'month'],
                    unique=False, postgresql_include=INCLUDED_NOW)


def downgrade() -> None:
    op.drop_index('ix_progress_reports_year_project_id_month', table_name='progress_reports')
    op.create_index('ix_progress_reports_year_project_id_month', 'progress_reports', ['year', 'project_id', 'month'],
                    unique=False, postgresql_include=INCLUDED)
    with op.batch_alter_table('progress_reports', schema=None) as batch_op:
        batch_op.drop_column('superseded_at')
    with op.batch_alter_table('annual_plan_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_annual_plan_versions_plan_id_valid_from')
    op.drop_table('annual_plan_versions')
