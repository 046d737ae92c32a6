"""A small campaign with two raters and two ratings, shared by the campaign page's tests."""

from __future__ import annotations

import pytest

from tests.factories import rate


@pytest.fixture
def rated(campaign_factory, make_rater):  # type: ignore[no-untyped-def]
    """(campaign of 4 prompts, 2 ratings each needed, 2 rated by the first rater; its two raters)."""
    raters = [make_rater("page-one"), make_rater("page-two")]
    campaign = campaign_factory(name="paged", n_prompts=4, ratings_per_comparison=2, raters=raters)
    rate(campaign, raters[0], "left", n=2)
    return campaign, raters
