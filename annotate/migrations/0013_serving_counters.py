"""Serving's counters (issue 31): the tally table, the triggers that keep it, and its first fill.

The trigger SQL is frozen here, as a migration's code must be; annotate.serving_models says what
the counters mean and `manage.py serving_check` recounts them.
"""

import django.db.models.deletion
from django.db import migrations, models

SLOTS = 16  # annotate.serving_models.SLOTS when this was written
OPEN = "(gold_answer IS NULL AND taken < needed)"
GOLD = "(gold_answer IS NOT NULL)"

FILL = f"""
INSERT INTO annotate_servingtally (campaign_id, slot, open_items, gold_items)
SELECT campaign_id, id % {SLOTS}, SUM(CASE WHEN {OPEN} THEN 1 ELSE 0 END), SUM(CASE WHEN {GOLD} THEN 1 ELSE 0 END)
FROM annotate_comparison GROUP BY campaign_id, id % {SLOTS}
"""


def _of(row: str, expression: str) -> str:
    return (
        expression.replace("gold_answer", f"{row}.gold_answer")
        .replace("taken", f"{row}.taken")
        .replace("needed", f"{row}.needed")
    )


# Moves only when a comparison changes between open, full and gold: most updates of `taken` move nothing.
CHANGED = f"({_of('OLD', OPEN)} <> {_of('NEW', OPEN)} OR {_of('OLD', GOLD)} <> {_of('NEW', GOLD)})"

SQLITE_UPSERT = f"""INSERT INTO annotate_servingtally (campaign_id, slot, open_items, gold_items)
  VALUES (NEW.campaign_id, NEW.id % {SLOTS}, {_of("NEW", OPEN)}, {_of("NEW", GOLD)})
  ON CONFLICT (campaign_id, slot) DO UPDATE SET open_items = open_items + excluded.open_items,
  gold_items = gold_items + excluded.gold_items;"""
SQLITE_TAKE_OUT = f"""UPDATE annotate_servingtally SET open_items = open_items - {_of("OLD", OPEN)},
  gold_items = gold_items - {_of("OLD", GOLD)} WHERE campaign_id = OLD.campaign_id AND slot = OLD.id % {SLOTS};"""
SQLITE = [
    f"CREATE TRIGGER serving_tally_insert AFTER INSERT ON annotate_comparison BEGIN {SQLITE_UPSERT} END",
    f"CREATE TRIGGER serving_tally_delete AFTER DELETE ON annotate_comparison BEGIN {SQLITE_TAKE_OUT} END",
    f"""CREATE TRIGGER serving_tally_update AFTER UPDATE OF taken, needed, gold_answer ON annotate_comparison
    WHEN {CHANGED} BEGIN {SQLITE_TAKE_OUT} {SQLITE_UPSERT} END""",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS serving_tally_{op}" for op in ("insert", "delete", "update")]

# PostgreSQL: inserts and deletes by statement, over their transition tables (a campaign of a
# million comparisons is built in a few statements, not a million trigger calls); updates by row.
PG_SUMS = f"SUM(({OPEN})::int), SUM(({GOLD})::int)"
POSTGRES = [
    f"""CREATE FUNCTION annotate_serving_tally_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO annotate_servingtally AS t (campaign_id, slot, open_items, gold_items)
    SELECT campaign_id, id % {SLOTS}, {PG_SUMS} FROM new_rows GROUP BY 1, 2
    ON CONFLICT (campaign_id, slot) DO UPDATE SET open_items = t.open_items + EXCLUDED.open_items,
    gold_items = t.gold_items + EXCLUDED.gold_items;
    RETURN NULL; END $$""",
    f"""CREATE FUNCTION annotate_serving_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    UPDATE annotate_servingtally AS t SET open_items = t.open_items - d.o, gold_items = t.gold_items - d.g
    FROM (SELECT campaign_id, id % {SLOTS} AS slot, {PG_SUMS.replace("SUM(", "SUM(", 1)} FROM old_rows GROUP BY 1, 2)
    AS d (campaign_id, slot, o, g) WHERE t.campaign_id = d.campaign_id AND t.slot = d.slot;
    RETURN NULL; END $$""",
    f"""CREATE FUNCTION annotate_serving_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    UPDATE annotate_servingtally SET open_items = open_items - ({_of("OLD", OPEN)})::int,
    gold_items = gold_items - ({_of("OLD", GOLD)})::int WHERE campaign_id = OLD.campaign_id AND slot = OLD.id % {SLOTS};
    INSERT INTO annotate_servingtally AS t (campaign_id, slot, open_items, gold_items)
    VALUES (NEW.campaign_id, NEW.id % {SLOTS}, ({_of("NEW", OPEN)})::int, ({_of("NEW", GOLD)})::int)
    ON CONFLICT (campaign_id, slot) DO UPDATE SET open_items = t.open_items + EXCLUDED.open_items,
    gold_items = t.gold_items + EXCLUDED.gold_items;
    RETURN NULL; END $$""",
    """CREATE TRIGGER serving_tally_insert AFTER INSERT ON annotate_comparison
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION annotate_serving_tally_insert()""",
    """CREATE TRIGGER serving_tally_delete AFTER DELETE ON annotate_comparison
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION annotate_serving_tally_delete()""",
    f"""CREATE TRIGGER serving_tally_update AFTER UPDATE OF taken, needed, gold_answer ON annotate_comparison
    FOR EACH ROW WHEN ({CHANGED.replace(" <> ", " IS DISTINCT FROM ")}) EXECUTE FUNCTION annotate_serving_tally_update()""",
]
POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS serving_tally_{op} ON annotate_comparison"
    for op in ("insert", "delete", "update")
] + [f"DROP FUNCTION IF EXISTS annotate_serving_tally_{op}()" for op in ("insert", "delete", "update")]


def _run(schema_editor, statements: list[str]) -> None:
    for sql in statements:
        schema_editor.execute(sql, params=None)


def forwards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    _run(schema_editor, [FILL, *(POSTGRES if vendor == "postgresql" else SQLITE)])


def backwards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    _run(schema_editor, POSTGRES_DROP if vendor == "postgresql" else SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0012_conversations"),
        ("eval_sets", "0002_source_file"),
        ("generation", "0007_imported_answers_source_file"),
    ]

    operations = [
        migrations.CreateModel(
            name="ServingTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("slot", models.PositiveSmallIntegerField()),
                ("open_items", models.BigIntegerField(default=0)),
                ("gold_items", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AddIndex(
            model_name="comparison",
            index=models.Index(
                condition=models.Q(("gold_answer__isnull", True), ("taken__lt", models.F("needed"))),
                fields=["campaign", "label_rank", "order_key", "id"],
                name="comparison_pool",
            ),
        ),
        migrations.AddIndex(
            model_name="comparison",
            index=models.Index(
                condition=models.Q(("gold_answer__isnull", False)),
                fields=["campaign", "order_key"],
                name="comparison_gold",
            ),
        ),
        migrations.AddIndex(
            model_name="comparison",
            index=models.Index(
                condition=models.Q(("lease_check_at__isnull", False), ("taken__gte", models.F("needed"))),
                fields=["campaign", "lease_check_at"],
                name="comparison_may_open",
            ),
        ),
        migrations.AddField(
            model_name="servingtally",
            name="campaign",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="annotate.campaign",
            ),
        ),
        migrations.AddConstraint(
            model_name="servingtally",
            constraint=models.UniqueConstraint(fields=("campaign", "slot"), name="serving_tally_slot"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
