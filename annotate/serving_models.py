"""Serving's campaign-wide counters (issue 31): what a rater's progress needs from the whole campaign.

annotate.models imports this module, which registers the model with the app.

A rater's progress needs, from the whole campaign, only how many regular comparisons have room by
their counter (`taken < needed`) and how many gold checks there are; the rest comes from the
rater's own rows. Those two numbers are kept here, per campaign, split over `SLOTS` rows (a
comparison counts in slot `id % SLOTS`) so that raters filling different items do not queue on
one row. Database triggers keep them (annotate migration 0013): every insert, delete and change of
`taken`, `needed` or `gold_answer` of a comparison moves its slot in the same statement's
transaction, under the locks the change already takes, whichever code path made it (the rating
page, a recount, an exclusion, the admin). `manage.py serving_check` recounts them and reports drift.
"""

from __future__ import annotations

from django.db import models

# Comparison's indexes for serving (annotate.models puts them in Comparison.Meta):
# - the pool: regular items with room by their counter, in the order a rater's walk reads them
#   (annotate.picking), so that the next item is found without sorting the campaign;
# - gold checks, in the same order (few, but found without a scan);
# - items full by their counter whose counted leases may have run out: progress counts these.
COMPARISON_SERVING_INDEXES = [
    models.Index(
        fields=["campaign", "label_rank", "order_key", "id"], name="comparison_pool",
        condition=models.Q(gold_answer__isnull=True, taken__lt=models.F("needed")),
    ),
    models.Index(
        fields=["campaign", "order_key"], name="comparison_gold", condition=models.Q(gold_answer__isnull=False)
    ),
    models.Index(
        fields=["campaign", "lease_check_at"], name="comparison_may_open",
        condition=models.Q(lease_check_at__isnull=False, taken__gte=models.F("needed")),
    ),
    # Stop-when-settled campaigns: each cell's items with room, walked like the pool (annotate.settle_pool).
    models.Index(
        fields=["cell", "label_rank", "order_key", "id"], name="comparison_cell_pool",
        condition=models.Q(cell__isnull=False, gold_answer__isnull=True, taken__lt=models.F("needed")),
    ),
]  # fmt: skip

# The campaign page's fingerprint and pace read a campaign's ratings by time (count, first, last, last
# hour): `rating_campaign_created`. It is partial on a condition every rating meets, so a query uses it
# only when it says so (`BY_TIME`) or bounds `created`. A rater's own reads (campaign and rater) then
# always take `rating_campaign_rater`: with statistics that have not seen a new campaign, PostgreSQL
# found both equally cheap and took this one, reading the campaign's every rating (migration 0023).
BY_TIME = models.Q(created__isnull=False)
RATING_BY_TIME_INDEX = models.Index(
    fields=["campaign", "created"], name="rating_campaign_created", condition=BY_TIME
)

# How many rows a campaign's counters are split over. The slot of a comparison is `id % SLOTS`.
SLOTS = 16


class ServingTally(models.Model):
    """One slot of a campaign's counters: regular comparisons with room by `taken`, and gold checks."""

    # No database constraint: the triggers that keep these rows run inside the cascade that deletes
    # a campaign, whose order Django decides; the rows go with the campaign all the same.
    campaign = models.ForeignKey(
        "annotate.Campaign", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    slot = models.PositiveSmallIntegerField()
    open_items = models.BigIntegerField(default=0)
    gold_items = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "slot"], name="serving_tally_slot")]

    def __str__(self) -> str:
        return f"tally {self.campaign_id}:{self.slot}"
