"""The filter form of a generation job's page: which of its prompts to list (web half, no torch)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from eval_sets.models import Prompt, Setting


class JobPromptFilter(django_filters.FilterSet):
    """Filters over `generation_job_prompt_rows`; every field optional, they combine with AND."""

    filtered = django_filters.ChoiceFilter(
        label="Filtered samples",
        empty_label="any",
        choices=[("yes", "at least one filtered"), ("no", "none filtered")],
        method="filter_filtered",
    )
    category = django_filters.ChoiceFilter(label="Category", empty_label="any")
    setting = django_filters.ChoiceFilter(label="Setting", empty_label="any", choices=Setting.choices)
    q = django_filters.CharFilter(label="Prompt text", method="filter_text", max_length=200)

    class Meta:
        model = Prompt
        fields: list[str] = []

    def __init__(self, *args: Any, categories: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["category"].extra["choices"] = [(c, c) for c in categories]
        self.form.fields["q"].widget.attrs.update({"type": "search", "placeholder": "words or prompt id"})

    def filter_filtered(self, queryset: QuerySet[Prompt], name: str, value: str) -> QuerySet[Prompt]:
        # `has_filtered` is annotated by the selector: the selection rule dropped one of its samples.
        return queryset.filter(has_filtered=(value == "yes"))  # type: ignore[misc]

    def filter_text(self, queryset: QuerySet[Prompt], name: str, value: str) -> QuerySet[Prompt]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(text__icontains=value) | Q(uid__icontains=value))
