"""Store each prompt's selection threshold with its samples, and fill it in for jobs already run."""

from itertools import groupby

from django.db import migrations, models


def thresholds_fill(apps, schema_editor):
    # The rule as it stands at this migration: half the median of the prompt's scores (policy
    # "paper"); jobs of policy "none" and imported responses have no threshold.
    import statistics

    Sample = apps.get_model("generation", "Sample")
    samples = (
        Sample.objects.filter(job__selection_policy="paper")
        .order_by("job_id", "prompt_id", "index")
        .values_list("pk", "job_id", "prompt_id", "logprob_sum")
    )
    for _, group in groupby(samples.iterator(chunk_size=2000), key=lambda row: (row[1], row[2])):
        rows = list(group)
        scores = [row[3] for row in rows]
        if not scores or any(score is None for score in scores):
            continue
        Sample.objects.filter(pk__in=[row[0] for row in rows]).update(threshold=statistics.median(scores) / 2)


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0003_min_new_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="sample",
            name="threshold",
            field=models.FloatField(
                blank=True,
                help_text="The selection threshold of this sample's prompt (median / 2).",
                null=True,
            ),
        ),
        migrations.RunPython(thresholds_fill, migrations.RunPython.noop),
    ]
