"""Finding 1: spreadsheet formulas in rater comments and categories come out escaped in every CSV the
site writes, and exactly as typed in JSONL."""

import csv
import io
import json

from django.urls import reverse

from annotate.assignment import item_next, rating_submit
from core.csv_safe import csv_cell
from eval_sets.models import Prompt
from tests.factories import login

FORMULAS = ["=cmd|' /C calc'!A0", '+HYPERLINK("http://x.example","y")', "@SUM(1+1)", "-1+1"]


def test_campaign_csv_escapes_formula_cells_and_jsonl_keeps_them_exact(
    campaign_factory, make_rater, researcher
):
    rater = make_rater("csv-rater")
    campaign = campaign_factory(n_prompts=len(FORMULAS), raters=[rater])
    Prompt.objects.filter(eval_set=campaign.eval_set).update(category="=1+2")
    for comment in FORMULAS:
        item = item_next(campaign=campaign, rater=rater)
        assert item is not None
        rating_submit(
            campaign=campaign, rater=rater, token=item.token, side="left", comment=comment, seconds=3.0
        )
    client = login(researcher)
    url = reverse("reports:download", args=[campaign.pk])

    response = client.get(url, {"format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert sorted(row["comment"] for row in rows) == sorted("'" + f for f in FORMULAS)
    assert {row["category"] for row in rows} == {"'=1+2"}
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values())
    assert all(float(row["seconds"]) >= 0 for row in rows), "numbers stay numbers"

    lines = [
        json.loads(line) for line in client.get(url, {"format": "jsonl"}).getvalue().decode().splitlines()
    ]
    assert sorted(line["comment"] for line in lines) == sorted(FORMULAS)
    assert {line["category"] for line in lines} == {"=1+2"}


def test_the_csv_helper_escapes_tab_and_carriage_return_starts_too_and_leaves_numbers():
    # Comments are stripped on submit, so these two can only be checked on the helper itself.
    assert [csv_cell(v) for v in ("\tx", "\rx", "a=b", "", -1, 2.5)] == ["'\tx", "'\rx", "a=b", "", -1, 2.5]
