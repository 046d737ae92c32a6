"""Indexes for the researcher pages at a million comparisons (issue 31).

- PostgreSQL only: pg_trgm and a GIN trigram index on each column the results browser's text search
  reads (annotate.results.search), upper-cased as Django's `icontains` compares them there. They are
  created in SQL, not declared on the models: SQLite has no GIN, and SQLite rebuilds a table (with
  every index its model declares) whenever a later migration alters it. Two are on eval_sets' prompts,
  created here because the search is annotate's.
- Both databases: ratings with a comment, by campaign and comparison (the results browser's comment
  filter, which otherwise reads every rating of the campaign); prompts by set and category (the
  browser's category choices, read one index probe per category; SQL for the same reason as above).
"""

from typing import Any

from django.db import migrations, models

# (index, table, column): Django's icontains on PostgreSQL is UPPER("column"::text) LIKE UPPER(pattern).
TRIGRAM_INDEXES = [
    ("comparisontexts_a_trgm", "annotate_comparisontexts", "text_a"),
    ("comparisontexts_b_trgm", "annotate_comparisontexts", "text_b"),
    ("prompt_text_trgm", "eval_sets_prompt", "text"),
    ("prompt_uid_trgm", "eval_sets_prompt", "uid"),
]


def trigram_indexes_create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # Not django.contrib.postgres's TrigramExtension: going back it asks SQLite for pg_extension.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def trigram_indexes_drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


CATEGORY_INDEX = "CREATE INDEX IF NOT EXISTS prompt_set_category ON eval_sets_prompt (eval_set_id, category)"


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0015_page_indexes"),
        ("eval_sets", "0003_conversations"),
    ]

    operations = [
        migrations.RunPython(trigram_indexes_create, trigram_indexes_drop, elidable=False),
        migrations.RunSQL(CATEGORY_INDEX, "DROP INDEX IF EXISTS prompt_set_category", elidable=False),
        migrations.AddIndex(
            model_name="rating",
            index=models.Index(
                fields=["campaign", "comparison"], condition=~models.Q(comment=""), name="rating_commented"
            ),
        ),
    ]
