"""registry, stage history, keys and audit

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 22:30:20.400558
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate may render sqlmodel types

import app.models.types
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('leaders',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leaders'))
    )
    op.create_table('units',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('contact', sa.String(length=100), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('name', name=op.f('uq_units_name'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('expires_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_api_keys_leader_id_leaders')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_api_keys_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix'))
    )
    op.create_table('projects',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=24), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('investor', sa.String(length=200), nullable=False),
    sa.Column('investor_country', sa.String(length=2), nullable=False),
    sa.Column('funding_source', sa.String(length=16), nullable=False),
    sa.Column('industry', sa.String(length=32), nullable=False),
    sa.Column('zone', sa.String(length=32), nullable=False),
    sa.Column('total_investment_amount', app.models.types.Amount(precision=20, scale=2), nullable=False),
    sa.Column('total_investment_currency', sa.String(length=3), nullable=False),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('stage_entered_on', sa.Date(), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('planned_sign_on', sa.Date(), nullable=True),
    sa.Column('planned_start_on', sa.Date(), nullable=True),
    sa.Column('planned_production_on', sa.Date(), nullable=True),
    sa.Column('on_hold', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_projects_leader_id_leaders')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_projects_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('code', name=op.f('uq_projects_code'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index('ix_projects_created_at_id', ['created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_funding_source'), ['funding_source'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_industry'), ['industry'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_leader_id'), ['leader_id'], unique=False)
        batch_op.create_index('ix_projects_name_id', ['name', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_stage'), ['stage'], unique=False)
        batch_op.create_index('ix_projects_stage_entered_on_id', ['stage_entered_on', 'id'], unique=False)
        batch_op.create_index('ix_projects_total_investment_amount_id', ['total_investment_amount', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index('ix_projects_updated_at_id', ['updated_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_zone'), ['zone'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('occurred_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_key_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('resource_type', sa.String(length=40), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['actor_key_id'], ['api_keys.id'], name=op.f('fk_audit_events_actor_key_id_api_keys')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index('ix_audit_events_actor_key_id_id', ['actor_key_id', 'id'], unique=False)
        batch_op.create_index('ix_audit_events_occurred_at_id', ['occurred_at', 'id'], unique=False)
        batch_op.create_index('ix_audit_events_resource', ['resource_type', 'resource_id', 'id'], unique=False)

    op.create_table('idempotency_records',
    sa.Column('actor_key_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('response_headers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_key_id'], ['api_keys.id'], name=op.f('fk_idempotency_records_actor_key_id_api_keys')),
    sa.PrimaryKeyConstraint('actor_key_id', 'key', name=op.f('pk_idempotency_records'))
    )
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_records_expires_at'), ['expires_at'], unique=False)

    op.create_table('project_designations',
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('designation', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_designations_project_id_projects')),
    sa.PrimaryKeyConstraint('project_id', 'designation', name=op.f('pk_project_designations'))
    )
    with op.batch_alter_table('project_designations', schema=None) as batch_op:
        batch_op.create_index('ix_project_designations_designation_status', ['designation', 'status'], unique=False)

    op.create_table('stage_transitions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_stage', sa.String(length=24), nullable=True),
    sa.Column('to_stage', sa.String(length=24), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('actor_key_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_key_id'], ['api_keys.id'], name=op.f('fk_stage_transitions_actor_key_id_api_keys')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_stage_transitions_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_transitions'))
    )
    with op.batch_alter_table('stage_transitions', schema=None) as batch_op:
        batch_op.create_index('ix_stage_transitions_occurred_on_left_on', ['occurred_on', 'left_on'], unique=False)
        batch_op.create_index('ix_stage_transitions_project_id_id', ['project_id', 'id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('stage_transitions', schema=None) as batch_op:
        batch_op.drop_index('ix_stage_transitions_project_id_id')
        batch_op.drop_index('ix_stage_transitions_occurred_on_left_on')

    op.drop_table('stage_transitions')
    with op.batch_alter_table('project_designations', schema=None) as batch_op:
        batch_op.drop_index('ix_project_designations_designation_status')

    op.drop_table('project_designations')
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_records_expires_at'))

    op.drop_table('idempotency_records')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_resource')
        batch_op.drop_index('ix_audit_events_occurred_at_id')
        batch_op.drop_index('ix_audit_events_actor_key_id_id')
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_zone'))
        batch_op.drop_index('ix_projects_updated_at_id')
        batch_op.drop_index(batch_op.f('ix_projects_unit_id'))
        batch_op.drop_index('ix_projects_total_investment_amount_id')
        batch_op.drop_index('ix_projects_stage_entered_on_id')
        batch_op.drop_index(batch_op.f('ix_projects_stage'))
        batch_op.drop_index('ix_projects_name_id')
        batch_op.drop_index(batch_op.f('ix_projects_leader_id'))
        batch_op.drop_index(batch_op.f('ix_projects_industry'))
        batch_op.drop_index(batch_op.f('ix_projects_funding_source'))
        batch_op.drop_index('ix_projects_created_at_id')

    op.drop_table('projects')
    op.drop_table('api_keys')
    op.drop_table('units')
    op.drop_table('leaders')

