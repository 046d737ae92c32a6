"""Stop-when-settled bookkeeping: a campaign's settling queue state and its category x setting cells.

annotate.models imports this module, which registers the models with the app.
"""

from __future__ import annotations

from django.db import models


class CampaignSettling(models.Model):
    """The settling queue of a stop-when-settled campaign (annotate.settle_queue): at most one refresh in flight.

    ``requested`` counts the refreshes asked for; a refresh remembers the count it started from and runs
    again if it changed meanwhile. ``queued_at`` is set while a refresh is queued or running.
    """

    campaign = models.OneToOneField("annotate.Campaign", on_delete=models.CASCADE, related_name="settling")
    requested = models.PositiveBigIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    # An exclusion or inclusion asked for it: the next refresh takes every closure again.
    reconsider = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"settling of campaign {self.campaign_id}"


class SequentialCell(models.Model):
    """A category x setting cell of a pair in a stop-when-settled campaign: its running interval and closure.

    Created with the campaign's comparisons (annotate.settle_cells), each comparison naming its cell,
    with ``share`` 0 until the first refresh; written only by settling (annotate.settling) after ratings
    commit; serving reads it.
    """

    campaign = models.ForeignKey(
        "annotate.Campaign", on_delete=models.CASCADE, related_name="sequential_cells"
    )
    system_a = models.ForeignKey("generation.ModelSpec", on_delete=models.CASCADE, related_name="+")
    system_b = models.ForeignKey("generation.ModelSpec", on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=100)
    setting = models.CharField(max_length=32)
    share = models.FloatField(help_text="The cell's share of the campaign's prompts.")
    ratings = models.PositiveIntegerField(default=0)
    decisive = models.PositiveIntegerField(default=0)
    ci_low = models.FloatField(default=0.0)
    ci_high = models.FloatField(default=1.0)
    closed_rule = models.CharField(max_length=32, blank=True, default="")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_after = models.PositiveIntegerField(null=True, blank=True, help_text="Ratings when it closed.")
    # More than two systems: the standard error of this cell's pair's Bradley-Terry win probability
    # (the same on every cell of the pair), what serving draws pairs by; null with two systems.
    pair_se = models.FloatField(null=True, blank=True, help_text="Bradley-Terry standard error of the pair.")

    class Meta:
        ordering = ["campaign", "category", "setting", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "system_a", "system_b", "category", "setting"],
                name="sequential_cell_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.category}/{self.setting}"

    @property
    def is_open(self) -> bool:
        return not self.closed_rule

    @property
    def width(self) -> float:
        return self.ci_high - self.ci_low


class SettleTally(models.Model):
    """One slot of a cell's counter: its regular comparisons with room by their counter (``taken < needed``).

    What serving reads for the room left in a stop-when-settled campaign's open cells (annotate.progress),
    instead of counting the cells' comparisons at each rating. Split over ``SLOTS`` rows per cell (a
    comparison counts in slot ``id % SLOTS``), as ``ServingTally`` is, so that raters filling the items
    of one cell do not queue on one row. Database triggers keep it (annotate migration 0018) in the
    transaction of whatever write changed a comparison's ``taken``, ``needed`` or ``gold_answer``;
    ``settle_cells_assign`` counts a cell's rows when it gives comparisons their cell.
    ``manage.py serving_check`` recounts it.
    """

    # No database constraint, as for ServingTally: the triggers run inside a campaign's delete cascade.
    cell = models.ForeignKey(SequentialCell, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    slot = models.PositiveSmallIntegerField()
    open_items = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cell", "slot"], name="settle_tally_slot")]

    def __str__(self) -> str:
        return f"cell tally {self.cell_id}:{self.slot}"


# Recruiting's and the change log's models belong to this app; importing them here registers them.
