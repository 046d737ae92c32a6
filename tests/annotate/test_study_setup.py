# mypy: disable-error-code="union-attr"
"""Study setup (issue 26 items 2 and 5): sampling prompts, the edit page and its log, warnings at creation."""

from __future__ import annotations

import re
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotate.models import Campaign, CampaignChange
from annotate.services import CampaignError, campaign_create
from annotate.services.campaign_edit import CampaignEditError, campaign_edit
from tests.factories import login, make_eval_set, make_system, rate, served_item

pytestmark = pytest.mark.django_db


def _set_with_systems(n_prompts: int = 60, **kwargs: Any) -> Any:
    eval_set = make_eval_set(
        name="big", n_prompts=n_prompts, categories=("writing", "coding", "math", "advice"), **kwargs
    )
    make_system("sys-a", eval_set)
    make_system("sys-b", eval_set)
    return eval_set


def _create(*argv: str) -> tuple[Campaign, str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_campaign", *argv, stdout=out, stderr=err)
    return Campaign.objects.get(name=argv[0]), out.getvalue(), err.getvalue()


def _prompt_ids(campaign: Campaign) -> list[str]:
    return sorted(campaign.comparisons.values_list("prompt__uid", flat=True))


def test_the_command_samples_n_prompts_stratified_records_the_seed_and_the_same_seed_draws_them_again():
    _set_with_systems()
    argv = ("--eval-set", "big", "--systems", "sys-a", "sys-b", "--sample", "9", "--sample-seed", "7")
    first, out, _ = _create("s1", *argv)
    again, _, _ = _create("s2", *argv)
    assert (first.sample_size, first.sample_seed, first.sample_categories) == (9, 7, [])
    assert len(_prompt_ids(first)) == 9 and _prompt_ids(first) == _prompt_ids(again)
    # 60 prompts in 12 equal strata (4 categories x 3 settings): 9 of them get one prompt, none two.
    strata = Counter(first.comparisons.values_list("prompt__category", "prompt__setting"))
    assert len(strata) == 9 and set(strata.values()) == {1}
    assert "9 comparisons" in out and "a sample of 9 (seed 7" in out


def test_a_sample_without_a_seed_draws_one_and_records_it_and_categories_narrow_the_pool():
    _set_with_systems()
    campaign, _, _ = _create(
        "cats",
        "--eval-set",
        "big",
        "--systems",
        "sys-a",
        "sys-b",
        "--sample",
        "4",
        "--categories",
        "math,coding",
    )
    assert campaign.sample_seed is not None and campaign.sample_categories == ["math", "coding"]
    assert set(campaign.comparisons.values_list("prompt__category", flat=True)) == {"math", "coding"}
    assert campaign.comparisons.count() == 4
    whole, _, _ = _create(
        "only-math", "--eval-set", "big", "--systems", "sys-a", "sys-b", "--categories", "math"
    )
    assert whole.comparisons.count() == 15 and whole.sample_size is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--sample", "61"), "the sample size must be between 1 and 60 (the prompts to draw from), not 61"),
        (("--categories", "poetry"), "no prompt of big v1 is in the category poetry"),
        (("--sample-seed", "3"), "a sample seed only applies with a sample size"),
    ],
)
def test_a_bad_sample_is_refused_with_one_line_and_creates_nothing(extra, message):
    _set_with_systems()
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("create_campaign", "bad", "--eval-set", "big", "--systems", "sys-a", "sys-b", *extra)
    assert not Campaign.objects.exists()


def test_a_chain_of_thought_variant_comes_with_its_base_prompt():
    eval_set = _set_with_systems(n_prompts=12)
    prompts = list(eval_set.prompts.order_by("position"))
    for base, variant in zip(prompts[0::2], prompts[1::2], strict=True):
        variant.variant_of = base.uid
        variant.save(update_fields=["variant_of"])
    campaign = campaign_create(
        name="cot", eval_set=eval_set, systems=["sys-a", "sys-b"], sample=3, sample_seed=1
    )
    chosen = set(_prompt_ids(campaign))
    assert len(chosen) == 6, "three base prompts, each with its variant"
    assert all((p.uid in chosen) == (p.variant_of in chosen) for p in prompts if p.variant_of)


def test_the_form_samples_too_and_the_campaign_page_shows_the_sample(researcher_client):
    eval_set = _set_with_systems()
    data = {
        "name": "web-sample", "eval_set": eval_set.pk, "systems": [m.pk for m in eval_set_systems()],
        "pairing": "all_pairs", "ratings_per_comparison": 1, "overlap": 0, "gold_fraction": 0,
        "instructions": "Be fair.", "min_seconds": 2, "sample": 6, "sample_seed": 11, "categories": "writing",
    }  # fmt: skip
    response = researcher_client.post("/campaigns/new/", data, follow=True)
    campaign = Campaign.objects.get(name="web-sample")
    assert (campaign.sample_size, campaign.sample_seed, campaign.sample_categories) == (6, 11, ["writing"])
    assert campaign.comparisons.count() == 6
    page = response.content.decode()
    assert "categories writing; a sample of 6 (seed 11, stratified by category and setting" in page


def eval_set_systems() -> list[Any]:
    from generation.models import ModelSpec

    return list(ModelSpec.objects.filter(name__in=["sys-a", "sys-b"]))


