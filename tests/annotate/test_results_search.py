"""The results browser's text search lists the same comparisons whichever way the database finds them:
by trigram index or by walking the campaign (PostgreSQL), by scan (SQLite); and the category choices
come out as the distinct categories, sorted."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from annotate.models import Campaign, Comparison
from annotate.results import search
from annotate.results.search import text_match
from annotate.results.selectors import campaign_categories
from generation.models import Sample
from tests.factories import make_eval_set

# Answer A and B of the campaign's comparisons (by prompt position); the prompts' ids are p000...p007.
ANSWERS = [
    ("Zanzibar is an island.", "No idea."),
    ("", "ZANZIBAR, twice: zanzibar"),
    ("Costs 50% more", "a_b and a-b"),
    ("Ünïcode Straße", "plain"),
    ("answer", "answer"),
    ("answer", "another answer"),
    ("100%_sure", "x"),
    ("short", "ab"),
]
PROMPT_TEXTS = {5: "What does a quokka eat?", 6: "Prompt that says zanzibar"}


@pytest.fixture
def searchable(campaign_factory) -> tuple[Campaign, list[Comparison]]:
    campaign = campaign_factory(name="search", n_prompts=len(ANSWERS))
    # Another campaign whose answers match every word: its comparisons are never listed.
    other = campaign_factory(name="search-other", n_prompts=2)
    for comparison in other.comparisons.select_related("texts"):
        _answer(comparison, " ".join(a + " " + b for a, b in ANSWERS), comparison.texts.text_b)
    comparisons = list(campaign.comparisons.select_related("prompt", "texts").order_by("prompt__position"))
    for comparison, (a, b) in zip(comparisons, ANSWERS, strict=True):
        _answer(comparison, a, b)
        if comparison.prompt.position in PROMPT_TEXTS:
            comparison.prompt.text = PROMPT_TEXTS[comparison.prompt.position]
            comparison.prompt.save()
    return campaign, comparisons


def _answer(comparison: Comparison, text_a: str, text_b: str) -> None:
    """The comparison's answers as the build leaves them: its samples' texts, copied beside it."""
    assert comparison.sample_a_id is not None and comparison.sample_b_id is not None
    Sample.objects.filter(pk=comparison.sample_a_id).update(text=text_a)
    Sample.objects.filter(pk=comparison.sample_b_id).update(text=text_b)

    comparison.texts.text_a, comparison.texts.text_b = text_a, text_b
    comparison.texts.save()


def _found(campaign: Campaign, value: str) -> list[int]:
    rows = Comparison.objects.filter(campaign=campaign).filter(text_match(value)).order_by("pk")
    return list(rows.values_list("pk", flat=True))


CASES = [
    ("zanzibar", [0, 1, 6]),  # in answer A, answer B (any case), the prompt
    ("ZANZ", [0, 1, 6]),
    ("quokka", [5]),
    ("p004", [4]),  # the prompt's id
    ("p00", list(range(8))),
    ("50%", [2]),  # LIKE's wildcards are plain characters
    ("a_b", [2]),
    ("%_", [6]),
    ("answer", [4, 5]),
    ("ab", [7]),  # under three characters: no trigram to look up
    ("Straße", [3]),
    ("nowhere at all", []),
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_the_search_finds_the_words_in_prompts_ids_and_answers_of_this_campaign_only(
    searchable, value, expected
):
    campaign, comparisons = searchable
    assert _found(campaign, value) == [comparisons[i].pk for i in expected]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_walking_the_campaign_finds_what_the_index_finds(searchable, monkeypatch, value, expected):
    campaign, comparisons = searchable
    by_index = _found(campaign, value)
    monkeypatch.setattr(search, "INDEXED_MATCHES_MAX", 0)  # any match at all: walk
    assert _found(campaign, value) == by_index == [comparisons[i].pk for i in expected]


def test_the_results_page_lists_the_search_matches(researcher_client, searchable):
    campaign, comparisons = searchable
    url = reverse("annotate:campaign_results", kwargs={"pk": campaign.pk})
    response = researcher_client.get(url, {"q": "zanzibar"})
    assert [it["c"].pk for it in response.context["items"]] == [comparisons[i].pk for i in (0, 1, 6)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's")
def test_a_rare_word_is_looked_up_in_the_trigram_indexes(searchable):
    campaign, _ = searchable
    with connection.cursor() as cursor:
        # A few rows: the planner would read them all rather than look them up; make it look them up.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = Comparison.objects.filter(campaign=campaign).filter(text_match("zanzibar")).explain()
    for index in ("sample_text_trgm", "prompt_text_trgm", "prompt_uid_trgm"):
        assert index in plan


def test_the_category_choices_are_the_sets_distinct_categories_sorted(campaign_factory):
    campaign = campaign_factory(name="cats", n_prompts=7)
    make_eval_set(name="other-cats", categories=("aardvark", "zebra"))
    expected = sorted(set(campaign.eval_set.prompts.values_list("category", flat=True)))
    assert campaign_categories(campaign=campaign) == expected == ["coding", "writing"]
    empty = make_eval_set(name="empty", n_prompts=0)
    campaign.eval_set = empty
    assert campaign_categories(campaign=campaign) == []


def test_an_uploaded_gold_pair_is_found_by_its_own_texts_which_have_no_samples(searchable, monkeypatch):
    from annotate.services.comparisons import comparisons_create
    from eval_sets.models import Prompt

    campaign, _ = searchable
    prompt = Prompt.objects.create(eval_set=campaign.eval_set, uid="gold-1", position=99, text="Dig?")
    pair = Comparison(
        campaign=campaign, prompt=prompt, system_on_left="a", needed=1, gold_answer="a", gold_uploaded=True
    )
    (gold,) = comparisons_create(rows=[(pair, "A wombat digs", "ZANZIBAR")])  # as gold_upload writes it
    assert _found(campaign, "wombat") == [gold.pk]
    assert gold.pk in _found(campaign, "zanzibar")
    monkeypatch.setattr(search, "INDEXED_MATCHES_MAX", 0)  # and the walk finds the same
    assert _found(campaign, "wombat") == [gold.pk]
