"""agent stop: an admin asks an agent to stop through the store

Revision ID: 0005
Revises: 0004

``agents`` gains ``stop_requested``: NULL, 'finish' (stop claiming, let the running
jobs end, then exit) or 'now' (release the running jobs for re-adoption and exit), set
by ``relaunch agent stop`` and read by the agent at each poll.
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy), as in 0004.
    op.add_column('agents', sa.Column('stop_requested', sa.String(length=8), nullable=True))


def downgrade() -> None:
    op.drop_column('agents', 'stop_requested')
