"""The report page is the report: it shows what the JSON download of the same filters holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from annotate.models import Comparison
from annotate.services import campaign_rater_exclude
from judging.imports import judgments_import
from tests.factories import rate

pytestmark = pytest.mark.django_db


def _verdicts(campaign, path: Path) -> Path:
    """A judge's verdict on every comparison, leaning to the candidate on even prompts."""
    lines = []
    for c in Comparison.objects.filter(campaign=campaign).select_related("prompt", "system_a", "system_b"):
        assert c.system_a is not None and c.system_b is not None  # no uploaded gold here
        even = int(c.prompt.uid[1:]) % 2 == 0
        p_a, p_tie, p_b = (0.2, 0.1, 0.7) if even else (0.5, 0.3, 0.2)
        row = {"prompt_id": c.prompt.uid, "system_a": c.system_a.name, "system_b": c.system_b.name}
        lines.append(json.dumps({**row, "p_a": p_a, "p_tie": p_tie, "p_b": p_b}))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def judged(campaign_factory, make_rater, tmp_path: Path):
    raters = [make_rater(f"pg-{name}") for name in ("ann", "ben", "cy")]
    campaign = campaign_factory(
        name="page-eq",
        n_prompts=24,
        ratings_per_comparison=2,
        raters=raters,
        stop_when_settled=True,
        precision=0.3,
    )
    rate(campaign, raters[0], lambda n: ("left", "right", "tie")[n % 3], n=20)
    rate(campaign, raters[1], "left", n=20)
    rate(campaign, raters[2], lambda n: ("right", "both_bad")[n % 2], n=10)
    campaign_rater_exclude(campaign=campaign, user=raters[1], reason="always the left answer")
    judgments_import(campaign=campaign, path=_verdicts(campaign, tmp_path / "v.jsonl"), name="judge-x")
    return campaign


@pytest.mark.parametrize(
    "query",
    [{}, {"baseline": "sys-beta", "exclude_rater": "pg-cy"}, {"exclude_gold": "1"}],
    ids=["default", "baseline-and-exclusion", "no-gold"],
)
def test_the_page_shows_exactly_what_the_json_download_holds(
    researcher_client: Client, judged, query
) -> None:
    page = researcher_client.get(reverse("reports:campaign", args=[judged.pk]), query)
    download = researcher_client.get(
        reverse("reports:download", args=[judged.pk]), {**query, "format": "json"}
    )
    assert page.status_code == download.status_code == 200
    shown = json.loads(json.dumps(page.context["report"]))
    assert shown == json.loads(download.content)
    # The campaign's own blocks are all there: the judge, settling, who was excluded and why, the flags.
    assert shown["judge"]["name"] == "judge-x" and shown["judge"]["items"] == 24
    assert shown["sequential"]["precision"] == 0.3
    assert [row["rater"] for row in shown["excluded_raters"]] == ["pg-ben"]
    assert "quality_flags" in shown
    # Adaptive serving and an excluded rater both refuse PPI, and the page says why.
    assert shown["overall"]["ppi"] is None and "adaptive serving" in shown["overall"]["ppi_refused"]
    html = page.content.decode()
    assert "Automatic judge" in html and "judge-x" in html and "adaptive serving" in html
