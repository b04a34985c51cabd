"""queue stats: indexes for relaunch queue stats

Revision ID: 0006
Revises: 0005

``relaunch queue stats`` reads, per queue, the items that ended in a window (their
final states, run times and failure reasons) and the runs that started in it (the
``submitted -> running`` events, and whether each is its item's first). Without these
indexes each of those reads every item or event of the queue.
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_START = "from_state = 'submitted' AND to_state = 'running'"


def upgrade() -> None:
    # Plain CREATE INDEX (no batch copy), as in 0004.
    op.create_index('ix_items_ended', 'items',
                    ['queue_id', 'finished_at', 'state', 'started_at'])
    op.create_index('ix_events_start_at', 'events', ['at', 'item_id'],
                    postgresql_where=sa.text(_START), sqlite_where=sa.text(_START))
    op.create_index('ix_events_start_item', 'events', ['item_id', 'id'],
                    postgresql_where=sa.text(_START), sqlite_where=sa.text(_START))


def downgrade() -> None:
    op.drop_index('ix_events_start_item', table_name='events')
    op.drop_index('ix_events_start_at', table_name='events')
    op.drop_index('ix_items_ended', table_name='items')
