"""claim token: the fencing counter of an item's current claim

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy): SQLite keeps the partial indexes as they are.
    op.add_column('items', sa.Column('claim_token', sa.Integer(), nullable=False,
                                     server_default='0'))


def downgrade() -> None:
    op.drop_column('items', 'claim_token')
