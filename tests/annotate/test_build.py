from __future__ import annotations

import random
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from annotate.models import DEFAULT_INSTRUCTIONS, Campaign
from annotate.rater_tokens import item_id
from annotate.services import CampaignError, balanced_sides, campaign_create
from core.models import JobStatus
from tests.factories import make_eval_set, make_system

pytestmark = pytest.mark.django_db


def test_building_makes_one_comparison_per_prompt_and_pair_from_selected_samples(campaign_factory):
    campaign = campaign_factory(n_prompts=5, systems=("s1", "s2", "s3"))
    comparisons = list(
        campaign.comparisons.select_related("system_a", "system_b", "sample_a", "prompt", "texts")
    )
    assert len(comparisons) == 5 * 3
    pairs = Counter((c.system_a.name, c.system_b.name) for c in comparisons)
    assert pairs == {("s1", "s2"): 5, ("s1", "s3"): 5, ("s2", "s3"): 5}
    for c in comparisons:
        assert c.sample_a.selected and c.sample_b.selected
        assert c.texts.text_a == c.sample_a.text and not c.texts.text_a.startswith("unselected")
        assert c.sample_a.prompt_id == c.prompt_id == c.sample_b.prompt_id


def test_a_baseline_pairs_each_system_with_it_and_comes_first(campaign_factory):
    campaign = campaign_factory(n_prompts=3, systems=("s1", "s2", "s3"), baseline="s2")
    assert campaign.system_names() == ["s2", "s1", "s3"]
    assert campaign.pairing == Campaign.Pairing.VS_BASELINE
    pairs = Counter((c.system_a.name, c.system_b.name) for c in campaign.comparisons.all())
    assert pairs == {("s2", "s1"): 3, ("s2", "s3"): 3}


def test_system_names_keep_the_order_given(campaign_factory):
    campaign = campaign_factory(systems=("zeta", "alpha"))
    assert campaign.system_names() == ["zeta", "alpha"]


@pytest.mark.parametrize("n_prompts", [1, 7, 40])
def test_left_side_is_balanced_over_the_campaign(campaign_factory, n_prompts):
    campaign = campaign_factory(n_prompts=n_prompts, systems=("s1", "s2", "s3"))
    lefts = Counter(campaign.comparisons.values_list("system_on_left", flat=True))
    total = n_prompts * 3
    assert abs(lefts["a"] - total / 2) <= 1
    assert lefts["a"] + lefts["b"] == total


def test_balanced_sides_hold_per_group_and_overall_for_many_sizes():
    rng = random.Random(3)
    for _ in range(200):
        sizes = [rng.randrange(0, 9) for _ in range(rng.randrange(1, 6))]
        groups = balanced_sides(group_sizes=sizes, rng=rng)
        for size, sides in zip(sizes, groups, strict=True):
            assert len(sides) == size and abs(sides.count("a") - size / 2) <= 0.5
        flat = [s for g in groups for s in g]
        assert abs(flat.count("a") - len(flat) / 2) <= 1


def test_left_sides_are_random_not_fixed(campaign_factory):
    first = campaign_factory(name="one", n_prompts=30)
    second = campaign_factory(name="two", n_prompts=30)

    def order(c: Campaign) -> list[str]:
        return list(c.comparisons.order_by("prompt__position").values_list("system_on_left", flat=True))

    assert order(first) != order(second)


def test_overlap_comparisons_need_at_least_three_ratings(campaign_factory):
    campaign = campaign_factory(n_prompts=20, overlap=0.25, ratings_per_comparison=1)
    needed = Counter(campaign.comparisons.values_list("needed", flat=True))
    assert needed == {3: 5, 1: 15}
    campaign2 = campaign_factory(name="k5", n_prompts=4, overlap=0.5, ratings_per_comparison=5)
    assert set(campaign2.comparisons.values_list("needed", flat=True)) == {5}


def test_default_instructions_carry_the_guidance(campaign_factory):
    campaign = campaign_factory()
    text = campaign.instructions.lower()
    assert campaign.instructions == DEFAULT_INSTRUCTIONS
    for phrase in (
        "correct",
        "informative",
        "longer is not always better",
        "sparingly",
        "both bad",
        "nonsensical",
    ):
        assert phrase in text


def test_building_fails_naming_a_system_without_a_finished_job(db):
    eval_set = make_eval_set(n_prompts=2)
    make_system("ready", eval_set)
    make_system("still-running", eval_set, status=JobStatus.RUNNING)
    with pytest.raises(CampaignError, match=r"still-running.*no finished generation job"):
        campaign_create(name="x", eval_set=eval_set, systems=["ready", "still-running"])
    assert not Campaign.objects.exists()


