"""Issue 31: a rater's reads of their own ratings and leases take the (campaign, rater) indexes.

`rating_campaign_rater` (campaign, rater, created) and `lease_rater_until` (campaign, rater,
leased_until) serve a rater's reads. Beside them, a single-column index on the campaign (each table's
foreign key) and `rating_campaign_created` (campaign, created) also matched a read by campaign and
rater. With statistics taken before a campaign had ratings (a new campaign; or any campaign in a large
table, which autovacuum analyses again only after a tenth of it changes), PostgreSQL estimated one row
for the campaign, found those indexes as cheap, and read every rating and lease of the campaign,
filtering by rater, several times per rating: at a million comparisons, after a first campaign's
5,000 ratings, that doubled a rating's database time (tests/annotate/test_serving_plans_stale.py).
So the foreign keys are not indexed alone (the composites lead with the campaign), and
`rating_campaign_created` is partial on a condition every rating meets, which only the queries by
time state (annotate.serving_models.BY_TIME). Two index writes fewer per rating, too.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0022_token_from_ids"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="rating",
            name="rating_campaign_created",
        ),
        migrations.AlterField(
            model_name="lease",
            name="campaign",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="annotate.campaign",
            ),
        ),
        migrations.AlterField(
            model_name="rating",
            name="campaign",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="ratings",
                to="annotate.campaign",
            ),
        ),
        migrations.AddIndex(
            model_name="rating",
            index=models.Index(
                condition=models.Q(("created__isnull", False)),
                fields=["campaign", "created"],
                name="rating_campaign_created",
            ),
        ),
    ]
