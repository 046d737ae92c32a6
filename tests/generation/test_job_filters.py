"""A generation job's page: filter its prompts (filtered samples, category, setting, text) across pages."""

from __future__ import annotations

import random
import re

import pytest
from django.urls import reverse

from eval_sets.models import EvalSet, Prompt, Setting
from generation.models import GenerationJob, ModelSpec, Sample
from generation.selection import select_response
from generation.views import PROMPTS_PER_PAGE

pytestmark = pytest.mark.django_db

CATEGORIES = ["coding", "writing", "maths", "advice"]
SETTINGS = [Setting.ZERO_SHOT, Setting.ZERO_SHOT_COT, Setting.FEW_SHOT]
WORDS = ["haiku", "recipe", "proof", "letter", "poem"]  # 5, 4 and 3 are coprime: every mix occurs


def make_job(prompt_count: int, samples: int = 5, seed: int = 0) -> GenerationJob:
    """A finished job whose kept/selected flags come from the real selection rule on random scores."""
    rng = random.Random(seed)
    eval_set = EvalSet.objects.create(
        name=f"set{seed}", version=1, content_hash=f"h{seed}", source_format="jsonl"
    )
    prompts = Prompt.objects.bulk_create(
        Prompt(
            eval_set=eval_set,
            uid=f"q{i:03d}",
            position=i,
            category=CATEGORIES[i % len(CATEGORIES)],
            setting=SETTINGS[i % len(SETTINGS)],
            text=f"Write a {WORDS[i % len(WORDS)]} number {i}.",
        )
        for i in range(prompt_count)
    )
    spec = ModelSpec.objects.create(name=f"m{seed}", path="/nowhere", kind="causal")
    job = GenerationJob.objects.create(
        model=spec,
        eval_set=eval_set,
        samples_per_prompt=samples,
        prompts_total=prompt_count,
        prompts_done=prompt_count,
    )
    rows = []
    for prompt in prompts:
        # Some prompts with one far-better outlier (the rule drops it), others tightly clustered.
        scores = [-rng.uniform(20, 40) for _ in range(samples)]
        if rng.random() < 0.4:
            scores[rng.randrange(samples)] = -rng.uniform(1, 5)
        selection = select_response(scores)
        rows += [
            Sample(
                job=job,
                prompt=prompt,
                index=k,
                text=f"answer {k} to {prompt.uid}",
                logprob_sum=score,
                num_tokens=10,
                finish_reason="eos",
                kept=k in selection.kept,
                selected=k == selection.index,
                threshold=selection.threshold,
            )
            for k, score in enumerate(scores)
        ]
    Sample.objects.bulk_create(rows)
    return job


def listed(html: str) -> list[str]:
    """The prompt ids the page shows, in order."""
    return re.findall(r'<h2 class="prompt-title">(q\d{3})', html)


def get(client, job: GenerationJob, **params: str) -> str:
    response = client.get(reverse("generation:job_detail", args=[job.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def expected(job: GenerationJob, predicate) -> list[str]:
    dropped = set(Sample.objects.filter(job=job, kept=False).values_list("prompt__uid", flat=True))
    prompts = Prompt.objects.filter(eval_set=job.eval_set).order_by("position")
    return [p.uid for p in prompts if predicate(p, p.uid in dropped)]


def test_has_filtered_samples_lists_exactly_the_prompts_where_the_rule_dropped_one(researcher_client):
    job = make_job(30)
    with_dropped = expected(job, lambda p, dropped: dropped)
    assert 0 < len(with_dropped) < 30  # the data has both kinds, so the filter can be wrong
    html = get(researcher_client, job, filtered="yes")
    assert listed(html) == with_dropped[:PROMPTS_PER_PAGE]
    assert f"{len(with_dropped)} prompts match" in html
    assert (
        listed(get(researcher_client, job, filtered="no"))
        == expected(job, lambda p, d: not d)[:PROMPTS_PER_PAGE]
    )


def test_category_setting_and_text_combine(researcher_client):
    job = make_job(60)
    html = get(researcher_client, job, category="coding", setting="few_shot", q="HAIKU")
    want = expected(
        job,
        lambda p, d: p.category == "coding" and p.setting == "few_shot" and "haiku" in p.text.lower(),
    )
    assert want and listed(html) == want
    # The prompt id is searchable too.
    assert listed(get(researcher_client, job, q="q007")) == ["q007"]


def test_filters_are_kept_across_pages(researcher_client):
    job = make_job(190)
    want = expected(job, lambda p, d: d)
    assert len(want) > 2 * PROMPTS_PER_PAGE  # several pages
    first = get(researcher_client, job, filtered="yes", q="")
    seen = []
    page_html = get(researcher_client, job, filtered="yes")
    while True:
        seen += listed(page_html)
        match = re.search(r'<a href="\?([^"#]*)#prompts">next', page_html)
        if not match:
            break
        query = match.group(1).replace("&amp;", "&")
        assert "filtered=yes" in query
        params = dict(pair.split("=", 1) for pair in query.split("&"))
        page_html = get(researcher_client, job, **params)
    assert seen == want
    assert listed(first) == seen[:PROMPTS_PER_PAGE]
    # Two filters and the page number together.
    second = get(researcher_client, job, filtered="yes", setting="zero_shot", page="2")
    zero_shot = expected(job, lambda p, d: d and p.setting == "zero_shot")
    assert listed(second) == zero_shot[PROMPTS_PER_PAGE : 2 * PROMPTS_PER_PAGE]
    assert 'value="zero_shot" selected' in second  # the form shows what is applied


def test_no_match_shows_an_empty_state_with_a_way_back(researcher_client):
    job = make_job(10)
    html = get(researcher_client, job, q="no prompt says this")
    assert listed(html) == []
    assert "No prompt of this job matches these filters" in html
    assert f'href="{reverse("generation:job_detail", args=[job.pk])}"' in html
    assert "No samples yet" not in html


def test_an_unknown_category_is_reported_and_lists_nothing(researcher_client):
    job = make_job(10)
    html = get(researcher_client, job, category="nonsense")
    assert listed(html) == []
    assert "Select a valid choice" in html
    assert "These filters cannot be applied" in html


def test_a_job_without_samples_says_so(researcher_client):
    job = make_job(0)
    html = get(researcher_client, job)
    assert "No samples yet" in html


def test_the_page_runs_a_bounded_number_of_queries_however_many_prompts(
    researcher_client, django_assert_max_num_queries
):
    small, big = make_job(5, seed=1), make_job(190, seed=2)
    researcher_client.get(reverse("generation:job_detail", args=[small.pk]))  # warm the session
    counts = []
    for job in (small, big):
        for params in ({}, {"filtered": "yes", "category": "coding", "q": "poem", "page": "2"}):
            # 6 for the page (job, categories, count, prompts, their samples, scores) + session/roles.
            with django_assert_max_num_queries(12) as captured:
                get(researcher_client, job, **params)
            counts.append(len(captured))
    assert counts[:2] == counts[2:]  # 190 prompts cost no more queries than 5


def test_the_category_choices_are_the_jobs_own_distinct_categories(researcher_client):
    html = get(researcher_client, make_job(12))
    options = re.findall(
        r'<option value="([a-z]+)"', html[html.index('name="category"') :].split("</select>")[0]
    )
    assert options == sorted(CATEGORIES)


def test_the_filter_form_adds_no_inline_script(researcher_client):
    html = get(researcher_client, make_job(3))
    start = html.index('id="prompts"')
    section = html[start : html.index("</section>", start)]
    assert "<form" in section and "<script" not in section
    assert not re.search(r"\son[a-z]+=", section)  # no inline event handlers either
