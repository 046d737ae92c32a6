"""The whole study on tiny settings, through the same commands and pages people use.

finetune -> generate (both models) -> campaign -> ratings by the test client -> report in every format.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.core.management import call_command
from django.test import Client

from annotate.models import Campaign, Rating
from core.users import user_create
from finetune.mixture import DEMO_MIXTURE
from generation.models import GenerationJob, Sample
from tests.factories import PASSWORD


@pytest.fixture
def tiny_base_dir(tmp_path):
    import torch

    from generation.tiny import save_tiny, tiny_causal

    torch.set_num_threads(1)
    return save_tiny(tiny_causal(seed=3, hidden=32, layers=1, heads=2), tmp_path / "tiny-base")


@pytest.mark.django_db(transaction=True)
def test_the_study_runs_from_finetuning_to_a_report_in_every_format(tiny_base_dir, tmp_path, settings):
    settings.MODELS_DIR = tmp_path / "models"
    out = io.StringIO()
    call_command("import_eval_set", "eval_sets/data/usability-190.jsonl", name="usability-190", stdout=out)
    call_command("register_model", "base", path=str(tiny_base_dir), stdout=out)
    call_command(
        "finetune", base="base", mixture=str(DEMO_MIXTURE), name="flan",
        steps=3, batch_size=2, seq_len=128, eval_every=3, save_every=3, wait=True, stdout=out,
    )  # fmt: skip
    for model in ("base", "flan"):
        call_command(
            "generate", model=model, eval_set="usability-190", limit=4, max_new_tokens=6, seed=1, wait=True,
            stdout=out,
        )  # fmt: skip
    for job in GenerationJob.objects.all():
        assert job.status == "done"
        assert Sample.objects.filter(job=job).count() == 4 * 5
        assert Sample.objects.filter(job=job, selected=True).count() == 4

    rater = user_create(username="flow-rater", role="rater", password=PASSWORD)
    call_command(
        "create_campaign", "flow", eval_set="usability-190", systems=["base", "flan"], raters="flow-rater",
        open=True, answered_only=True, stdout=out,
    )  # fmt: skip
    campaign = Campaign.objects.get(name="flow")

    client = Client()
    client.force_login(rater)
    base_url = f"/rate/task/{campaign.pk}"
    state = client.post(f"{base_url}/next", content_type="application/json").json()
    sides = ["left", "right", "tie", "left"]
    rated = 0
    while state["item"] is not None:
        side = sides[rated % len(sides)]
        state = client.post(
            f"{base_url}/submit",
            {"token": state["item"]["token"], "side": side, "seconds": 3.5, "next": True},
            content_type="application/json",
        ).json()
        rated += 1
    assert rated == campaign.comparisons.count() == Rating.objects.filter(campaign=campaign).count()

    reports = {}
    for fmt in ("json", "csv", "jsonl", "html", "dpo"):
        path = tmp_path / f"report.{fmt}"
        call_command("report", campaign="flow", format=fmt, out=str(path), stdout=out)
        reports[fmt] = path.read_text()
    report = json.loads(reports["json"])
    assert report["baseline"] == "base" and report["candidate"] == "flan"
    assert report["overall"]["n"] == rated
    rows = list(csv.DictReader(io.StringIO(reports["csv"])))
    assert len(rows) == rated and {r["left"] for r in rows} <= {"a", "b"}
    assert len(reports["jsonl"].splitlines()) == rated
    html = reports["html"].lower()
    assert "<html" in html and "plotly" in html and not re.search(r"<script[^>]*\bsrc=", html)
    decisive = sum(1 for r in rows if r["choice"] in ("a", "b"))
    dpo = [json.loads(line) for line in reports["dpo"].splitlines()]
    assert len(dpo) == decisive and all({"prompt", "chosen", "rejected"} <= set(d) for d in dpo)
