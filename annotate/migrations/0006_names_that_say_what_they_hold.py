"""Names that say what they hold: a lease is a Lease, and "left" never names a system letter."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0005_comparison_texts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel(old_name="Assignment", new_name="Lease"),
        migrations.AlterField(
            model_name="lease",
            name="comparison",
            field=models.ForeignKey(
                on_delete=models.deletion.CASCADE, related_name="leases", to="annotate.comparison"
            ),
        ),
        migrations.RenameIndex(
            model_name="lease", new_name="lease_comparison_until", old_name="assignment_comparison_lease"
        ),
        migrations.RenameIndex(
            model_name="lease", new_name="lease_rater_until", old_name="assignment_rater_lease"
        ),
        migrations.RemoveConstraint(model_name="lease", name="assignment_unique_per_rater"),
        migrations.AddConstraint(
            model_name="lease",
            constraint=models.UniqueConstraint(fields=("rater", "comparison"), name="lease_unique_per_rater"),
        ),
        migrations.RenameField(model_name="comparison", old_name="left", new_name="system_on_left"),
        migrations.RenameField(model_name="practiceitem", old_name="left", new_name="text_on_left"),
        migrations.AlterField(
            model_name="practiceitem",
            name="text_on_left",
            field=models.CharField(
                default="a", help_text="Which text (a or b) is shown on the left.", max_length=1
            ),
        ),
    ]
