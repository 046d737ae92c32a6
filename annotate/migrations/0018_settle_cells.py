"""Stop-when-settled serving by cell (issue 31): each comparison's cell, the cells' counters, their triggers.

The trigger SQL and the fill are frozen here, as a migration's code must be; annotate.settle_cells
says what they mean (and runs the same fill for each campaign built from now on), and
`manage.py serving_check` recounts the counters.
"""

import django.db.models.deletion
from django.db import migrations, models

SLOTS = 16  # annotate.serving_models.SLOTS when this was written
OPEN = "(cell_id IS NOT NULL AND gold_answer IS NULL AND taken < needed)"


def _of(row: str, expression: str) -> str:
    for column in ("cell_id", "gold_answer", "taken", "needed"):
        expression = expression.replace(column, f"{row}.{column}")
    return expression


def fill(campaign_id: int) -> list[str]:
    """annotate.settle_cells._sql when this was written."""
    return [
        f"""INSERT INTO annotate_sequentialcell (campaign_id, system_a_id, system_b_id, category, setting, share,
        ratings, decisive, ci_low, ci_high, closed_rule)
        SELECT DISTINCT c.campaign_id, c.system_a_id, c.system_b_id, p.category, p.setting, 0.0, 0, 0, 0.0, 1.0, ''
        FROM annotate_comparison c JOIN eval_sets_prompt p ON p.id = c.prompt_id
        WHERE c.campaign_id = {campaign_id} AND c.system_a_id IS NOT NULL AND c.system_b_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM annotate_sequentialcell s WHERE s.campaign_id = c.campaign_id
        AND s.system_a_id = c.system_a_id AND s.system_b_id = c.system_b_id AND s.category = p.category
        AND s.setting = p.setting)""",
        f"""UPDATE annotate_comparison SET cell_id = s.id FROM eval_sets_prompt p, annotate_sequentialcell s
        WHERE annotate_comparison.campaign_id = {campaign_id} AND annotate_comparison.cell_id IS NULL
        AND p.id = annotate_comparison.prompt_id AND s.campaign_id = annotate_comparison.campaign_id
        AND s.system_a_id = annotate_comparison.system_a_id AND s.system_b_id = annotate_comparison.system_b_id
        AND s.category = p.category AND s.setting = p.setting""",
        f"DELETE FROM annotate_settletally WHERE cell_id IN (SELECT id FROM annotate_sequentialcell WHERE campaign_id = {campaign_id})",
        f"""INSERT INTO annotate_settletally (cell_id, slot, open_items)
        SELECT cell_id, id % {SLOTS}, SUM(CASE WHEN gold_answer IS NULL AND taken < needed THEN 1 ELSE 0 END)
        FROM annotate_comparison WHERE campaign_id = {campaign_id} AND cell_id IS NOT NULL GROUP BY 1, 2""",
    ]


# Moves only when a comparison starts or stops being an item of a cell with room.
CHANGED = f"({_of('OLD', OPEN)} <> {_of('NEW', OPEN)})"

SQLITE_ADD = f"""INSERT INTO annotate_settletally (cell_id, slot, open_items)
  SELECT NEW.cell_id, NEW.id % {SLOTS}, 1 WHERE {_of("NEW", OPEN)}
  ON CONFLICT (cell_id, slot) DO UPDATE SET open_items = open_items + 1;"""
SQLITE_TAKE_OUT = f"""UPDATE annotate_settletally SET open_items = open_items - 1
  WHERE {_of("OLD", OPEN)} AND cell_id = OLD.cell_id AND slot = OLD.id % {SLOTS};"""
