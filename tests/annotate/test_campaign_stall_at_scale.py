"""The stall check on the campaign page at a size past a statement's parameter limit (issue 31)."""

from __future__ import annotations

import pytest

from annotate.feasibility import Stall, campaign_stall
from annotate.models import Comparison, Rating

pytestmark = pytest.mark.django_db

# PostgreSQL takes at most 65,535 parameters in a statement; the check once passed every item's id.
PAST_THE_LIMIT = 66_000


def test_the_stall_check_reads_a_campaign_with_more_items_than_a_statement_takes_parameters(
    campaign_factory, make_rater
):
    raters = [make_rater("stall-one"), make_rater("stall-two")]
    campaign = campaign_factory(name="wide", n_prompts=1, raters=raters)
    first = Comparison.objects.get(campaign=campaign)
    copied = {f.attname: getattr(first, f.attname) for f in Comparison._meta.concrete_fields}
    for name in ("id", "token", "order_key"):
        copied.pop(name)
    Comparison.objects.bulk_create(
        (Comparison(**copied, order_key=n) for n in range(PAST_THE_LIMIT)), batch_size=5000
    )
    Rating.objects.create(
        comparison=first, campaign=campaign, rater=raters[0], choice="a", side="left", seconds=4.0
    )
    # Two raters, one rating each needed: nothing is out of their reach.
    assert campaign_stall(campaign=campaign) == Stall(ratings=0, comparisons=0)
