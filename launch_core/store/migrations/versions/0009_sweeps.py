"""sweeps: a sweep's state and its trials, kept by its scheduler

Revision ID: 0009
Revises: 0008

``sweeps`` holds each sweep (``relaunch launch-sweep``): its entity, project, queue,
W&B sweep config, the seed of its search, its state (running, stopped, finished) and
the queue item that runs its scheduler. ``sweep_trials`` its trials, one row per trial
number (unique: a trial is launched once), each with the trial's parameters, Optuna's
record of it (launch_core.sweeps.sampler.TrialRecord), the item that runs it, its
state and its metric. The scheduler writes a trial's row in the transaction that
enqueues its item.
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'sweeps',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('entity', sa.String(length=64), nullable=False),
        sa.Column('project', sa.String(length=128), nullable=False, server_default=''),
        sa.Column('queue_id', Id, nullable=False),
        sa.Column('config', sa.JSON(), nullable=False),
        sa.Column('seed', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('scheduler_item', Id, nullable=True),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='sweeps_pkey'),
        sa.ForeignKeyConstraint(['queue_id'], ['queues.id'], name='fk_sweeps_queue',
                                ondelete='CASCADE'),
    )
    op.create_index('ix_sweeps_entity', 'sweeps', ['entity'])
    op.create_table(
        'sweep_trials',
        sa.Column('sweep_id', sa.String(length=64), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('record', sa.JSON(), nullable=False),
        sa.Column('item_id', Id, nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('metric', sa.Float(), nullable=True),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('sweep_id', 'number', name='sweep_trials_pkey'),
        sa.ForeignKeyConstraint(['sweep_id'], ['sweeps.id'], name='fk_sweep_trials_sweep',
                                ondelete='CASCADE'),
    )


def downgrade() -> None:
    op.drop_table('sweep_trials')
    op.drop_index('ix_sweeps_entity', table_name='sweeps')
    op.drop_table('sweeps')
