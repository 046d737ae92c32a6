"""Issue 31: the build job and the "building" state; no database constraint on Comparison's prompt,
system and sample keys (Django's PROTECT still guards them); no LIKE index on the token.

The token is only ever looked up by equality (its unique index serves that); the extra
`varchar_pattern_ops` index PostgreSQL gets for a unique CharField cost a random-order insert per
comparison built. A later AlterField of the token drops it with IF EXISTS, so its absence is safe.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _like_index(schema_editor) -> tuple[str, str]:
    table = "annotate_comparison"
    return table, schema_editor._create_index_name(table, ["token"], suffix="_like")


def drop_token_like_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        _, name = _like_index(schema_editor)
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_token_like_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        table, name = _like_index(schema_editor)
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} ON {table} (token varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0016_search_indexes"),
        ("eval_sets", "0003_conversations"),
        ("generation", "0008_conversations"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="campaign",
            name="status",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("building", "Building"),
                    ("open", "Open"),
                    ("closed", "Closed"),
                ],
                default="draft",
                max_length=8,
            ),
        ),
        migrations.AlterField(
            model_name="comparison",
            name="prompt",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="eval_sets.prompt",
            ),
        ),
        migrations.AlterField(
            model_name="comparison",
            name="sample_a",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="generation.sample",
            ),
        ),
        migrations.AlterField(
            model_name="comparison",
            name="sample_b",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="generation.sample",
            ),
        ),
        migrations.AlterField(
            model_name="comparison",
            name="system_a",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="generation.modelspec",
            ),
        ),
        migrations.AlterField(
            model_name="comparison",
            name="system_b",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="generation.modelspec",
            ),
        ),
        migrations.CreateModel(
            name="CampaignBuild",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("done", "Done"),
                            ("failed", "Failed"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                (
                    "error",
                    models.TextField(
                        blank=True, help_text="Why the job failed, for the person who retries it."
                    ),
                ),
                ("cancel_requested", models.BooleanField(default=False)),
                ("created", models.DateTimeField(default=django.utils.timezone.now)),
                ("started", models.DateTimeField(blank=True, null=True)),
                ("finished", models.DateTimeField(blank=True, null=True)),
                ("heartbeat", models.DateTimeField(blank=True, null=True)),
                ("seed", models.BigIntegerField()),
                ("answered_only", models.BooleanField(default=False)),
                ("open_when_built", models.BooleanField(default=False)),
                ("done", models.PositiveIntegerField(default=0)),
                ("total", models.PositiveIntegerField(default=0)),
                (
                    "campaign",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="build",
                        to="annotate.campaign",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.RunPython(drop_token_like_index, create_token_like_index),
    ]
