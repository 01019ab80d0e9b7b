"""approval_events: the first answer is the stored receipt alone (no HTTP status kept)

The status an approval system got (200, or 202 while the event waited for its project)
follows from the receipt's outcome, so the router derives it; the domain table keeps no
HTTP. Existing rows keep their meaning: 202 was stored exactly when the receipt
said ``unmatched``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('approval_events', schema=None) as batch_op:
        batch_op.drop_column('response_status')


def downgrade() -> None:
    with op.batch_alter_table('approval_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_status', sa.Integer(), nullable=True))
    op.execute("UPDATE approval_events SET response_status = CASE WHEN response_body LIKE '%\"outcome\":\"unmatched\"%' "
               "THEN 202 ELSE 200 END WHERE response_body IS NOT NULL")
