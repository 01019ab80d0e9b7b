"""project versions: every attribute the aggregates read, historised in business and recording time;
when each stage-history entry was left

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 21:00:00.000000

Each existing project gets the history it can be given: its attributes as they are now,
valid since ever and recorded when it was created (what changed before this revision is
in the audit trail, not in these rows). An archived project counts
until the city's calendar day it was archived on, as recorded when it was archived.
"""

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate may render sqlmodel types

import app.models.types
from alembic import op
from app.config import get_settings

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ATTRIBUTES = ("investor_id", "funding_source", "industry", "zone", "total_investment_amount",
              "total_investment_currency", "leader_id", "unit_id", "planned_sign_on", "planned_start_on",
              "planned_production_on", "on_hold", "contracted_fdi_amount")


def upgrade() -> None:
    op.create_table('project_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('recorded_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('superseded_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('investor_id', sa.Integer(), nullable=True),
    sa.Column('funding_source', sa.String(length=16), nullable=False),
    sa.Column('industry', sa.String(length=32), nullable=False),
    sa.Column('zone', sa.String(length=32), nullable=False),
    sa.Column('total_investment_amount', app.models.types.Amount(precision=20, scale=2), nullable=False),
    sa.Column('total_investment_currency', sa.String(length=3), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('planned_sign_on', sa.Date(), nullable=True),
    sa.Column('planned_start_on', sa.Date(), nullable=True),
    sa.Column('planned_production_on', sa.Date(), nullable=True),
    sa.Column('on_hold', sa.Boolean(), nullable=False),
    sa.Column('contracted_fdi_amount', app.models.types.Amount(precision=20, scale=2), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['investor_id'], ['investors.id'], name=op.f('fk_project_versions_investor_id_investors')),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_project_versions_leader_id_leaders')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_versions_project_id_projects')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_project_versions_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_versions'))
    )
    with op.batch_alter_table('project_versions', schema=None) as batch_op:
        batch_op.create_index('ix_project_versions_project_id_valid_from', ['project_id', 'valid_from'],
                              unique=False)
        batch_op.create_index('ix_project_versions_valid_from_valid_to', ['valid_from', 'valid_to'], unique=False)
    with op.batch_alter_table('stage_transitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('left_recorded_at', app.models.types.UTCDateTime(timezone=True), nullable=True))
    # When each entry's left_on was written: when the next entry was recorded.
    history = sa.table("stage_transitions", sa.column("id"), sa.column("project_id"), sa.column("recorded_at"),
                       sa.column("left_on"), sa.column("left_recorded_at"))
    later = history.alias("later")
    op.execute(history.update().where(history.c.left_on.is_not(None)).values(left_recorded_at=(
        sa.select(later.c.recorded_at).where(later.c.project_id == history.c.project_id, later.c.id > history.c.id)
        .order_by(later.c.id).limit(1).scalar_subquery())))
    _backfill()


def _backfill() -> None:
    projects = sa.table("projects", sa.column("id"), sa.column("created_at"),
                        sa.column("archived_at", app.models.types.UTCDateTime()),
                        *(sa.column(name) for name in ATTRIBUTES))
    versions = sa.table("project_versions", sa.column("project_id"), sa.column("valid_from", sa.Date()),
                        sa.column("valid_to", sa.Date()), sa.column("recorded_at"), sa.column("superseded_at"),
                        sa.column("archived"), *(sa.column(name) for name in ATTRIBUTES))
    attributes = [projects.c[name] for name in ATTRIBUTES]
    names = ["project_id", "valid_from", "valid_to", "recorded_at", "superseded_at", "archived", *ATTRIBUTES]
    # As it was recorded at its creation; an archived project's row was superseded by its archiving.
    op.execute(versions.insert().from_select(names, sa.select(
        projects.c.id, sa.null(), sa.null(), projects.c.created_at, projects.c.archived_at, sa.false(),
        *attributes)))
    zone = ZoneInfo(get_settings().timezone)
    archived = op.get_bind().execute(sa.select(projects.c.id, projects.c.archived_at)
                                     .where(projects.c.archived_at.is_not(None))).all()
    for project_id, archived_at in archived:
        archived_on = archived_at.astimezone(zone).date()
        for valid_from, valid_to, is_archived in ((None, archived_on, False), (archived_on, None, True)):
            op.execute(versions.insert().from_select(names, sa.select(
                projects.c.id, sa.literal(valid_from, sa.Date()), sa.literal(valid_to, sa.Date()),
                projects.c.archived_at, sa.null(), sa.literal(is_archived), *attributes)
                .where(projects.c.id == project_id)))


def downgrade() -> None:
    with op.batch_alter_table('stage_transitions', schema=None) as batch_op:
        batch_op.drop_column('left_recorded_at')
    with op.batch_alter_table('project_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_project_versions_valid_from_valid_to')
        batch_op.drop_index('ix_project_versions_project_id_valid_from')

    op.drop_table('project_versions')
