import django.db.models.deletion
from django.db import migrations, models

_BATCH = 500


def texts_out(apps, schema_editor):
    """Copy each comparison's two responses into its ComparisonTexts row, in batches."""
    Comparison = apps.get_model("annotate", "Comparison")
    ComparisonTexts = apps.get_model("annotate", "ComparisonTexts")
    rows = Comparison.objects.order_by("pk").values_list("pk", "text_a", "text_b")
    batch = []
    for pk, text_a, text_b in rows.iterator(chunk_size=_BATCH):
        batch.append(ComparisonTexts(comparison_id=pk, text_a=text_a, text_b=text_b))
        if len(batch) == _BATCH:
            ComparisonTexts.objects.bulk_create(batch)
            batch = []
    ComparisonTexts.objects.bulk_create(batch)


def texts_back(apps, schema_editor):
    Comparison = apps.get_model("annotate", "Comparison")
    ComparisonTexts = apps.get_model("annotate", "ComparisonTexts")
    for texts in ComparisonTexts.objects.order_by("pk").iterator(chunk_size=_BATCH):
        Comparison.objects.filter(pk=texts.comparison_id).update(text_a=texts.text_a, text_b=texts.text_b)


class Migration(migrations.Migration):
    dependencies = [("annotate", "0004_comparison_taken_counter")]

    operations = [
        migrations.CreateModel(
            name="ComparisonTexts",
            fields=[
                (
                    "comparison",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="texts",
                        serialize=False,
                        to="annotate.comparison",
                    ),
                ),
                ("text_a", models.TextField()),
                ("text_b", models.TextField()),
            ],
        ),
        migrations.RunPython(texts_out, texts_back),
        # A default only so that unapplying can add the columns back to existing rows before
        # texts_back fills them.
        migrations.AlterField(model_name="comparison", name="text_a", field=models.TextField(default="")),
        migrations.AlterField(model_name="comparison", name="text_b", field=models.TextField(default="")),
        migrations.RemoveField(model_name="comparison", name="text_a"),
        migrations.RemoveField(model_name="comparison", name="text_b"),
    ]