def test_building_fails_naming_the_prompts_a_system_lacks(db):
    eval_set = make_eval_set(n_prompts=3)
    make_system("full", eval_set)
    make_system("partial", eval_set, skip_prompts=["p001"])
    with pytest.raises(CampaignError, match=r"partial.*p001"):
        campaign_create(name="x", eval_set=eval_set, systems=["full", "partial"])


def test_building_uses_the_newest_finished_job(db):
    eval_set = make_eval_set(n_prompts=2)
    make_system("old", eval_set)
    make_system("other", eval_set)
    from generation.models import GenerationJob, ModelSpec, Sample

    model = ModelSpec.objects.get(name="old")
    newer = GenerationJob.objects.create(model=model, eval_set=eval_set, status=JobStatus.DONE)
    for prompt in eval_set.prompts.all():
        Sample.objects.create(
            job=newer, prompt=prompt, index=0, text="newest", finish_reason="eos", selected=True
        )
    campaign = campaign_create(name="x", eval_set=eval_set, systems=["old", "other"])
    assert set(campaign.comparisons.values_list("texts__text_a", flat=True)) == {"newest"}


@pytest.mark.parametrize(
    ("systems", "kwargs", "message"),
    [
        (["a"], {}, "at least two"),
        (["a", "a"], {}, "listed twice"),
        (["a", "nope"], {}, "no registered system named nope"),
        (["a", "b"], {"overlap": 1.5}, "between 0 and 1"),
        (["a", "b"], {"baseline": "c"}, "not one of the systems"),
        (["a", "b"], {"ratings_per_comparison": 0}, "at least 1"),
    ],
)
def test_bad_campaign_requests_are_refused_with_a_reason(db, systems, kwargs, message):
    eval_set = make_eval_set(n_prompts=1)
    make_system("a", eval_set)
    make_system("b", eval_set)
    with pytest.raises(CampaignError, match=message):
        campaign_create(name="x", eval_set=eval_set, systems=systems, **kwargs)


def test_create_campaign_command_builds_and_opens(db, make_rater, capsys):
    eval_set = make_eval_set(name="demo", n_prompts=4)
    make_system("base", eval_set)
    make_system("tuned", eval_set)
    make_rater("r1")
    make_rater("r2")
    call_command(
        "create_campaign", "cmd-camp", "--eval-set", "demo", "--systems", "base", "tuned",
        "--ratings-per-item", "2", "--overlap", "0.5", "--raters", "r1,r2", "--gold", "0.1", "--open",
    )  # fmt: skip
    campaign = Campaign.objects.get(name="cmd-camp")
    assert campaign.status == Campaign.Status.OPEN
    assert campaign.gold_fraction == 0.1
    assert sorted(campaign.raters.values_list("username", flat=True)) == ["r1", "r2"]
    assert sorted(campaign.comparisons.values_list("needed", flat=True)) == [2, 2, 3, 3]
    assert "4 comparisons" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["c", "--eval-set", "missing", "--systems", "base", "tuned"], "no evaluation set named"),
        (["c", "--eval-set", "demo", "--systems", "base", "ghost"], "ghost"),
        (
            ["c", "--eval-set", "demo", "--systems", "base", "tuned", "--raters", "nobody"],
            "no user named nobody",
        ),
        (["c", "--eval-set", "demo@v9", "--systems", "base", "tuned"], "no version 9"),
    ],
)
def test_create_campaign_command_fails_with_one_line_reason(db, argv, message):
    eval_set = make_eval_set(name="demo", n_prompts=2)
    make_system("base", eval_set)
    make_system("tuned", eval_set)
    with pytest.raises(CommandError, match=message):
        call_command("create_campaign", *argv)


def test_create_campaign_refuses_a_duplicate_name(campaign_factory):
    campaign_factory(name="dup")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_campaign", "dup", "--eval-set", "set-dup", "--systems", "sys-alpha", "sys-beta")


def test_comparison_tokens_are_distinct_unrelated_to_the_pk_and_name_their_item(campaign_factory):
    campaign = campaign_factory(n_prompts=10)
    tokens = [(c.pk, c.token) for c in campaign.comparisons.all()]
    assert len({t for _, t in tokens}) == 10
    for pk, token in tokens:
        assert len(token) >= 20 and str(pk) != token
        assert item_id(token=token, campaign_id=campaign.pk) == pk


def test_answered_only_builds_the_prompts_every_system_answered(db):
    eval_set = make_eval_set(name="partial", n_prompts=5)
    make_system("one", eval_set, skip_prompts=["p003"])
    make_system("two", eval_set, skip_prompts=["p000"])
    with pytest.raises(CampaignError, match="no selected sample"):
        campaign_create(name="strict", eval_set=eval_set, systems=["one", "two"])
    campaign = campaign_create(name="partial", eval_set=eval_set, systems=["one", "two"], answered_only=True)
    assert sorted(campaign.comparisons.values_list("prompt__uid", flat=True)) == ["p001", "p002", "p004"]
