"""launch jobs: named, versioned recipes an entity launches by name

Revision ID: 0008
Revises: 0007

``launch_jobs`` holds an entity's jobs (``relaunch job create``) and the number its
next version gets; ``launch_job_versions`` their versions v0, v1, ..., each with its
recipe (launch_core.spec.job_recipe.JobRecipe) and the recipe's content digest (one
version per digest); ``launch_job_aliases`` the aliases, each naming one version.
Deleting a job deletes its versions and aliases, deleting a version its aliases.
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'launch_jobs',
        sa.Column('entity', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('next_version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('entity', 'name', name='launch_jobs_pkey'),
    )
    op.create_table(
        'launch_job_versions',
        sa.Column('entity', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=71), nullable=False),
        sa.Column('recipe', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('entity', 'name', 'version', name='launch_job_versions_pkey'),
        sa.ForeignKeyConstraint(['entity', 'name'], ['launch_jobs.entity', 'launch_jobs.name'],
                                name='fk_launch_job_versions_job', ondelete='CASCADE'),
        sa.UniqueConstraint('entity', 'name', 'digest', name='uq_launch_job_versions_digest'),
    )
    op.create_table(
        'launch_job_aliases',
        sa.Column('entity', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('alias', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('entity', 'name', 'alias', name='launch_job_aliases_pkey'),
        sa.ForeignKeyConstraint(['entity', 'name', 'version'],
                                ['launch_job_versions.entity', 'launch_job_versions.name',
                                 'launch_job_versions.version'],
                                name='fk_launch_job_aliases_version', ondelete='CASCADE'),
    )


def downgrade() -> None:
    op.drop_table('launch_job_aliases')
    op.drop_table('launch_job_versions')
    op.drop_table('launch_jobs')
