from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from annotate.recruiting_models import Enrollment

register = template.Library()


@register.simple_tag(takes_context=True)
def is_recruited(context: dict[str, Any], campaign: Any) -> bool:
    """Whether the page's user came in through an invite or the crowd entry (and so has an end page)."""
    user = context["request"].user
    return bool(user.is_authenticated and Enrollment.objects.filter(campaign=campaign, user=user).exists())


@register.simple_tag(takes_context=True)
def recruited_finish_url(context: dict[str, Any], campaign: Any) -> str:
    """The end page's URL for a recruited rater (the rating page goes there when the campaign closes), else ""."""
    if not is_recruited(context, campaign):
        return ""
    return reverse("recruiting:finish", args=[campaign.pk])
