"""Planner statistics for a benchmark's freshly written database, as a running site has them."""

from __future__ import annotations

from django.db import connection


def analyze_filled() -> list[str]:
    """ANALYZE every table that holds rows; returns the empty ones, which are left unanalysed.

    A benchmark writes its campaign in SQL and times it at once, before autovacuum's first pass, so
    it gathers statistics itself. An empty table is left as autovacuum leaves it (it waits for 50
    changes): analysed while empty, PostgreSQL would record it as empty, and the prepared statements
    of the rating path would keep plans that scan the rating and lease tables whole while the
    benchmark fills them within seconds. Unanalysed, the planner assumes a table of 10 pages at
    least, and takes the (campaign, rater) indexes as it does once autovacuum has seen the ratings.
    """
    if connection.vendor != "postgresql":
        return []
    empty = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(relname) FROM pg_class"
            " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY relname"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"SELECT EXISTS (SELECT FROM {table})")
            if cursor.fetchone()[0]:
                cursor.execute(f"ANALYZE {table}")
            else:
                empty.append(table)
    return empty
