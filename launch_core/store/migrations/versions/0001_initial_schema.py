"""initial schema

Revision ID: 0001
Revises: 
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('queues', sa.JSON(), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('max_jobs', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('heartbeat_at', sa.Float(), nullable=False),
    sa.Column('stopped_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('blobs',
    sa.Column('digest', sa.String(length=71), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('digest')
    )
    op.create_table('queues',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entity', 'name', name='uq_queues_entity_name')
    )
    op.create_table('items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('queue_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.SmallInteger(), nullable=False),
    sa.Column('enqueued_at', sa.Float(), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_attempts', sa.Integer(), server_default='3', nullable=False),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('lease_expires_at', sa.Float(), nullable=True),
    sa.Column('handle', sa.JSON(), nullable=True),
    sa.Column('stage', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('resume_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.Float(), nullable=True),
    sa.Column('finished_at', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['queue_id'], ['queues.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id')
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index('ix_items_agent', ['agent_id'], unique=False, postgresql_where=sa.text("state IN ('claimed', 'building', 'submitted', 'running')"), sqlite_where=sa.text("state IN ('claimed', 'building', 'submitted', 'running')"))
        batch_op.create_index('ix_items_claim', ['queue_id', 'priority', 'enqueued_at', 'id'], unique=False, postgresql_where=sa.text("state = 'queued'"), sqlite_where=sa.text("state = 'queued'"))
        batch_op.create_index('ix_items_lease', ['lease_expires_at'], unique=False, postgresql_where=sa.text("state IN ('claimed', 'building', 'submitted', 'running')"), sqlite_where=sa.text("state IN ('claimed', 'building', 'submitted', 'running')"))
        batch_op.create_index('ix_items_orphans', ['queue_id'], unique=False, postgresql_where=sa.text("state IN ('submitted', 'running') AND agent_id IS NULL"), sqlite_where=sa.text("state IN ('submitted', 'running') AND agent_id IS NULL"))
        batch_op.create_index('ix_items_queue_state', ['queue_id', 'state'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_item_id'), ['item_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_item_id'))

    op.drop_table('events')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_queue_state')
        batch_op.drop_index('ix_items_orphans', postgresql_where=sa.text("state IN ('submitted', 'running') AND agent_id IS NULL"), sqlite_where=sa.text("state IN ('submitted', 'running') AND agent_id IS NULL"))
        batch_op.drop_index('ix_items_lease', postgresql_where=sa.text("state IN ('claimed', 'building', 'submitted', 'running')"), sqlite_where=sa.text("state IN ('claimed', 'building', 'submitted', 'running')"))
        batch_op.drop_index('ix_items_claim', postgresql_where=sa.text("state = 'queued'"), sqlite_where=sa.text("state = 'queued'"))
        batch_op.drop_index('ix_items_agent', postgresql_where=sa.text("state IN ('claimed', 'building', 'submitted', 'running')"), sqlite_where=sa.text("state IN ('claimed', 'building', 'submitted', 'running')"))

    op.drop_table('items')
    op.drop_table('queues')
    op.drop_table('blobs')
    op.drop_table('agents')
