"""The comparisons-and-gold page: a comparison is marked gold only by someone who has its texts open."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_gold_buttons_sit_inside_the_texts_so_they_show_only_once_the_texts_are_expanded(
    researcher_client, campaign_factory
):
    campaign = campaign_factory(name="goldpage", n_prompts=3)
    page = researcher_client.get(
        reverse("annotate:campaign_gold", kwargs={"pk": campaign.pk})
    ).content.decode()
    details = re.findall(r"<details>.*?</details>", page, flags=re.S)
    assert len(details) == 3
    inside = sum(block.count('name="answer"') for block in details)
    assert inside == page.count('name="answer"') > 0
