"""The text search finds answers through their samples' texts, not through each comparison's copy (issue 31).

A comparison's two texts are copies of its samples' texts (the build copies the rated turn's selected
answers; only uploaded gold pairs have texts and no samples). Indexing the copies cost a build of a
million comparisons with real answers more than it cost to write them (bench: 100,000 comparisons in
21.3 s with the two trigram indexes, 8.5 s without), and every campaign over the same answers paid it
again. One trigram index on the samples' texts is paid once per answer, when the answers are stored.
PostgreSQL only, in SQL, as in 0016.
"""

from typing import Any

from django.db import migrations

SAMPLE_INDEX = 'CREATE INDEX IF NOT EXISTS sample_text_trgm ON generation_sample USING gin ((UPPER("text"::text)) gin_trgm_ops)'
TEXT_INDEXES = [("comparisontexts_a_trgm", "text_a"), ("comparisontexts_b_trgm", "text_b")]


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _column in TEXT_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute(SAMPLE_INDEX)


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS sample_text_trgm")
    for name, column in TEXT_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON annotate_comparisontexts"
            f' USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0019_comparison_fewer_indexes"),
        ("generation", "0008_conversations"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