SQLITE = [
    f"CREATE TRIGGER settle_tally_insert AFTER INSERT ON annotate_comparison WHEN {_of('NEW', OPEN)} BEGIN {SQLITE_ADD} END",
    f"CREATE TRIGGER settle_tally_delete AFTER DELETE ON annotate_comparison WHEN {_of('OLD', OPEN)} BEGIN {SQLITE_TAKE_OUT} END",
    f"""CREATE TRIGGER settle_tally_update AFTER UPDATE OF taken, needed, gold_answer ON annotate_comparison
    WHEN {CHANGED} BEGIN {SQLITE_TAKE_OUT} {SQLITE_ADD} END""",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS settle_tally_{op}" for op in ("insert", "delete", "update")]

# PostgreSQL: inserts and deletes by statement, over their transition tables (a build's COPY writes rows
# without a cell: they count nothing); updates by row, and only those that move a comparison in or out.
POSTGRES = [
    f"""CREATE FUNCTION annotate_settle_tally_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO annotate_settletally AS t (cell_id, slot, open_items)
    SELECT cell_id, id % {SLOTS}, COUNT(*) FROM new_rows WHERE {OPEN} GROUP BY 1, 2
    ON CONFLICT (cell_id, slot) DO UPDATE SET open_items = t.open_items + EXCLUDED.open_items;
    RETURN NULL; END $$""",
    f"""CREATE FUNCTION annotate_settle_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    UPDATE annotate_settletally AS t SET open_items = t.open_items - d.n
    FROM (SELECT cell_id, id % {SLOTS} AS slot, COUNT(*) AS n FROM old_rows WHERE {OPEN} GROUP BY 1, 2) AS d
    WHERE t.cell_id = d.cell_id AND t.slot = d.slot;
    RETURN NULL; END $$""",
    f"""CREATE FUNCTION annotate_settle_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF {_of("OLD", OPEN)} THEN
      UPDATE annotate_settletally SET open_items = open_items - 1 WHERE cell_id = OLD.cell_id AND slot = OLD.id % {SLOTS};
    END IF;
    IF {_of("NEW", OPEN)} THEN
      INSERT INTO annotate_settletally AS t (cell_id, slot, open_items) VALUES (NEW.cell_id, NEW.id % {SLOTS}, 1)
      ON CONFLICT (cell_id, slot) DO UPDATE SET open_items = t.open_items + 1;
    END IF;
    RETURN NULL; END $$""",
    """CREATE TRIGGER settle_tally_insert AFTER INSERT ON annotate_comparison
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION annotate_settle_tally_insert()""",
    """CREATE TRIGGER settle_tally_delete AFTER DELETE ON annotate_comparison
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION annotate_settle_tally_delete()""",
    f"""CREATE TRIGGER settle_tally_update AFTER UPDATE OF taken, needed, gold_answer ON annotate_comparison
    FOR EACH ROW WHEN ({CHANGED.replace(" <> ", " IS DISTINCT FROM ")}) EXECUTE FUNCTION annotate_settle_tally_update()""",
]
POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS settle_tally_{op} ON annotate_comparison"
    for op in ("insert", "delete", "update")
] + [f"DROP FUNCTION IF EXISTS annotate_settle_tally_{op}()" for op in ("insert", "delete", "update")]


def _run(schema_editor, statements: list[str]) -> None:
    for sql in statements:
        schema_editor.execute(sql, params=None)


def forwards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    _run(schema_editor, POSTGRES if vendor == "postgresql" else SQLITE)
    settled = apps.get_model("annotate", "Campaign").objects.filter(stop_when_settled=True)
    for campaign_id in settled.values_list("pk", flat=True):
        _run(schema_editor, fill(int(campaign_id)))


def backwards(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    _run(schema_editor, POSTGRES_DROP if vendor == "postgresql" else SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0017_build_progress"),
        ("eval_sets", "0003_conversations"),
        ("generation", "0008_conversations"),
    ]

    operations = [
        migrations.CreateModel(
            name="SettleTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("slot", models.PositiveSmallIntegerField()),
                ("open_items", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name="comparison",
            name="cell",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="annotate.sequentialcell",
            ),
        ),
        migrations.AddIndex(
            model_name="comparison",
            index=models.Index(
                condition=models.Q(
                    ("cell__isnull", False), ("gold_answer__isnull", True), ("taken__lt", models.F("needed"))
                ),
                fields=["cell", "label_rank", "order_key", "id"],
                name="comparison_cell_pool",
            ),
        ),
        migrations.AddField(
            model_name="settletally",
            name="cell",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="annotate.sequentialcell",
            ),
        ),
        migrations.AddConstraint(
            model_name="settletally",
            constraint=models.UniqueConstraint(fields=("cell", "slot"), name="settle_tally_slot"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
