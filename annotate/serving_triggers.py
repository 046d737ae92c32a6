"""Keeping serving's tally triggers (annotate migration 0013) in place on SQLite after later migrations.

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

_MIGRATION = "annotate.migrations.0013_serving_counters"


def serving_triggers_ensure(*, using: str = "default") -> None:
    """Create serving's tally triggers where missing (SQLite only; a no-op before migration 0013)."""
    connection = connections[using]
    if connection.vendor != "sqlite" or "annotate_servingtally" not in connection.introspection.table_names():
        return
    statements = importlib.import_module(_MIGRATION).SQLITE
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql.replace("CREATE TRIGGER ", "CREATE TRIGGER IF NOT EXISTS ", 1))


def _after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    serving_triggers_ensure(using=using)
