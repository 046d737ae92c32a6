"""Comparison's prompt, system and sample keys have no database constraint (issue 31), yet stay guarded.

PostgreSQL spent about a third of a million-comparison build checking those five keys row by row;
the build reads every id it writes in its own transaction, so the constraints are dropped there
(annotate migration 0017) and Django's on_delete=PROTECT keeps refusing, on either database, to
delete a prompt, a system or a sample that a comparison names. The campaign's key keeps its constraint.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import ProtectedError

from annotate.models import Comparison
from eval_sets.models import Prompt
from generation.models import ModelSpec, Sample
from tests.factories import make_campaign

pytestmark = pytest.mark.django_db


def _foreign_keys() -> dict[str, str]:
    """Column -> referenced table, for the database's own foreign-key constraints on comparisons."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Comparison._meta.db_table)
    return {c["columns"][0]: c["foreign_key"][0] for c in constraints.values() if c["foreign_key"]}


def test_the_database_checks_the_campaign_key_and_not_the_five_keys_the_build_reads():
    keys = _foreign_keys()
    assert keys.get("campaign_id") == "annotate_campaign"
    for column in ("prompt_id", "system_a_id", "system_b_id", "sample_a_id", "sample_b_id"):
        assert column not in keys


def test_deleting_a_prompt_a_system_or_a_sample_a_comparison_names_is_still_refused():
    campaign = make_campaign(name="guarded", n_prompts=3)
    comparison = Comparison.objects.filter(campaign=campaign).first()
    assert comparison is not None
    guarded = [
        Prompt.objects.filter(pk=comparison.prompt_id),
        ModelSpec.objects.filter(pk=comparison.system_a_id or 0),
        ModelSpec.objects.filter(pk=comparison.system_b_id or 0),
        Sample.objects.filter(pk=comparison.sample_a_id or 0),
        Sample.objects.filter(pk=comparison.sample_b_id or 0),
    ]
    for rows in guarded:
        with pytest.raises(ProtectedError):
            rows.delete()
        assert rows.exists()
    assert Comparison.objects.filter(campaign=campaign).count() == 3
