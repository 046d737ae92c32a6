"""The researchers' results browser: filters and search on known votes, the query bound at 10,000
comparisons, the comparison detail, "ask for one more rating" end to end, and raters refused."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from annotate.errors import CampaignError
from annotate.models import Campaign, Comparison, ComparisonTexts, RaterExclusion, Rating
from annotate.services.comparisons import comparisons_create
from annotate.services.rating_requests import comparison_request_rating
from generation.models import Sample
from tests.factories import login, make_eval_set, make_system, rate, shown_token

# Votes per comparison (by position): (rater index, choice, comment).
VOTES = {
    0: [(0, "a", ""), (1, "a", "")],
    1: [(0, "b", ""), (1, "b", ""), (2, "a", "")],
    2: [(0, "tie", "")],
    3: [(0, "both_bad", "the prompt is broken")],
    4: [(0, "a", ""), (1, "b", "")],
    5: [],
}


@pytest.fixture
def known(campaign_factory, make_rater):
    raters = [make_rater(f"voter-{i}") for i in range(3)]
    campaign = campaign_factory(name="known", n_prompts=6, raters=raters)
    comparisons = list(campaign.comparisons.select_related("prompt", "texts").order_by("prompt__position"))
    assert len(comparisons) == 6
    for number, votes in VOTES.items():
        for rater, choice, comment in votes:
            Rating.objects.create(
                comparison=comparisons[number], campaign=campaign, rater=raters[rater], choice=choice,
                side="tie" if choice == "tie" else "left", comment=comment, seconds=3.0 + number,
            )  # fmt: skip
    # As the build leaves an answer: the sample's text, copied beside the comparison.
    Sample.objects.filter(pk=comparisons[2].sample_b_id or 0).update(text="An answer that mentions Zanzibar.")
    comparisons[2].texts.text_b = "An answer that mentions Zanzibar."
    comparisons[2].texts.save()
    comparisons[3].prompt.text = "What does a quokka eat?"
    comparisons[3].prompt.save()
    comparisons[5].gold_answer = "a"
    comparisons[5].save()
    return campaign, comparisons, raters


def _listed(client: Client, campaign: Campaign, **params: str) -> list[int]:
    response = client.get(reverse("annotate:campaign_results", kwargs={"pk": campaign.pk}), params)
    assert response.status_code == 200
    return [it["c"].pk for it in response.context["items"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [0, 1, 2, 3, 4, 5]),
        ({"outcome": "a"}, [0]),
        ({"outcome": "b"}, [1]),
        ({"outcome": "tie"}, [2]),
        ({"outcome": "both_bad"}, [3]),
        ({"outcome": "none"}, [4]),
        ({"outcome": "unrated"}, [5]),
        ({"disagreed": "yes"}, [1, 4]),
        ({"disagreed": "no"}, [0, 2, 3, 5]),
        ({"has_comment": "yes"}, [3]),
        ({"has_comment": "no"}, [0, 1, 2, 4, 5]),
        ({"gold": "yes"}, [5]),
        ({"gold": "no"}, [0, 1, 2, 3, 4]),
        ({"category": "writing"}, [0, 2, 4]),
        ({"category": "coding"}, [1, 3, 5]),
        ({"setting": "few_shot"}, [2, 5]),
        ({"q": "ZANZIBAR"}, [2]),  # in an answer, any case
        ({"q": "quokka"}, [3]),  # in the prompt
        ({"q": "p004"}, [4]),  # the prompt's id
        ({"q": "Answer to p001"}, [1]),  # answer A or B of the fixtures
        ({"outcome": "a", "category": "coding"}, []),
        ({"disagreed": "yes", "category": "coding"}, [1]),
    ],
)
def test_each_filter_and_the_search_on_known_votes(researcher_client, known, params, expected):
    campaign, comparisons, _ = known
    assert _listed(researcher_client, campaign, **params) == [comparisons[i].pk for i in expected]


def test_the_rater_filter_lists_what_that_rater_rated(researcher_client, known):
    campaign, comparisons, raters = known
    assert _listed(researcher_client, campaign, rater=str(raters[1].pk)) == [
        comparisons[i].pk for i in (0, 1, 4)
    ]
    assert _listed(researcher_client, campaign, rater=str(raters[2].pk)) == [comparisons[1].pk]


def test_a_bad_filter_value_changes_nothing_and_says_so(researcher_client, known):
    campaign, _, _ = known
    response = researcher_client.get(
        reverse("annotate:campaign_results", kwargs={"pk": campaign.pk}), {"outcome": "x"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_excluded_raters_votes_are_listed_but_do_not_count(researcher_client, known):
    campaign, comparisons, raters = known
    RaterExclusion.objects.create(campaign=campaign, rater=raters[2], reason="too fast")
    # Without voter-2's "a", comparison 1 is a unanimous "b".
    assert _listed(researcher_client, campaign, disagreed="yes") == [comparisons[4].pk]
    page = researcher_client.get(
        reverse("annotate:campaign_results", kwargs={"pk": campaign.pk})
    ).content.decode()
    assert 'class="excluded" title="excluded rater"><strong>voter-2</strong>' in page


def test_the_list_shows_votes_with_seconds_comments_and_system_names(researcher_client, known):
    campaign, _, _ = known
    page = researcher_client.get(
        reverse("annotate:campaign_results", kwargs={"pk": campaign.pk})
    ).content.decode()
    assert "<strong>voter-0</strong>: both bad" in page
    assert "6.0 s" in page and "“the prompt is broken”" in page
    assert "sys-alpha" in page and "sys-beta" in page
    assert "disagreed" in page and "gold" in page


def test_model_output_is_escaped_in_both_pages(researcher_client, known):
    campaign, comparisons, _ = known
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    ComparisonTexts.objects.filter(pk=comparisons[0].pk).update(text_a=hostile)
    prompt = comparisons[0].prompt
    prompt.text = hostile
    prompt.save()
    for url in (
        reverse("annotate:campaign_results", kwargs={"pk": campaign.pk}),
        reverse("annotate:comparison_result", kwargs={"pk": campaign.pk}) + f"?id={comparisons[0].pk}",
    ):
        page = researcher_client.get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page


def test_the_detail_page_shows_both_answers_with_systems_and_every_vote(researcher_client, known):
    campaign, comparisons, raters = known
    RaterExclusion.objects.create(campaign=campaign, rater=raters[2])
    Rating.objects.filter(comparison=comparisons[1], rater=raters[0]).update(too_fast=True, seconds=0.5)
    c = comparisons[1]
    url = reverse("annotate:comparison_result", kwargs={"pk": campaign.pk}) + f"?id={c.pk}"
    page = researcher_client.get(url).content.decode()
    left = "A" if c.system_on_left == "a" else "B"
    assert f"{left}: sys-alpha" in page or f"{left}: sys-beta" in page
    assert "A: sys-alpha" in page and "B: sys-beta" in page
    assert c.texts.text_a in page and c.texts.text_b in page
    assert page.count('<td class="num">') >= 3  # one row per vote
    assert "too fast" in page and "excluded rater" in page and "0.5" in page
    gold = researcher_client.get(
        reverse("annotate:comparison_result", kwargs={"pk": campaign.pk}) + f"?id={comparisons[5].pk}"
    ).content.decode()
    assert "gold check: sys-alpha" in gold


def test_the_detail_page_refuses_unknown_ids(researcher_client, known, campaign_factory):
    campaign, _, _ = known
    other = campaign_factory(name="other", n_prompts=2)
    base = reverse("annotate:comparison_result", kwargs={"pk": campaign.pk})
    assert researcher_client.get(base + "?id=abc").status_code == 404
    assert researcher_client.get(base + f"?id={other.comparisons.first().pk}").status_code == 404
    assert researcher_client.get(base).status_code == 200  # the first comparison


def test_raters_and_anonymous_users_are_refused(client, known, make_rater):
    campaign, comparisons, raters = known
    pages = [
        reverse("annotate:campaign_results", kwargs={"pk": campaign.pk}),
        reverse("annotate:comparison_result", kwargs={"pk": campaign.pk}) + f"?id={comparisons[0].pk}",
    ]
    as_rater = login(raters[0])
    for url in pages:
        assert as_rater.get(url).status_code == 403
        assert client.get(url).status_code == 302
    more = reverse("annotate:comparison_request_rating", kwargs={"pk": campaign.pk})
    assert as_rater.post(more, {"comparison": comparisons[0].pk}).status_code == 403
    assert Comparison.objects.get(pk=comparisons[0].pk).needed == comparisons[0].needed


def _next(client: Client, campaign: Campaign) -> dict | None:
    response = client.post(reverse("annotate:api_next", kwargs={"campaign_id": campaign.pk}))
    assert response.status_code == 200
    return response.json()["item"]


def test_one_more_rating_is_served_to_a_rater_who_has_not_rated_it_and_taken_once(
    researcher_client, researcher, campaign_factory, make_rater, caplog
):
    first, second, third = make_rater("first"), make_rater("second"), make_rater("third")
    campaign = campaign_factory(name="more", n_prompts=3, raters=[first, second, third])
    assert rate(campaign, first, "left") == 3
    as_second, as_third = login(second), login(third)
    assert _next(as_second, campaign) is None  # everything has its one rating
    target = campaign.comparisons.order_by("pk")[1]
    response = researcher_client.post(
        reverse("annotate:comparison_request_rating", kwargs={"pk": campaign.pk}),
        {"comparison": target.pk},
        follow=True,
    )
    assert "it now needs 2" in response.content.decode()
    asked = [r.getMessage() for r in caplog.records if r.name == "annotate.results"]
    assert asked == [
        f"rating requested: comparison {target.pk} of campaign {campaign.pk} by {researcher.username} (needed now 2)"
    ]
    assert Comparison.objects.get(pk=target.pk).needed == 2
    assert rate(campaign, first, "left") == 0  # who rated it is not served it again
    item = _next(as_second, campaign)
    assert item is not None and item["token"] == shown_token(target, second)
    assert _next(as_third, campaign) is None  # leased to the second rater: no room for a third
    submit = as_second.post(
        reverse("annotate:api_submit", kwargs={"campaign_id": campaign.pk}),
        json.dumps({"token": item["token"], "side": "right", "seconds": 5.0}),
        content_type="application/json",
    )
    assert submit.status_code == 200 and submit.json()["created"] is True
    assert _next(as_second, campaign) is None and _next(as_third, campaign) is None
    assert Rating.objects.filter(comparison=target).count() == 2
    assert Rating.objects.filter(campaign=campaign).count() == 4


def test_gold_checks_are_refused_and_a_closed_campaign_is_told(researcher_client, known, researcher):
    campaign, comparisons, _ = known
    gold = comparisons[5]
    url = reverse("annotate:comparison_request_rating", kwargs={"pk": campaign.pk})
    page = researcher_client.post(url, {"comparison": gold.pk}, follow=True).content.decode()
    assert "No rating requested: this is a gold check" in page
    assert Comparison.objects.get(pk=gold.pk).needed == gold.needed
    with pytest.raises(CampaignError):
        comparison_request_rating(comparison=gold, by=researcher)
    campaign.status = Campaign.Status.CLOSED
    campaign.save()
    detail = reverse("annotate:comparison_result", kwargs={"pk": campaign.pk}) + f"?id={comparisons[0].pk}"
    assert "it must be open for the new rating to be served" in researcher_client.get(detail).content.decode()
    page = researcher_client.post(url, {"comparison": comparisons[0].pk}, follow=True).content.decode()
    assert "served once the campaign is open" in page
    assert researcher_client.post(url, {"comparison": "nope"}).status_code == 404


def test_the_campaign_page_and_list_link_to_the_results(researcher_client, known):
    campaign, _, _ = known
    results = reverse("annotate:campaign_results", kwargs={"pk": campaign.pk})
    assert (
        results
        in researcher_client.get(reverse("hub:campaign_detail", kwargs={"pk": campaign.pk})).content.decode()
    )
    assert results in researcher_client.get(reverse("annotate:campaign_list")).content.decode()


BIG = 10_000
MAX_QUERIES = 12


@pytest.fixture
def big_campaign(db, make_rater):
    raters = [make_rater(f"big-{i}") for i in range(3)]
    eval_set = make_eval_set(name="big", n_prompts=20)
    alpha, beta = make_system("big-alpha", eval_set), make_system("big-beta", eval_set)
    campaign = Campaign.objects.create(name="big", eval_set=eval_set, status=Campaign.Status.OPEN)
    prompts = list(eval_set.prompts.all())
    comparisons_create(rows=[
        (
            Comparison(
                campaign=campaign, prompt=prompts[i % len(prompts)], system_a=alpha, system_b=beta,
                system_on_left="a" if i % 2 else "b", gold_answer="a" if i % 97 == 0 else None,
            ),
            f"answer a {i}",
            f"answer b {i}",
        )
        for i in range(BIG)
    ])  # fmt: skip
    choices = ["a", "b", "tie", "both_bad"]
    ratings = [
        Rating(
            comparison_id=pk, campaign=campaign, rater=raters[r], choice=choices[(n + r * (n % 3)) % 4],
            side="left", seconds=4.0, comment="odd" if n % 50 == 0 and r == 0 else "",
        )
        for n, pk in enumerate(campaign.comparisons.values_list("pk", flat=True))
        for r in range(2)
    ]  # fmt: skip
    Rating.objects.bulk_create(ratings, batch_size=2000)
    return campaign, raters


def test_a_page_of_10000_comparisons_takes_a_bounded_number_of_queries(
    researcher_client, big_campaign, django_assert_max_num_queries
):
    campaign, raters = big_campaign
    url = reverse("annotate:campaign_results", kwargs={"pk": campaign.pk})
    with django_assert_max_num_queries(MAX_QUERIES):
        started = time.perf_counter()
        first = researcher_client.get(url)
        unfiltered_ms = (time.perf_counter() - started) * 1000
    assert first.context["page"].paginator.count == BIG and len(first.context["items"]) == 25
    assert all(len(it["votes"]) == 2 for it in first.context["items"])
    filtered = {"outcome": "none", "disagreed": "yes", "rater": str(raters[1].pk), "q": "answer", "page": "3"}
    with django_assert_max_num_queries(MAX_QUERIES):
        started = time.perf_counter()
        page = researcher_client.get(url, filtered)
        filtered_ms = (time.perf_counter() - started) * 1000
    # A figure for the record (run with -s), not an assertion: timings depend on the machine.
    print(f"results page at {BIG}: unfiltered_ms={unfiltered_ms:.0f} filtered_ms={filtered_ms:.0f}")
    items = page.context["items"]
    assert items and all(it["c"].disagreed and it["c"].majority == "none" for it in items)
    assert page.context["page"].number == 3


@pytest.mark.parametrize("left", ["a", "b"])
def test_the_detail_page_draws_the_answers_where_the_raters_saw_them_and_says_which_side(
    researcher_client, known, left
):
    campaign, comparisons, _ = known
    c = comparisons[0]
    Comparison.objects.filter(pk=c.pk).update(system_on_left=left)
    c.texts.text_a, c.texts.text_b = "The answer of system A.", "The answer of system B."
    c.texts.save()
    url = reverse("annotate:comparison_result", kwargs={"pk": campaign.pk}) + f"?id={c.pk}"
    page = researcher_client.get(url).content.decode()
    side_by_side = page[page.index('class="side-by-side"') :]
    first, second = ("A", "B") if left == "a" else ("B", "A")
    assert side_by_side.index(f"Left · {first}:") < side_by_side.index(f"Right · {second}:")
    text = {"A": c.texts.text_a, "B": c.texts.text_b}
    assert side_by_side.index(text[first]) < side_by_side.index(text[second])


def test_past_the_count_bound_the_list_says_more_than_and_pages_on_to_its_end(
    researcher_client, known, monkeypatch
):
    from annotate.results import paging, views

    campaign, comparisons, _ = known
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(paging, "COUNT_BOUND", 3)
    url = reverse("annotate:campaign_results", kwargs={"pk": campaign.pk})
    first = researcher_client.get(url)
    assert "More than 3 comparisons · page 1" in first.content.decode()
    listed = [
        it["c"].pk for n in (1, 2, 3) for it in researcher_client.get(url, {"page": n}).context["items"]
    ]
    assert listed == [c.pk for c in comparisons]
    last = researcher_client.get(url, {"page": 3}).context["page"]
    assert not last.has_next() and last.has_previous()
    # A page number past the end gives the last page, as an unbounded list does.
    assert researcher_client.get(url, {"page": 40}).context["page"].number == 3
    # Under a filter the bound is lower (a sparse filter walks the campaign until it).
    monkeypatch.setattr(paging, "FILTERED_COUNT_BOUND", 1)
    filtered = researcher_client.get(url, {"disagreed": "yes"})
    assert "More than 1 comparisons match · page 1" in filtered.content.decode()
    assert [it["c"].pk for it in filtered.context["items"]] == [comparisons[1].pk, comparisons[4].pk]


def test_a_page_fetches_its_ids_before_counting_its_votes(researcher_client, known, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotate.results import views

    campaign, comparisons, _ = known
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    with CaptureQueriesContext(connection) as queries:
        researcher_client.get(reverse("annotate:campaign_results", kwargs={"pk": campaign.pk}), {"page": 2})
    sqls = [q["sql"] for q in queries.captured_queries]
    ids = [sql for sql in sqls if sql.startswith('SELECT "annotate_comparison"."id" AS "pk"')]
    counted = [sql for sql in sqls if "n_counted" in sql]
    # The ids come without votes; votes are counted for the page's own rows only, named by id.
    assert ids and all("annotate_rating" not in sql for sql in ids)
    page_ids = [str(c.pk) for c in comparisons[2:4]]
    assert counted and all(f'"annotate_comparison"."id" IN ({", ".join(page_ids)})' in sql for sql in counted)
