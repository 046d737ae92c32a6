"""The results browser's filter form (django-filter); every field optional, they combine with AND.

Text search is `icontains` over the prompt (text and id) and both answers: a case-insensitive LIKE on
SQLite and ILIKE on PostgreSQL, a scan of the campaign's rows, which is fast enough at 10,000.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from annotate.models import Comparison, Lease, Rating
from annotate.results.selectors import NO_MAJORITY, NO_VOTES
from eval_sets.models import Setting

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
        label="Outcome (majority vote)", empty_label="any", choices=OUTCOMES, field_name="majority"
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
        self, *args: Any, categories: list[str], voters: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.filters["category"].extra["choices"] = [(c, c) for c in categories]
        self.filters["rater"].extra["choices"] = [(str(pk), name) for pk, name in voters]
        self.form.fields["q"].widget.attrs.update(
            {"type": "search", "placeholder": "words in prompt or answers"}
        )

    def filter_text(self, queryset: QuerySet[Comparison], name: str, value: str) -> QuerySet[Comparison]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(prompt__text__icontains=value)
            | Q(prompt__uid__icontains=value)
            | Q(texts__text_a__icontains=value)
            | Q(texts__text_b__icontains=value)
        )

    def filter_rater(self, queryset: QuerySet[Comparison], name: str, value: str) -> QuerySet[Comparison]:
        return queryset.filter(Exists(Rating.objects.filter(comparison=OuterRef("pk"), rater_id=int(value))))

    def filter_yes_no(self, queryset: QuerySet[Comparison], name: str, value: str) -> QuerySet[Comparison]:
        # `disagreed` and `has_comment` are annotated by the selector.
        return queryset.filter(**{name: value == "yes"})

    def filter_gold(self, queryset: QuerySet[Comparison], name: str, value: str) -> QuerySet[Comparison]:
        return queryset.filter(gold_answer__isnull=(value == "no"))

    def filter_skipped_unrated(
        self, queryset: QuerySet[Comparison], name: str, value: str
    ) -> QuerySet[Comparison]:
        skipped = Exists(Lease.objects.filter(comparison=OuterRef("pk"), skipped=True))
        rated = Exists(Rating.objects.filter(comparison=OuterRef("pk")))
        wanted = Q(skipped) & ~Q(rated)
        return queryset.filter(wanted if value == "yes" else ~wanted)
