"""Judge runs end to end with a tiny in-process judge: both orders stored, resumable, cancellable."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from annotate.models import Comparison
from core.models import JobStatus
from generation.services import model_spec_register
from judging.errors import JudgingError
from judging.models import JudgeRun, Verdict
from judging.prompt import combine_orders, judge_prompt
from judging.runner import judge_run_execute
from judging.services import judge_run_cancel, judge_run_create, judge_run_retry
from tests.factories import rate

pytestmark = pytest.mark.django_db


def _independent_verdict(model_dir, prompt: str) -> list[float]:
    """(first, second, tie) from one unbatched forward pass, written without the judge's code."""
    import torch
    from transformers import AutoModelForCausalLM, ByT5Tokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    ids = ByT5Tokenizer()(prompt, add_special_tokens=True)["input_ids"]
    while ids and ids[-1] == 1:
        ids.pop()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0, -1].double()
    letters = [ByT5Tokenizer()(c, add_special_tokens=False)["input_ids"][0] for c in "ABC"]
    restricted = torch.softmax(logits[letters], -1)
    return [float(p) for p in restricted]


def test_judge_command_stores_both_orders_and_matches_an_independent_pass(
    campaign_factory, make_rater, judge_dir
) -> None:
    campaign = campaign_factory(n_prompts=5)
    model_spec_register(name="tiny-judge", path=str(judge_dir))
    out = io.StringIO()
    call_command(
        "judge",
        "--campaign",
        campaign.name,
        "--model",
        "tiny-judge",
        "--chunk-size",
        "2",
        "--wait",
        stdout=out,
    )
    run = JudgeRun.objects.get(pk=int(out.getvalue().strip()))
    assert run.status == JobStatus.DONE and run.items_done == run.items_total == 5
    assert run.chunks.count() == 3
    verdicts = list(Verdict.objects.filter(run=run).select_related("comparison__prompt"))
    assert len(verdicts) == Comparison.objects.filter(campaign=campaign).count()
    for v in verdicts:
        assert v.p_a + v.p_tie + v.p_b == pytest.approx(1.0)
        assert v.p_a_ab is not None and v.p_a_ba is not None
        assert v.p_tie_ab is not None and v.p_tie_ba is not None
        assert v.p_a == pytest.approx((v.p_a_ab + v.p_a_ba) / 2)
        assert v.p_tie == pytest.approx((v.p_tie_ab + v.p_tie_ba) / 2)
        assert v.consistent is not None
    v = verdicts[0]
    c = v.comparison
    a_first = _independent_verdict(
        judge_dir, judge_prompt(instruction=c.prompt.text, first=c.texts.text_a, second=c.texts.text_b)
    )
    b_first = _independent_verdict(
        judge_dir, judge_prompt(instruction=c.prompt.text, first=c.texts.text_b, second=c.texts.text_a)
    )
    expected = combine_orders(a_first=a_first, b_first=b_first)
    # batched (left padding) must equal the unbatched pass
    assert v.p_a_ab == pytest.approx(expected.ab[0], abs=1e-5)
    assert v.p_b_ba == pytest.approx(expected.ba[2], abs=1e-5)
    assert v.p_tie == pytest.approx(expected.p_tie, abs=1e-5)
    # An independent pass gives the position swap: A first's "first" is B first's "second".
    assert v.p_a_ab == pytest.approx(a_first[0], abs=1e-5) and v.p_a_ba == pytest.approx(b_first[1], abs=1e-5)

    # The report of the campaign now carries the judge block and a ppi object.
    rater = make_rater("rena")
    rate(campaign, rater, "left")
    report = json.loads(_report(campaign.name))
    assert report["judge"]["name"] == "tiny-judge"
    assert report["judge"]["items"] == 5
    assert "ppi" in report["overall"]


def _report(name: str) -> str:
    from reports.campaign_report import source_from_campaign
    from reports.exports import report_export

    return report_export(source=source_from_campaign(name=name), fmt="json")


def test_seq2seq_judge(campaign_factory, seq2seq_judge_dir) -> None:
    campaign = campaign_factory(n_prompts=3)
    model_spec_register(name="s2s-judge", path=str(seq2seq_judge_dir))
    run = judge_run_create(campaign=campaign, model="s2s-judge", enqueue=False)
    run = judge_run_execute(run_id=run.pk)
    assert run.status == JobStatus.DONE
    assert Verdict.objects.filter(run=run).count() == 3


def test_resume_skips_stored_verdicts_and_cancel_stops(campaign_factory, judge_dir) -> None:
    campaign = campaign_factory(n_prompts=4)
    model_spec_register(name="tiny-judge", path=str(judge_dir))
    run = judge_run_create(campaign=campaign, model="tiny-judge", chunk_size=2, enqueue=False)
    first = Comparison.objects.filter(campaign=campaign).order_by("pk").first()
    assert first is not None
    Verdict.objects.create(run=run, comparison=first, p_a=0.2, p_tie=0.3, p_b=0.5)
    judge_run_cancel(run=run)
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    assert judge_run_execute(run_id=run.pk).status == JobStatus.CANCELLED
    judge_run_retry(run=run, enqueue=False)
    run = judge_run_execute(run_id=run.pk)
    assert run.status == JobStatus.DONE
    assert Verdict.objects.filter(run=run).count() == 4
    kept = Verdict.objects.get(run=run, comparison=first)
    assert (kept.p_a, kept.p_b) == (0.2, 0.5)  # resumed, not recomputed
    with pytest.raises(JudgingError, match="only failed, cancelled"):
        judge_run_retry(run=run, enqueue=False)


def test_bad_input_is_refused(campaign_factory) -> None:
    campaign = campaign_factory(n_prompts=2)
    with pytest.raises(CommandError, match="no model named"):
        call_command("judge", "--campaign", campaign.name, "--model", "nope")
    with pytest.raises(CommandError, match="no campaign named"):
        call_command("judge", "--campaign", "nope", "--model", "nope")
    model_spec_register(name="ext", path="", source="external")
    with pytest.raises(JudgingError, match="external"):
        judge_run_create(campaign=campaign, model="ext", enqueue=False)
    assert not JudgeRun.objects.exists()
