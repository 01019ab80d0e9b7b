"""approval items and their kinds, approval events, integration secrets, webhooks

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-28 22:42:31.742685
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate may render sqlmodel types

import app.models.types
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The catalogue of approval kinds a new database starts with (a frozen copy of
# app.models.approval.CATALOGUE as of this revision): code, name, time limit in days.
CATALOGUE = [
    ("project_approval_filing", "项目核准/备案", 20),
    ("land_pre_review_siting", "用地预审与选址", 20),
    ("land_use_planning_permit", "建设用地规划许可", 20),
    ("construction_planning_permit", "建设工程规划许可", 20),
    ("environmental_impact_assessment", "环境影响评价", 60),
    ("energy_conservation_review", "节能审查", 20),
    ("fire_protection_design_review", "消防设计审查", 15),
    ("water_soil_conservation", "水土保持方案审批", 20),
    ("construction_permit", "施工许可", 7),
]


def upgrade() -> None:
    op.create_table('approval_kinds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('default_time_limit_days', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_kinds')),
    sa.UniqueConstraint('code', name=op.f('uq_approval_kinds_code')),
    sa.UniqueConstraint('name', name=op.f('uq_approval_kinds_name'))
    )
    kinds = sa.table('approval_kinds', sa.column('code', sa.String), sa.column('name', sa.String),
                     sa.column('default_time_limit_days', sa.Integer), sa.column('version', sa.Integer),
                     sa.column('created_at', app.models.types.UTCDateTime(timezone=True)),
                     sa.column('updated_at', app.models.types.UTCDateTime(timezone=True)))
    now = datetime.now(UTC)
    op.bulk_insert(kinds, [{'code': code, 'name': name, 'default_time_limit_days': days, 'version': 1,
                            'created_at': now, 'updated_at': now} for code, name, days in CATALOGUE])
    op.create_table('outbox_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_outbox_events_event_id'))
    )
    op.create_table('webhook_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('event_types', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=100), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions'))
    )
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('outbox_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['outbox_event_id'], ['outbox_events.id'], name=op.f('fk_webhook_deliveries_outbox_event_id_outbox_events')),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscriptions.id'], name=op.f('fk_webhook_deliveries_subscription_id_webhook_subscriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('subscription_id', 'outbox_event_id', name=op.f('uq_webhook_deliveries_subscription_id'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_subscription_id_id', ['subscription_id', 'id'], unique=False)

    op.create_table('approval_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('authority', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('time_limit_days', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('decision_days', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('last_event_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['kind'], ['approval_kinds.code'], name=op.f('fk_approval_items_kind_approval_kinds')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_approval_items_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_items'))
    )
    with op.batch_alter_table('approval_items', schema=None) as batch_op:
        batch_op.create_index('ix_approval_items_kind_authority', ['kind', 'authority'], unique=False)
        batch_op.create_index('ix_approval_items_project_id_id', ['project_id', 'id'], unique=False)
        batch_op.create_index('ix_approval_items_status_due_on', ['status', 'due_on'], unique=False)

    op.create_table('integration_secrets',
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('created_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_integration_secrets_api_key_id_api_keys')),
    sa.PrimaryKeyConstraint('api_key_id', name=op.f('pk_integration_secrets'))
    )
    op.create_table('webhook_attempts',
    sa.Column('delivery_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('started_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries')),
    sa.PrimaryKeyConstraint('delivery_id', 'number', name=op.f('pk_webhook_attempts'))
    )
    op.create_table('approval_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('source_name', sa.String(length=100), nullable=False),
    sa.Column('received_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('occurred_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('project_code', sa.String(length=24), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('authority', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('time_limit_days', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('payload_hash', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('approval_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('applied_at', app.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_approval_events_api_key_id_api_keys')),
    sa.ForeignKeyConstraint(['approval_item_id'], ['approval_items.id'], name=op.f('fk_approval_events_approval_item_id_approval_items')),
    sa.ForeignKeyConstraint(['kind'], ['approval_kinds.code'], name=op.f('fk_approval_events_kind_approval_kinds')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_approval_events_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_approval_events_event_id'))
    )
    with op.batch_alter_table('approval_events', schema=None) as batch_op:
        batch_op.create_index('ix_approval_events_project_code_id', ['project_code', 'id'], unique=False)
        batch_op.create_index('ix_approval_events_project_id_id', ['project_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('approval_events', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_events_project_id_id')
        batch_op.drop_index('ix_approval_events_project_code_id')

    op.drop_table('approval_events')
    op.drop_table('webhook_attempts')
    op.drop_table('integration_secrets')
    with op.batch_alter_table('approval_items', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_items_status_due_on')
        batch_op.drop_index('ix_approval_items_project_id_id')
        batch_op.drop_index('ix_approval_items_kind_authority')

    op.drop_table('approval_items')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_subscription_id_id')
        batch_op.drop_index('ix_webhook_deliveries_status_next_attempt_at')

    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_subscriptions')
    op.drop_table('outbox_events')
    op.drop_table('approval_kinds')
