"""The results browser's filter form (django-filter); every field optional, they combine with AND.

Text search is `icontains` over the prompt (text and id) and both answers (annotate.results.search:
a scan on SQLite, trigram indexes on PostgreSQL). The filters on votes pick ids from the campaign's
ratings.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Case, Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Greatest

from annotate.models import Campaign, Comparison, Lease, Rating
from annotate.results.search import text_match
from annotate.results.selectors import NO_MAJORITY, NO_VOTES
from core.key_among import KeyAmong
from eval_sets.models import Setting

CHOICES = tuple(Rating.Choice.values)
YES_NO = [("yes", "yes"), ("no", "no")]
OUTCOMES = [
    ("a", "system A (first of the pair) wins"),
    ("b", "system B (second of the pair) wins"),
    ("tie", "tie"),
    ("both_bad", "both bad"),
    (NO_MAJORITY, "no majority"),
    (NO_VOTES, "no votes yet"),
]


class ResultFilter(django_filters.FilterSet):
    """Filters over `result_rows` (which annotates `majority`, `disagreed`, `has_comment`)."""

    q = django_filters.CharFilter(label="Search prompt and answers", method="filter_text", max_length=200)
    category = django_filters.ChoiceFilter(label="Category", empty_label="any", field_name="prompt__category")
    setting = django_filters.ChoiceFilter(
        label="Setting", empty_label="any", choices=Setting.choices, field_name="prompt__setting"
    )
    outcome = django_filters.ChoiceFilter(
        label="Outcome (majority vote)", empty_label="any", choices=OUTCOMES, method="filter_outcome"
    )
    rater = django_filters.ChoiceFilter(label="Rated by", empty_label="anyone", method="filter_rater")
    disagreed = django_filters.ChoiceFilter(
        label="Raters disagreed", empty_label="any", choices=YES_NO, method="filter_yes_no"
    )
    has_comment = django_filters.ChoiceFilter(
        label="Has a comment", empty_label="any", choices=YES_NO, method="filter_yes_no"
    )
    gold = django_filters.ChoiceFilter(
        label="Gold check", empty_label="any", choices=YES_NO, method="filter_gold"
    )
    # What keeps such an item out of the prediction-powered population (analysis.judge): find it, ask again.
    skipped_unrated = django_filters.ChoiceFilter(
        label="Skipped, rated by nobody", empty_label="any", choices=YES_NO, method="filter_skipped_unrated"
    )

    class Meta:
        model = Comparison
        fields: list[str] = []

    def __init__(
        self,
        *args: Any,
        campaign: Campaign,
        excluded: list[int],
        categories: list[str],
        voters: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.excluded = excluded
        self.filters["category"].extra["choices"] = [(c, c) for c in categories]
        self.filters["rater"].extra["choices"] = [(str(pk), name) for pk, name in voters]
        self.form.fields["q"].widget.attrs.update(
            {"type": "search", "placeholder": "words in prompt or answers"}
        )

    def filter_text(self, queryset: QuerySet[Comparison], name: str, value: str) -> QuerySet[Comparison]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(text_match(value))

    # The filters on votes pick ids from the campaign's ratings (one pass over them, by index), not a
    # test per comparison: at a million comparisons a sparse filter would otherwise read them all.

    def _counted(self) -> QuerySet[Rating]:
        return Rating.objects.filter(campaign=self.campaign).exclude(rater_id__in=self.excluded).order_by()

    def filter_rater(self, queryset: QuerySet[Comparison], name: str, value: str) -> QuerySet[Comparison]:
        return queryset.filter(pk__in=Rating.objects.filter(rater_id=int(value)).values("comparison_id"))

    def filter_outcome(self, queryset: QuerySet[Comparison], name: str, value: str) -> QuerySet[Comparison]:
        rated = self._counted().values("comparison_id")
        if value == NO_VOTES:
            return queryset.exclude(pk__in=rated)
        return queryset.filter(pk__in=majority_ids(self._counted(), value))

    def filter_yes_no(self, queryset: QuerySet[Comparison], name: str, value: str) -> QuerySet[Comparison]:
        if name == "disagreed":
            # Two different choices: the least and the greatest differ (no COUNT DISTINCT, which sorts).
            ids: QuerySet[Rating, Any] = (
                self._counted()
                .values("comparison_id")
                .annotate(low=Min("choice"), high=Max("choice"))
                .exclude(low=F("high"))
                .values("comparison_id")
            )
        else:  # has_comment: any rater's, excluded or not, as the selector's annotation
            ids = Rating.objects.filter(campaign=self.campaign).exclude(comment="").values("comparison_id")
            if value == "yes":
                # Comments are few: their items are looked up by key (the `rating_commented` index,
                # then the primary key), not found by walking a million comparisons in page order.
                return queryset.filter(KeyAmong(ids))
        return queryset.filter(pk__in=ids) if value == "yes" else queryset.exclude(pk__in=ids)

    def filter_gold(self, queryset: QuerySet[Comparison], name: str, value: str) -> QuerySet[Comparison]:
        return queryset.filter(gold_answer__isnull=(value == "no"))

    def filter_skipped_unrated(
        self, queryset: QuerySet[Comparison], name: str, value: str
    ) -> QuerySet[Comparison]:
        skipped = Lease.objects.filter(campaign=self.campaign, skipped=True).values("comparison_id")
        rated = Exists(Rating.objects.filter(comparison=OuterRef("pk")))
        wanted = Q(pk__in=skipped) & ~Q(rated)
        return queryset.filter(wanted if value == "yes" else ~wanted)


def majority_ids(counted: QuerySet[Rating], outcome: str) -> QuerySet[Rating, Any]:
    """Ids of the comparisons whose counted votes give `outcome` (a choice, or NO_MAJORITY), grouped in SQL.

    The rule is result_rows's `majority`: the choice with strictly more votes than any other; a draw
    between the top choices is NO_MAJORITY.
    """
    counts = {choice: Count("pk", filter=Q(choice=choice)) for choice in CHOICES}
    grouped = counted.values("comparison_id").annotate(**{f"n_{c}": n for c, n in counts.items()})
    if outcome in CHOICES:
        others = [c for c in CHOICES if c != outcome]
        beats = [Q(**{f"n_{outcome}__gt": F(f"n_{c}")}) for c in others]
        return grouped.filter(*beats).values("comparison_id")
    top = Greatest(*(F(f"n_{c}") for c in CHOICES))
    at_top = sum((Case(When(**{f"n_{c}": F("top")}, then=1), default=0) for c in CHOICES), Value(0))
    return grouped.annotate(top=top).annotate(at_top=at_top).filter(at_top__gt=1).values("comparison_id")
