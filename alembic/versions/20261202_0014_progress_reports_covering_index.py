"""progress_reports: a covering index in (year, project_id) order for /stats/investment

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 18:15:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns /stats/investment filters on and sums: with them in the index, PostgreSQL reads a
# year's reports by an index-only scan in project order and aggregates per project as it goes
# (no hash table to spill). SQLite has no INCLUDE and gets the key columns alone.
INCLUDED = ['accepted_on', 'superseded_on', 'investment_amount', 'funds_own_funds', 'funds_bank_loans',
            'funds_government_funds', 'funds_special_bonds', 'funds_foreign_capital', 'funds_other',
            'fdi_utilised_amount']


def upgrade() -> None:
    op.create_index('ix_progress_reports_year_project_id_month', 'progress_reports', ['year', 'project_id', 'month'],
                    unique=False, postgresql_include=INCLUDED)


def downgrade() -> None:
    op.drop_index('ix_progress_reports_year_project_id_month', table_name='progress_reports')