def test_creating_with_the_default_overlap_and_a_two_rater_pool_warns_with_the_cause_and_the_fix(make_rater):
    _set_with_systems()
    raters = [make_rater("w1"), make_rater("w2")]
    _, _, err = _create(
        "warned", "--eval-set", "big", "--systems", "sys-a", "sys-b", "--overlap", "0.1",
        "--raters", ",".join(r.username for r in raters),
    )  # fmt: skip
    assert (
        "warning: this campaign cannot be finished as it stands: 6 comparison(s) need up to 3 raters" in err
    )
    assert "the pool has 2" in err and "overlap comparisons" in err and "lower the overlap" in err


# --- the edit page ----------------------------------------------------------------------------------


def test_safe_changes_are_applied_logged_with_who_and_shown_on_the_campaign_page(
    campaign_factory, make_rater, researcher, researcher_client
):
    rater = make_rater("e1")
    campaign = campaign_factory(name="editable", n_prompts=4, raters=[rater])
    rate(campaign, rater, "left", n=1)
    form = researcher_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'name="quota_per_rater"' in form and 'name="precision"' not in form
    data = {
        "title": "Which answer helps?", "ratings_per_comparison": 2, "overlap": campaign.overlap,
        "quota_per_rater": 3, "min_seconds": 4, "instructions": "Read both answers to the end.",
    }  # fmt: skip
    response = researcher_client.post(f"/campaigns/{campaign.pk}/edit/", data, follow=True)
    page = response.content.decode()
    campaign.refresh_from_db()
    assert (campaign.quota_per_rater, campaign.min_seconds, campaign.ratings_per_comparison) == (3, 4.0, 2)
    assert set(campaign.comparisons.values_list("needed", flat=True)) == {2}
    log = {c.field: (c.old, c.new, c.changed_by) for c in CampaignChange.objects.filter(campaign=campaign)}
    assert log["quota_per_rater"] == ("none", "3", researcher)
    assert log["ratings_per_comparison"] == ("1", "2", researcher)
    assert set(log) == {"title", "ratings_per_comparison", "quota_per_rater", "min_seconds", "instructions"}
    assert "Changed:" in page and 'id="changes"' in page and "quota_per_rater" in page


def test_lowering_ratings_or_changing_the_overlap_once_items_were_served_is_refused_naming_the_field(
    campaign_factory, make_rater, researcher, researcher_client
):
    rater = make_rater("e2")
    campaign = campaign_factory(name="fixed", n_prompts=4, ratings_per_comparison=2, raters=[rater])
    rate(campaign, rater, "left", n=1)
    with pytest.raises(CampaignEditError, match="ratings per comparison can only go up") as refused:
        campaign_edit(campaign=campaign, changed_by=researcher, ratings_per_comparison=1, min_seconds=0.0)
    assert refused.value.field == "ratings_per_comparison"
    campaign.refresh_from_db()
    assert campaign.min_seconds == 2.0 and not CampaignChange.objects.exists(), (
        "a refused edit changes nothing"
    )
    data = {
        "ratings_per_comparison": 2,
        "overlap": 0.5,
        "min_seconds": 2,
        "instructions": campaign.instructions,
    }
    page = researcher_client.post(f"/campaigns/{campaign.pk}/edit/", data).content.decode()
    assert "The overlap cannot change once raters have been served its items" in page
    assert Campaign.objects.get(pk=campaign.pk).overlap == 0.0


def test_before_anything_is_served_the_overlap_may_change_and_its_items_are_drawn_again(
    campaign_factory, researcher
):
    campaign = campaign_factory(name="draft", n_prompts=10, open_=False)
    campaign_edit(campaign=campaign, changed_by=researcher, overlap=0.3)
    assert sorted(campaign.comparisons.values_list("needed", flat=True)) == [1] * 7 + [3] * 3


def test_a_raised_number_of_ratings_serves_a_rater_the_items_again(campaign_factory, make_rater, researcher):
    first, second = make_rater("e3"), make_rater("e4")
    campaign = campaign_factory(name="more-ratings", n_prompts=2, raters=[first, second])
    rate(campaign, first, "left")
    assert rate(campaign, second, "left") == 0
    campaign_edit(campaign=campaign, changed_by=researcher, ratings_per_comparison=2)
    assert rate(campaign, second, "left") == 2


def test_the_edit_page_is_for_researchers_only(campaign_factory, rater_client):
    campaign = campaign_factory(name="private")
    assert rater_client.get(f"/campaigns/{campaign.pk}/edit/").status_code in (302, 403)


def test_a_precision_for_a_campaign_that_does_not_stop_when_settled_is_refused(campaign_factory, researcher):
    campaign = campaign_factory(name="no-settle")
    with pytest.raises(CampaignError, match="a precision only applies"):
        campaign_edit(campaign=campaign, changed_by=researcher, precision=0.1)


def test_tokens_served_through_the_page_map_back_to_the_item(campaign_factory, make_rater):
    rater = make_rater("e5")
    campaign = campaign_factory(name="tokens", n_prompts=1, raters=[rater])
    client = login(rater)
    state = client.post(f"/rate/task/{campaign.pk}/next", data="{}", content_type="application/json").json()
    assert served_item(client, state["item"]["token"]).campaign_id == campaign.pk
