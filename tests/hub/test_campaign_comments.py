# mypy: disable-error-code="union-attr,index"
"""Comments on the campaign page: the latest ones with rater, seconds, prompt and choice, escaped, capped."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from annotate.assignment import item_next, rating_submit
from annotate.comments import LATEST_COMMENTS
from annotate.models import RaterExclusion, Rating

pytestmark = pytest.mark.django_db


def test_the_latest_comments_show_with_rater_seconds_prompt_and_choice_escaped(
    campaign_factory, make_rater, researcher_client: Client
):
    rater = make_rater("commenter")
    campaign = campaign_factory(name="talk", n_prompts=4, raters=[rater])
    item = item_next(campaign=campaign, rater=rater)
    rating, _ = rating_submit(
        campaign=campaign, rater=rater, token=item.token, side="left",
        comment='<script>alert("x")</script> broken prompt & more', seconds=3.0,
    )  # fmt: skip
    RaterExclusion.objects.create(campaign=campaign, rater=rater, reason="r")
    html = researcher_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    section = html[html.index('id="comments"') :]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; broken prompt &amp; more" in section
    assert '<script>alert("x")' not in html
    prompt = rating.comparison.prompt
    chosen = rating.comparison.system_a if rating.choice == "a" else rating.comparison.system_b
    row = section[: section.index("</tr>", section.index("commenter"))]
    assert "commenter" in row and "excluded" in row
    assert f"<code>{prompt.uid}</code>" in row and f"{prompt.category} · {prompt.setting}" in row
    assert f"{chosen.name} <span" in row and "(left)" in row
    try:
        results = reverse("annotate:campaign_results", args=[campaign.pk])
    except NoReverseMatch:
        results = None
    if results:
        assert f'href="{results}?has_comment=yes"' in section


def test_the_list_is_capped_newest_first_and_ratings_without_comment_are_left_out(
    campaign_factory, make_rater, researcher_client: Client
):
    rater = make_rater("chatty")
    campaign = campaign_factory(name="many", n_prompts=LATEST_COMMENTS + 5, raters=[rater])
    for number in range(LATEST_COMMENTS + 5):
        item = item_next(campaign=campaign, rater=rater)
        rating_submit(
            campaign=campaign, rater=rater, token=item.token, side="tie",
            comment=f"note-{number:03d}" if number != 3 else "", seconds=3.0,
        )  # fmt: skip
    page = researcher_client.get(f"/campaigns/{campaign.pk}/")
    comments = page.context["comments"]
    assert len(comments) == LATEST_COMMENTS
    assert [c.comment for c in comments][:2] == [
        f"note-{LATEST_COMMENTS + 4:03d}",
        f"note-{LATEST_COMMENTS + 3:03d}",
    ]
    assert all(c.comment for c in comments)
    assert Rating.objects.filter(campaign=campaign).exclude(comment="").count() == LATEST_COMMENTS + 4
    assert f"The latest {LATEST_COMMENTS} comments" in page.content.decode()


def test_no_comments_says_so(campaign_factory, researcher_client: Client):
    campaign = campaign_factory(name="quiet")
    assert "No comments yet." in researcher_client.get(f"/campaigns/{campaign.pk}/").content.decode()
