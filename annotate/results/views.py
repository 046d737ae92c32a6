"""Researcher pages of the results browser: the campaign's comparisons, one comparison, "one more rating"."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotate.errors import CampaignError
from annotate.models import Campaign, Comparison
from annotate.rendering import render_markdown
from annotate.results.filters import ResultFilter
from annotate.results.paging import BoundedPaginator
from annotate.results.selectors import (
    campaign_categories,
    campaign_voters,
    choice_label,
    comparison_votes,
    result_rows,
    system_label,
)
from annotate.selectors import excluded_rater_ids
from annotate.services.rating_requests import comparison_request_rating
from core.roles import researcher_required

PAGE_SIZE = 25
PROMPT_PREVIEW_CHARS = 160


@researcher_required
@require_GET
def campaign_results(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("eval_set"), pk=pk)
    excluded = excluded_rater_ids(campaign=campaign)
    rows = result_rows(campaign=campaign, excluded=excluded)
    filters = ResultFilter(
        request.GET or None,
        queryset=rows,
        campaign=campaign,
        excluded=excluded,
        categories=campaign_categories(campaign=campaign),
        voters=campaign_voters(campaign=campaign),
    )
    filtered = any(request.GET.get(name) for name in filters.filters)
    paginator = BoundedPaginator(
        filters.qs, PAGE_SIZE, fetch=lambda ids: rows.filter(pk__in=ids), filtered=filtered
    )
    page = paginator.get_page(request.GET.get("page"))
    items = [
        {
            "c": c,
            "votes": comparison_votes(c, excluded=excluded),
            "majority": choice_label(c, c.majority),  # type: ignore[attr-defined]
            "system_a": system_label(c, "a"),
            "system_b": system_label(c, "b"),
        }
        for c in page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "campaign": campaign,
        "filters": filters,
        "page": page,
        "items": items,
        "query": query.urlencode(),
        "preview_chars": PROMPT_PREVIEW_CHARS,
    }
    return render(request, "annotate/results/list.html", context)


def _comparison(campaign: Campaign, raw_id: str | None) -> Comparison:
    rows = result_rows(campaign=campaign).select_related("texts")
    if raw_id:
        if not raw_id.isdigit():
            return get_object_or_404(rows, pk=0)
        return get_object_or_404(rows, pk=int(raw_id))
    # No id: the campaign's first comparison, so the bare address is a page too.
    return get_object_or_404(rows[:1])


@researcher_required
@require_GET
def comparison_result(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    comparison = _comparison(campaign, request.GET.get("id"))
    excluded = excluded_rater_ids(campaign=campaign)
    # Drawn as the raters saw them: the answer shown on the left comes first, whichever letter it is.
    left = comparison.system_on_left
    answers = [
        {
            "letter": letter.upper(),
            "system": system_label(comparison, letter),
            "side": "left" if letter == left else "right",
            "html": render_markdown(comparison.texts.text_a if letter == "a" else comparison.texts.text_b),
        }
        for letter in (left, "b" if left == "a" else "a")
    ]
    # A conversation's later turn: the turns before it, whole, each system's answers on its side.
    user_turns = comparison.prompt.user_turns
    history = {"a": comparison.texts.history_a, "b": comparison.texts.history_b}
    earlier = [
        {
            "number": number + 1,
            "user_html": render_markdown(user_turns[number]),
            "answers": [
                {**answer, "html": render_markdown(history[answer["letter"].lower()][number])}
                for answer in answers
            ],
        }
        for number in range(comparison.turn - 1)
    ]
    context = {
        "campaign": campaign,
        "c": comparison,
        "prompt_html": render_markdown(user_turns[comparison.turn - 1]),
        "earlier": earlier,
        "answers": answers,
        "votes": comparison_votes(comparison, excluded=excluded),
        "majority": choice_label(comparison, comparison.majority),  # type: ignore[attr-defined]
        "gold": choice_label(comparison, comparison.gold_answer) if comparison.gold_answer else None,
        "is_open": campaign.status == Campaign.Status.OPEN,
    }
    return render(request, "annotate/results/detail.html", context)


@researcher_required
@require_POST
def comparison_more(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    raw = request.POST.get("comparison", "")
    comparison = get_object_or_404(Comparison, campaign=campaign, pk=int(raw) if raw.isdigit() else 0)
    try:
        comparison_request_rating(comparison=comparison, by=request.user)  # type: ignore[arg-type]
    except CampaignError as exc:
        messages.error(request, f"No rating requested: {exc}.")
    else:
        note = "" if campaign.status == Campaign.Status.OPEN else " It is served once the campaign is open."
        messages.success(request, f"One more rating asked for: it now needs {comparison.needed}.{note}")
    return redirect(f"{reverse('annotate:comparison_result', kwargs={'pk': pk})}?id={comparison.pk}")
