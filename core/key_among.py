"""`KeyAmong(queryset)`: a row's primary key is among the keys a subquery gives, read by key.

PostgreSQL plans `pk IN (subquery)` as a join it costs from table statistics, and may join by
scanning the whole outer table (a campaign's comparisons) when its statistics are stale or small,
as they are in a campaign a few minutes old. `pk = ANY(ARRAY(subquery))` runs the subquery once,
first, and then looks each of its keys up in the primary key's index, whatever the statistics say:
the cost follows the subquery's rows, never the table's. SQLite plans `IN (subquery)` that way already.
"""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, F, Func, QuerySet, Subquery


class KeyAmong(Func):
    """A filter: the row's `pk` is one of the values the one-column `queryset` selects."""

    output_field = BooleanField()

    def __init__(self, queryset: QuerySet[Any]) -> None:
        super().__init__(F("pk"), Subquery(queryset))

    # Rendered "key IN (SELECT ...)"; on PostgreSQL "key = ANY(ARRAY(SELECT ...))".
    template = "%(expressions)s"
    arg_joiner = " IN "

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="%(expressions)s)", arg_joiner=" = ANY(ARRAY", **extra_context
        )
