# Drops three single-column indexes that an index of the same table already serves by its first
# column: a rating's rater (rating_once_per_rater), a lease's rater (lease_unique_per_rater) and a
# lease's comparison (lease_comparison_until). Each was one more entry written for every rating and
# lease (tests/annotate/test_hot_path_indexes.py).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0023_rater_reads_by_rater_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="lease",
            name="comparison",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="leases",
                to="annotate.comparison",
            ),
        ),
        migrations.AlterField(
            model_name="lease",
            name="rater",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="rating",
            name="rater",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
