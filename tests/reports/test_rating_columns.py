# mypy: disable-error-code="union-attr"
"""A campaign's report columns are its report records as columns, read once, however they are filtered."""

from __future__ import annotations

import numpy as np
import pytest
from django.contrib.auth.models import User

from analysis.columns import RatingColumns
from annotate.models import Lease, RaterExclusion, Rating
from reports.campaign_records import campaign_report_records
from reports.rating_columns import campaign_excluded_mask, campaign_report_columns
from tests.reports.test_report_records import _campaign

pytestmark = pytest.mark.django_db

_FIELDS = (
    "campaign", "prompt_id", "category", "setting", "system_a", "system_b", "system_on_left", "choice",
    "rater", "seconds", "is_gold", "gold_choice", "turn",
)  # fmt: skip


def _facts(columns: RatingColumns) -> list[list[object]]:
    assert columns.style_a is not None and columns.style_b is not None
    rows = [[getattr(r, name) for name in _FIELDS] for r in columns.to_records()]
    return [
        [*row, *a, *b]
        for row, a, b in zip(rows, columns.style_a.tolist(), columns.style_b.tolist(), strict=True)
    ]


def test_the_columns_hold_what_the_report_records_hold_under_every_filter(make_rater) -> None:
    campaign = _campaign(make_rater, name="cols")
    gold = campaign.comparisons.get(gold_answer__isnull=False)
    rating = Rating.objects.filter(comparison=gold).first()
    # Undone and answered again: the check is scored on the first answer, which the lease keeps.
    first = "b" if rating.choice == "a" else "a"
    assert Lease.objects.filter(comparison=gold, rater=rating.rater).update(first_choice=first) == 1
    RaterExclusion.objects.create(campaign=campaign, rater=User.objects.get(username="cols-1"))
    filters: list[dict[str, object]] = [
        {},
        {"exclude_gold": True},
        {"exclude_raters": ["cols-0"]},
        {"exclude_raters": ["cols-0"], "exclude_gold": True},
    ]
    for kwargs in [*filters, {"include_excluded_raters": True}]:
        columns = campaign_report_columns(campaign=campaign, **kwargs)  # type: ignore[arg-type]
        records = campaign_report_records(campaign=campaign, **kwargs)  # type: ignore[arg-type]
        assert len(columns) == len(records)
        assert _facts(columns) == _facts(RatingColumns.from_records(records))
    # One read of everyone, filtered in numpy, is the read with the filters.
    everyone = campaign_report_columns(campaign=campaign, include_excluded_raters=True)
    assert np.any(everyone.gold) and {"cols-0", "cols-1"} <= set(everyone.raters)
    assert len(campaign_report_columns(campaign=campaign)) < len(everyone)
    for kwargs in filters:
        left_out = campaign_excluded_mask(campaign=campaign, columns=everyone, **kwargs)  # type: ignore[arg-type]
        direct = campaign_report_columns(campaign=campaign, **kwargs)  # type: ignore[arg-type]
        assert _facts(everyone.subset(~left_out)) == _facts(direct)
