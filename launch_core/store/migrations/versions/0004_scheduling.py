"""scheduling: who submitted an item, what it demands, GPU slots, retries, quotas

Revision ID: 0004
Revises: 0003

``items`` gains ``submitter`` (the PostgreSQL role or OS user that enqueued it),
``project`` (its W&B project, '' for none), ``gpus`` (what its resource's
``demand()`` counted at enqueue), ``devices`` (the agent's GPU devices it holds while
active), ``retries`` (how many times a failed run was tried again) and ``raised``
(template values a retry raised, e.g. memory after an OOM, over the spec's own). ``agents``
gains ``gpus`` (the devices it shares out, or NULL). ``quotas`` holds the limits
``relaunch quota set`` writes. Items enqueued before this revision count as the
submitter '' and as GPUs not counted (NULL).
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_QUEUED = "state = 'queued'"
_ACTIVE = "state IN ('claimed', 'building', 'submitted', 'running')"


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch copy): SQLite keeps the partial indexes as they are.
    op.add_column('items', sa.Column('submitter', sa.String(length=128), nullable=False,
                                     server_default=''))
    op.add_column('items', sa.Column('project', sa.String(length=128), nullable=False,
                                     server_default=''))
    # NULL: enqueued before this revision, not counted (quotas count it as 0 and the
    # agent does not check it against the job's demand).
    op.add_column('items', sa.Column('gpus', sa.Integer(), nullable=True))
    op.add_column('items', sa.Column('devices', sa.JSON(), nullable=True))
    op.add_column('items', sa.Column('retries', sa.Integer(), nullable=False,
                                     server_default='0'))
    op.add_column('items', sa.Column('raised', sa.JSON(), nullable=True))
    op.add_column('agents', sa.Column('gpus', sa.JSON(), nullable=True))
    op.create_table(
        'quotas',
        sa.Column('entity', sa.String(length=64), nullable=False),
        # 'entity' (the whole entity), 'user' or 'project'; ``name`` is '' for 'entity'.
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('running', sa.Integer(), nullable=True),
        sa.Column('gpus', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('entity', 'scope', 'name', name='quotas_pkey'),
    )
    # Fair share takes the oldest queued item of one user (or project) of a queue.
    for column in ('submitter', 'project'):
        op.create_index(f'ix_items_fair_{column}', 'items',
                        ['queue_id', column, 'priority', 'enqueued_at', 'id'],
                        postgresql_where=sa.text(_QUEUED), sqlite_where=sa.text(_QUEUED))


def downgrade() -> None:
    for column in ('submitter', 'project'):
        op.drop_index(f'ix_items_fair_{column}', table_name='items')
    op.drop_table('quotas')
    op.drop_column('agents', 'gpus')
    for column in ('raised', 'retries', 'devices', 'gpus', 'project', 'submitter'):
        op.drop_column('items', column)
