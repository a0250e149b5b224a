"""Alembic's environment for the server's store: run by :meth:`relight.server.db.Database.migrate`.

The caller passes an open connection in ``config.attributes["connection"]``; batch mode lets
the same migrations ALTER tables on SQLite (which can barely ALTER) and on PostgreSQL.
"""

from __future__ import annotations

from alembic import context

from relight.server.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
