"""blob owner: a code tarball belongs to the entity that uploaded it

Revision ID: 0003
Revises: 0002

The key of ``blobs`` becomes (entity, digest). A stored tarball goes to the entity of
the job whose enqueue uploaded it: of the jobs naming its digest, the one enqueued
closest in time to the tarball's creation (enqueue writes both in one transaction,
so a job that named the digest before or after, in another entity, is further
away). A tarball no job names goes to UNOWNED, which is no entity's name.
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

UNOWNED = "(unowned)"  # not an entity name (models.NAME_PATTERN), so nobody's code

_blobs = sa.table("blobs", sa.column("entity", sa.String), sa.column("digest", sa.String),
                  sa.column("created_at", sa.Float))
_items = sa.table("items", sa.column("id", sa.Integer), sa.column("queue_id", sa.Integer),
                  sa.column("enqueued_at", sa.Float), sa.column("spec", sa.JSON))
_queues = sa.table("queues", sa.column("id", sa.Integer), sa.column("entity", sa.String))


def upgrade() -> None:
    op.add_column('blobs', sa.Column('entity', sa.String(length=64), nullable=True))
    _backfill()
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column('blobs', 'entity', existing_type=sa.String(length=64),
                        nullable=False)
        op.drop_constraint('blobs_pkey', 'blobs', type_='primary')
        op.create_primary_key('blobs_pkey', 'blobs', ['entity', 'digest'])
    else:
        _sqlite_copy(owned=True)


def _backfill() -> None:
    """Set each tarball's entity (one pass over the jobs that name a stored digest)."""
    conn = op.get_bind()
    code = _items.c.spec["code"].as_string()
    named = conn.execute(
        sa.select(_blobs.c.digest, _queues.c.entity,
                  sa.func.abs(_items.c.enqueued_at - _blobs.c.created_at), _items.c.id)
        .select_from(_blobs.join(_items, code == _blobs.c.digest)
                     .join(_queues, _queues.c.id == _items.c.queue_id)))
    owner: dict[str, tuple[float, int, str]] = {}
    for digest, entity, distance, item_id in named:
        if digest not in owner or (distance, item_id) < owner[digest][:2]:
            owner[digest] = (distance, item_id, entity)
    for digest, (_distance, _item, entity) in owner.items():
        conn.execute(_blobs.update().where(_blobs.c.digest == digest).values(entity=entity))
    conn.execute(_blobs.update().where(_blobs.c.entity.is_(None)).values(entity=UNOWNED))


def downgrade() -> None:
    # One tarball per digest again: the first stored (the same bytes in every copy).
    op.execute("DELETE FROM blobs WHERE EXISTS (SELECT 1 FROM blobs b WHERE "
               "b.digest = blobs.digest AND (b.created_at < blobs.created_at OR "
               "(b.created_at = blobs.created_at AND b.entity < blobs.entity)))")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint('blobs_pkey', 'blobs', type_='primary')
        op.create_primary_key('blobs_pkey', 'blobs', ['digest'])
        op.drop_column('blobs', 'entity')
    else:
        _sqlite_copy(owned=False)


def _sqlite_copy(*, owned: bool) -> None:
    """SQLite changes a primary key by copying the table (nothing refers to blobs,
    and it has no other index)."""
    key = ['entity', 'digest'] if owned else ['digest']
    op.create_table('_blobs_0003',
                    *([sa.Column('entity', sa.String(length=64), nullable=False)]
                      if owned else []),
                    sa.Column('digest', sa.String(length=71), nullable=False),
                    sa.Column('size', sa.BigInteger(), nullable=False),
                    sa.Column('data', sa.LargeBinary(), nullable=False),
                    sa.Column('created_at', sa.Float(), nullable=False),
                    sa.PrimaryKeyConstraint(*key, name='blobs_pkey'))
    columns = ", ".join([*key, 'size', 'data', 'created_at'])
    op.execute(f"INSERT INTO _blobs_0003 ({columns}) SELECT {columns} FROM blobs")
    op.drop_table('blobs')
    op.rename_table('_blobs_0003', 'blobs')
