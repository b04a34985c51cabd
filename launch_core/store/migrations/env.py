"""Alembic environment: runs on the connection handed over by launch_core.store.engine."""

from __future__ import annotations

from alembic import context

from launch_core.store.schema import declare_indexes

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic revision --autogenerate` from a developer's shell
    from launch_core.store.engine import create_store_engine

    connection = create_store_engine(context.config.get_main_option("sqlalchemy.url")).connect()

context.configure(connection=connection, target_metadata=declare_indexes(), render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
