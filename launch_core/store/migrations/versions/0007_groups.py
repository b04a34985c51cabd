"""groups: arrays, dependencies and sweeps group items

Revision ID: 0007
Revises: 0006

``items`` gains ``group_id`` (the group an array, or a sweep, put it in; indexed),
``array_index`` (its index in the array: RELAUNCH_ARRAY_INDEX) and ``held`` (queued
but waiting for its dependencies: no claim takes it). ``item_deps`` holds the
dependencies (``launch --after``): ``item_id`` waits until ``after_id`` finished; an
item waits only for older items, so they never form a cycle. The claim indexes become
partial on ``state = 'queued' AND NOT held``: held items cost a claim nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_QUEUED = "state = 'queued'"
_CLAIMABLE = "state = 'queued' AND NOT held"
_GROUPED = "group_id IS NOT NULL"
# The claim indexes (0001's plain claim, 0004's fair share), with their columns.
_CLAIM_INDEXES = {
    'ix_items_claim': ['queue_id', 'priority', 'enqueued_at', 'id'],
    'ix_items_fair_submitter': ['queue_id', 'submitter', 'priority', 'enqueued_at', 'id'],
    'ix_items_fair_project': ['queue_id', 'project', 'priority', 'enqueued_at', 'id'],
}


def _claim_indexes(where: str) -> None:
    for name, columns in _CLAIM_INDEXES.items():
        op.drop_index(name, table_name='items')
        op.create_index(name, 'items', columns, postgresql_where=sa.text(where),
                        sqlite_where=sa.text(where))


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch copy), as in 0004.
    op.add_column('items', sa.Column('group_id', sa.String(length=64), nullable=True))
    op.add_column('items', sa.Column('array_index', sa.Integer(), nullable=True))
    op.add_column('items', sa.Column('held', sa.Boolean(), nullable=False,
                                     server_default=sa.text('false')))
    op.create_index('ix_items_group', 'items', ['group_id'],
                    postgresql_where=sa.text(_GROUPED), sqlite_where=sa.text(_GROUPED))
    op.create_table(
        'item_deps',
        sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('after_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.CheckConstraint('after_id < item_id', name='ck_item_deps_older'),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['after_id'], ['items.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('item_id', 'after_id'),
    )
    op.create_index('ix_item_deps_after', 'item_deps', ['after_id'])
    _claim_indexes(_CLAIMABLE)


def downgrade() -> None:
    _claim_indexes(_QUEUED)
    op.drop_index('ix_item_deps_after', table_name='item_deps')
    op.drop_table('item_deps')
    op.drop_index('ix_items_group', table_name='items')
    for column in ('held', 'array_index', 'group_id'):
        op.drop_column('items', column)
