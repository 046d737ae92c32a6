# mypy: disable-error-code="union-attr"
"""The campaign form end to end through the real endpoint: answered only, create-and-open, stop when settled."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotate.models import Campaign, CampaignSystem, Comparison
from annotate.services import CampaignError, campaign_create
from eval_sets.models import EvalSet
from generation.answered import systems_coverage
from tests.factories import make_eval_set, make_system

pytestmark = pytest.mark.django_db

URL = "/campaigns/new/"


def _post(client: Any, eval_set: EvalSet, systems: list[Any], **extra: Any) -> Any:
    data = {
        "name": "flow", "eval_set": eval_set.pk, "systems": [s.pk for s in systems], "pairing": "all_pairs",
        "ratings_per_comparison": 1, "overlap": 0, "gold_fraction": 0, "instructions": "Be fair.",
        "min_seconds": 2,
    }  # fmt: skip
    data.update(extra)
    return client.post(URL, data)


def _partial_pair(n_prompts: int = 6, skip: tuple[str, ...] = ("p004", "p005")) -> tuple[EvalSet, list[Any]]:
    eval_set = make_eval_set(name="partial", n_prompts=n_prompts)
    return eval_set, [make_system("full", eval_set), make_system("limited", eval_set, skip_prompts=skip)]


def test_a_rater_cannot_open_the_form(rater_client):
    eval_set, systems = _partial_pair()
    assert rater_client.get(URL).status_code in (302, 403)
    response = _post(rater_client, eval_set, systems, answered_only="on")
    assert response.status_code in (302, 403) and not Campaign.objects.exists()


def test_the_form_shows_what_each_system_answered_and_says_what_is_missing(researcher_client):
    eval_set, systems = _partial_pair()
    page = researcher_client.get(URL).content.decode()
    assert "full 6/6" in page and "limited 4/6" in page
    response = _post(researcher_client, eval_set, systems)
    body = response.content.decode()
    assert response.status_code == 200 and not Campaign.objects.exists()
    assert "answered 4 of the set&#x27;s 6 prompts" in body and "p004, p005" in body
    assert "Only the prompts every system answered" in body


def test_answered_only_builds_over_the_common_prompts_and_opens_at_once(researcher_client):
    eval_set, systems = _partial_pair()
    response = _post(
        researcher_client, eval_set, systems, answered_only="on", open_now="on", stop_when_settled="on",
        precision="0.2", quota_per_rater="3",
    )  # fmt: skip
    campaign = Campaign.objects.get(name="flow")
    assert response.status_code == 302 and response.url == f"/campaigns/{campaign.pk}/"
    assert campaign.status == Campaign.Status.OPEN
    assert campaign.stop_when_settled and campaign.precision == pytest.approx(0.2)
    assert campaign.quota_per_rater == 3 and campaign.min_seconds == 2
    uids = set(campaign.comparisons.values_list("prompt__uid", flat=True))
    assert uids == {"p000", "p001", "p002", "p003"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"precision": "0.1"}, "only applies to a campaign that stops when settled"),
        ({"stop_when_settled": "on", "precision": "1.5"}, "must be between 0 and 1"),
        ({"stop_when_settled": "on", "precision": "0"}, "must be between 0 and 1"),
    ],
)
def test_precision_is_checked_by_the_rule_the_command_uses(researcher_client, extra, message):
    eval_set = make_eval_set(name="prec", n_prompts=2)
    systems = [make_system("a", eval_set), make_system("b", eval_set)]
    response = _post(researcher_client, eval_set, systems, **extra)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Campaign.objects.exists()
    with pytest.raises(CommandError, match=message):
        call_command(
            "create_campaign", "cmd", "--eval-set", "prec", "--systems", "a", "b",
            *(["--stop-when-settled"] if "stop_when_settled" in extra else []), "--precision", extra["precision"],
        )  # fmt: skip
    assert not Campaign.objects.exists()


def test_a_refused_open_leaves_no_campaign_behind(researcher_client, make_rater, monkeypatch):
    eval_set = make_eval_set(name="atomic", n_prompts=3)
    systems = [make_system("a", eval_set), make_system("b", eval_set)]
    rater = make_rater("atomic-rater")

    def refuse(**_: Any) -> None:
        raise CampaignError("opening refused for the test")

    monkeypatch.setattr("annotate.services.campaigns.campaign_status_set", refuse)
    response = _post(researcher_client, eval_set, systems, open_now="on", raters=[rater.pk])
    assert response.status_code == 200 and "opening refused for the test" in response.content.decode()
    assert not Campaign.objects.exists()
    assert not CampaignSystem.objects.exists() and not Comparison.objects.exists()
    with pytest.raises(CommandError, match="opening refused"):
        call_command("create_campaign", "cmd", "--eval-set", "atomic", "--systems", "a", "b", "--open")
    assert not Campaign.objects.exists()
    # Without opening, the same build goes through: the refusal was the open step's.
    assert _post(researcher_client, eval_set, systems).status_code == 302
    assert Campaign.objects.get().status == Campaign.Status.DRAFT


def test_open_without_a_build_is_refused_in_the_service_and_nothing_stays():
    eval_set = make_eval_set(name="nobuild", n_prompts=2)
    make_system("a", eval_set)
    make_system("b", eval_set)
    with pytest.raises(CampaignError, match="build the campaign before opening it"):
        campaign_create(name="x", eval_set=eval_set, systems=["a", "b"], build=False, open_now=True)
    assert not Campaign.objects.exists()


def test_a_system_without_answers_and_a_set_nobody_covers_get_clear_errors(researcher_client):
    eval_set = make_eval_set(name="none", n_prompts=2)
    a = make_system("a", eval_set)
    other = make_eval_set(name="other", n_prompts=2)
    b = make_system("b", other)
    response = _post(researcher_client, eval_set, [a, b], answered_only="on")
    assert "No finished generation (or imported outputs) on this set for: b" in response.content.decode()
    assert not Campaign.objects.exists()


def test_coverage_counts_without_a_query_per_prompt():
    small = make_eval_set(name="small", n_prompts=3)
    big = make_eval_set(name="big", n_prompts=60)
    for eval_set in (small, big):
        make_system(f"x-{eval_set.name}", eval_set)
        make_system(f"y-{eval_set.name}", eval_set, skip_prompts=["p001", "p002"])
    counts = []
    for eval_set in (small, big):
        models = list(eval_set.generation_jobs.values_list("model", flat=True))
        from generation.models import ModelSpec

        specs = list(ModelSpec.objects.filter(pk__in=models))
        with CaptureQueriesContext(connection) as queries:
            coverage = systems_coverage(eval_set=eval_set, models=specs)
        counts.append(len(queries))
        assert coverage.answered_by_all == eval_set.prompts.count() - 2
        assert sorted(coverage.per_system.values()) == [
            eval_set.prompts.count() - 2,
            eval_set.prompts.count(),
        ]
        assert coverage.missing_examples == ("p001", "p002")
    assert counts[0] == counts[1] <= 6
