"""Keeping serving's tally triggers (annotate migrations 0013 and 0018) in place on SQLite after later migrations.

SQLite changes a table's columns by building a new table and copying the rows over, which drops the
table's triggers: a later migration that adds a non-null column to comparisons (or alters one)
would silently stop the tallies from following the rows. So after every `migrate` the triggers are
created again where missing; the copy wrote no row through them, so the tallies are still right.
PostgreSQL alters tables in place and keeps its triggers.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.db import connections

# Each migration that made triggers, and the table it made them for (absent before it ran).
_MIGRATIONS = (
    ("annotate.migrations.0013_serving_counters", "annotate_servingtally"),
    ("annotate.migrations.0018_settle_cells", "annotate_settletally"),
)


def serving_triggers_ensure(*, using: str = "default") -> None:
    """Create serving's tally triggers where missing (SQLite only; each set a no-op before its migration)."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for migration, table in _MIGRATIONS:
            if table not in tables:
                continue
            for sql in importlib.import_module(migration).SQLITE:
                cursor.execute(sql.replace("CREATE TRIGGER ", "CREATE TRIGGER IF NOT EXISTS ", 1))


def _after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    serving_triggers_ensure(using=using)
