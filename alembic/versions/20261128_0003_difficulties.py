"""difficulties and their timelines, escalation, supervised items, tasks and progress reports

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-28 22:45:14.920126
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate may render sqlmodel types

import app.models.types
from alembic import op

revision: str = '0003'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('difficulties',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=True),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('raised_by_key_id', sa.Integer(), nullable=True),
    sa.Column('raised_by', sa.String(length=100), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('escalation_level', sa.String(length=24), nullable=False),
    sa.Column('escalated_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_difficulties_leader_id_leaders')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_difficulties_project_id_projects')),
    sa.ForeignKeyConstraint(['raised_by_key_id'], ['api_keys.id'], name=op.f('fk_difficulties_raised_by_key_id_api_keys')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_difficulties_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_difficulties'))
    )
    with op.batch_alter_table('difficulties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_difficulties_category'), ['category'], unique=False)
        batch_op.create_index('ix_difficulties_created_at_id', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_difficulties_due_on_id', ['due_on', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_difficulties_escalation_level'), ['escalation_level'], unique=False)
        batch_op.create_index(batch_op.f('ix_difficulties_leader_id'), ['leader_id'], unique=False)
        batch_op.create_index('ix_difficulties_project_id_id', ['project_id', 'id'], unique=False)
        batch_op.create_index('ix_difficulties_status_due_on', ['status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_difficulties_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index('ix_difficulties_updated_at_id', ['updated_at', 'id'], unique=False)

    op.create_table('supervision_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=24), nullable=False),
    sa.Column('source_ref', sa.String(length=200), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_by_key_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_key_id'], ['api_keys.id'], name=op.f('fk_supervision_items_created_by_key_id_api_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_items'))
    )
    with op.batch_alter_table('supervision_items', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_items_created_at_id', ['created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_source'), ['source'], unique=False)
        batch_op.create_index('ix_supervision_items_updated_at_id', ['updated_at', 'id'], unique=False)

    op.create_table('difficulty_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('difficulty_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=True),
    sa.Column('from_level', sa.String(length=24), nullable=True),
    sa.Column('to_level', sa.String(length=24), nullable=True),
    sa.Column('days_overdue', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor_key_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_key_id'], ['api_keys.id'], name=op.f('fk_difficulty_events_actor_key_id_api_keys')),
    sa.ForeignKeyConstraint(['difficulty_id'], ['difficulties.id'], name=op.f('fk_difficulty_events_difficulty_id_difficulties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_difficulty_events')),
    sa.UniqueConstraint('difficulty_id', 'to_level', name=op.f('uq_difficulty_events_difficulty_id'))
    )
    with op.batch_alter_table('difficulty_events', schema=None) as batch_op:
        batch_op.create_index('ix_difficulty_events_difficulty_id_id', ['difficulty_id', 'id'], unique=False)

    op.create_table('supervision_item_projects',
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['supervision_items.id'], name=op.f('fk_supervision_item_projects_item_id_supervision_items')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_supervision_item_projects_project_id_projects')),
    sa.PrimaryKeyConstraint('item_id', 'project_id', name=op.f('pk_supervision_item_projects'))
    )
    with op.batch_alter_table('supervision_item_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_item_projects_project_id'), ['project_id'], unique=False)

    op.create_table('supervision_tasks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('last_reported_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('percent >= 0 AND percent <= 100', name=op.f('ck_supervision_tasks_percent_range')),
    sa.ForeignKeyConstraint(['item_id'], ['supervision_items.id'], name=op.f('fk_supervision_tasks_item_id_supervision_items')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_supervision_tasks_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_tasks'))
    )
    with op.batch_alter_table('supervision_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_tasks_deadline_id', ['deadline', 'id'], unique=False)
        batch_op.create_index('ix_supervision_tasks_item_id_id', ['item_id', 'id'], unique=False)
        batch_op.create_index('ix_supervision_tasks_unit_id_deadline', ['unit_id', 'deadline'], unique=False)

    op.create_table('supervision_progress_reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor_key_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('percent >= 0 AND percent <= 100', name=op.f('ck_supervision_progress_reports_percent_range')),
    sa.ForeignKeyConstraint(['actor_key_id'], ['api_keys.id'], name=op.f('fk_supervision_progress_reports_actor_key_id_api_keys')),
    sa.ForeignKeyConstraint(['task_id'], ['supervision_tasks.id'], name=op.f('fk_supervision_progress_reports_task_id_supervision_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_progress_reports'))
    )
    with op.batch_alter_table('supervision_progress_reports', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_progress_reports_task_id_id', ['task_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('supervision_progress_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_progress_reports_task_id_id')

    op.drop_table('supervision_progress_reports')
    with op.batch_alter_table('supervision_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_tasks_unit_id_deadline')
        batch_op.drop_index('ix_supervision_tasks_item_id_id')
        batch_op.drop_index('ix_supervision_tasks_deadline_id')

    op.drop_table('supervision_tasks')
    with op.batch_alter_table('supervision_item_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_item_projects_project_id'))

    op.drop_table('supervision_item_projects')
    with op.batch_alter_table('difficulty_events', schema=None) as batch_op:
        batch_op.drop_index('ix_difficulty_events_difficulty_id_id')

    op.drop_table('difficulty_events')
    with op.batch_alter_table('supervision_items', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_items_updated_at_id')
        batch_op.drop_index(batch_op.f('ix_supervision_items_source'))
        batch_op.drop_index('ix_supervision_items_created_at_id')

    op.drop_table('supervision_items')
    with op.batch_alter_table('difficulties', schema=None) as batch_op:
        batch_op.drop_index('ix_difficulties_updated_at_id')
        batch_op.drop_index(batch_op.f('ix_difficulties_unit_id'))
        batch_op.drop_index('ix_difficulties_status_due_on')
        batch_op.drop_index('ix_difficulties_project_id_id')
        batch_op.drop_index(batch_op.f('ix_difficulties_leader_id'))
        batch_op.drop_index(batch_op.f('ix_difficulties_escalation_level'))
        batch_op.drop_index('ix_difficulties_due_on_id')
        batch_op.drop_index('ix_difficulties_created_at_id')
        batch_op.drop_index(batch_op.f('ix_difficulties_category'))

    op.drop_table('difficulties')
