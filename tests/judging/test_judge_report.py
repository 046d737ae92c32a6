"""Imported verdicts, the report's judge block and PPI on a small fixed case, refusals, the pages."""

from __future__ import annotations

import json
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from annotate.models import Comparison, RaterExclusion, Rating
from judging.errors import JudgingError
from judging.imports import judgments_import
from judging.models import JudgeRun, Verdict
from reports.campaign_report import source_from_campaign
from reports.exports import report_export

pytestmark = pytest.mark.django_db

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "peer-ratings" / "annotations"

# prompt -> (p_a, p_tie, p_b) of the judge; A is sys-alpha (the baseline), B sys-beta (the candidate)
VERDICTS = {
    "p000": (0.2, 0.1, 0.7),
    "p001": (0.6, 0.2, 0.2),
    "p002": (0.2, 0.3, 0.5),
    "p003": (0.8, 0.1, 0.1),
    "p004": (0.05, 0.05, 0.9),
    "p005": (0.2, 0.6, 0.2),
}
HUMAN = {"p000": "b", "p001": "a", "p002": "tie", "p003": "b"}  # p004, p005: nobody rated them


def _write_jsonl(path: Path, rows: dict[str, tuple[float, float, float]], flip: bool = False) -> Path:
    lines = []
    for uid, (p_a, p_tie, p_b) in rows.items():
        a, b = ("sys-beta", "sys-alpha") if flip else ("sys-alpha", "sys-beta")
        pa, pb = (p_b, p_a) if flip else (p_a, p_b)
        lines.append(
            json.dumps({"prompt_id": uid, "system_a": a, "system_b": b, "p_a": pa, "p_tie": p_tie, "p_b": pb})
        )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def fixed_case(campaign_factory, make_rater, tmp_path):
    campaign = campaign_factory(n_prompts=6)
    rater = make_rater("rhea")
    for uid, choice in HUMAN.items():
        c = Comparison.objects.get(campaign=campaign, prompt__uid=uid)
        Rating.objects.create(
            comparison=c, campaign=campaign, rater=rater, choice=choice, side="tie", seconds=5.0
        )
    # the file names the systems the other way round: the import must map them back
    run = judgments_import(
        campaign=campaign, path=_write_jsonl(tmp_path / "v.jsonl", VERDICTS, flip=True), name="my-judge"
    )
    return campaign, run


def test_import_and_report_match_hand_computed_values(fixed_case) -> None:
    ppi_py = pytest.importorskip("ppi_py")
    scipy_stats = pytest.importorskip("scipy.stats")
    campaign, run = fixed_case
    assert run.items_done == 6
    v = Verdict.objects.get(run=run, comparison__prompt__uid="p000")
    assert (v.p_a, v.p_tie, v.p_b) == pytest.approx(VERDICTS["p000"])
    report = json.loads(report_export(source=source_from_campaign(name=campaign.name), fmt="json"))
    judge = report["judge"]
    assert judge["name"] == "my-judge" and judge["items"] == 6 and judge["rated_items"] == 4
    # judge labels b, a, b, a against humans b, a, tie, b
    assert judge["percent_agreement"] == pytest.approx(0.5)
    # observed 0.5; expected (2*2 [b] + 2*1 [a]) / 16 = 0.375; kappa = 0.125 / 0.625
    assert judge["cohen_kappa"] == pytest.approx(0.2)
    assert judge["position_consistency"] is None  # imported: one order only
    assert judge["judge_only"]["preference_rate_ties_half"] == pytest.approx(
        np.mean([p_b + p_tie / 2 for _, p_tie, p_b in VERDICTS.values()])
    )
    ppi = report["overall"]["ppi"]
    labeled = list(HUMAN)
    y = np.array([{"b": 1.0, "a": 0.0, "tie": 0.5}[HUMAN[u]] for u in labeled])
    f = {u: p_b + p_tie / 2 for u, (_, p_tie, p_b) in VERDICTS.items()}
    f_lab, f_unl = np.array([f[u] for u in labeled]), np.array([f["p004"], f["p005"]])
    # Four labels are lopsided (fewer than 10 on a side): plain PPI (lam = 1), the rectifier's variance
    # with ddof 1 and Student's t on 3 degrees of freedom (analysis.stats.ppi, robust).
    point = float(np.ravel(ppi_py.ppi_mean_pointestimate(y, f_lab, f_unl, lam=1.0))[0])
    se = np.sqrt(f_unl.var() / 2 + (y - f_lab).var(ddof=1) / 4)
    t = scipy_stats.t.ppf(0.975, 3)
    assert ppi["lambda"] == 1.0
    assert ppi["estimate"] == pytest.approx(point, abs=1e-6)
    # clipped to [0, 1]
    assert ppi["ci_low"] == pytest.approx(max(0.0, point - t * se), abs=1e-6)
    assert ppi["ci_high"] == pytest.approx(min(1.0, point + t * se), abs=1e-6)
    assert ppi["n_human"] == 4 and ppi["n_judge_only"] == 2
    assert ppi["human_only_estimate"] == pytest.approx(y.mean())
    for key in (
        "estimate",
        "ci_low",
        "ci_high",
        "human_only_ci_low",
        "human_only_ci_high",
        "effective_n",
        "lambda",
    ):
        assert key in ppi
    assert "decisive" in ppi
    assert set(report["by_category"]) == {"writing", "coding"}
    assert all("ppi" in block for block in report["by_category"].values())


def test_ppi_refused_for_excluded_raters_and_gold(fixed_case, make_rater) -> None:
    campaign, _ = fixed_case
    other = make_rater("otto")
    c = Comparison.objects.get(campaign=campaign, prompt__uid="p004")
    Rating.objects.create(comparison=c, campaign=campaign, rater=other, choice="a", side="tie", seconds=5.0)
    RaterExclusion.objects.create(campaign=campaign, rater=other)
    report = json.loads(report_export(source=source_from_campaign(name=campaign.name), fmt="json"))
    assert report["overall"]["ppi"] is None
    assert "excluded raters" in report["overall"]["ppi_refused"]
    RaterExclusion.objects.all().delete()
    Rating.objects.filter(rater=other).delete()
    Comparison.objects.filter(campaign=campaign, prompt__uid="p000").update(gold_answer="b")
    report = json.loads(report_export(source=source_from_campaign(name=campaign.name), fmt="json"))
    assert report["overall"]["ppi"] is None and "gold" in report["overall"]["ppi_refused"]
    report = json.loads(
        report_export(source=source_from_campaign(name=campaign.name, exclude_gold=True), fmt="json")
    )
    assert report["overall"]["ppi"] is not None  # gold left out of both the ratings and the judged set
    assert report["overall"]["ppi"]["n_judge_only"] == 2


def test_partial_judge_run_is_refused(campaign_factory, make_rater, tmp_path) -> None:
    campaign = campaign_factory(n_prompts=6)
    rater = make_rater("rhea")
    for uid, choice in HUMAN.items():
        c = Comparison.objects.get(campaign=campaign, prompt__uid=uid)
        Rating.objects.create(
            comparison=c, campaign=campaign, rater=rater, choice=choice, side="tie", seconds=5.0
        )
    part = {u: VERDICTS[u] for u in ("p000", "p001", "p002", "p003")}
    judgments_import(campaign=campaign, path=_write_jsonl(tmp_path / "v.jsonl", part))
    report = json.loads(report_export(source=source_from_campaign(name=campaign.name), fmt="json"))
    assert report["overall"]["ppi"] is None and "covers 4 of 6" in report["overall"]["ppi_refused"]
    assert report["judge"]["percent_agreement"] == pytest.approx(0.5)


def test_import_errors_name_lines_and_store_nothing(campaign_factory, tmp_path) -> None:
    campaign = campaign_factory(n_prompts=3)
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"prompt_id": "p000", "system_a": "sys-alpha", "system_b": "sys-beta", "p_a": 0.5, "p_tie": 0.0, "p_b": 0.5}\n'
        '{"prompt_id": "p001", "system_a": "sys-alpha", "system_b": "sys-beta", "p_a": 0.5, "p_tie": 0.5, "p_b": 0.5}\n'
        '{"prompt_id": "p002", "system_a": "sys-alpha", "system_b": "gpt-9", "p_a": 0.5, "p_tie": 0.0, "p_b": 0.5}\n'
        '{"prompt_id": "p999", "system_a": "sys-alpha", "system_b": "sys-beta", "p_a": 0.5, "p_tie": 0.0, "p_b": 0.5}\n'
        '{"prompt_id": "p000", "system_a": "sys-beta", "system_b": "sys-alpha", "p_a": 0.5, "p_tie": 0.0, "p_b": 0.5}\n'
    )
    with pytest.raises(CommandError) as info:
        call_command("import_judgments", "--campaign", campaign.name, str(path))
    message = str(info.value)
    assert "line 2" in message and "not 1" in message
    assert "line 3" in message and "gpt-9" in message
    assert "line 4" in message and "p999" in message
    assert "line 5" in message and "second verdict" in message
    assert "line 1:" not in message
    assert not JudgeRun.objects.exists() and not Verdict.objects.exists()
    with pytest.raises(JudgingError, match="cannot tell the format"):
        (tmp_path / "x.jsonl").write_text('{"foo": 1}\n')
        judgments_import(campaign=campaign, path=tmp_path / "x.jsonl")


def test_real_alpacaeval_annotations(campaign_factory, tmp_path) -> None:
    source = REAL / "alpaca-7b_vs_gpt4_1106_preview.weighted_alpaca_eval_gpt4_turbo.json"
    if not source.exists():
        pytest.skip(f"real AlpacaEval annotations not found at {source} (../shared/peer-ratings)")
    from annotate.services import campaign_create
    from tests.factories import make_eval_set, make_system

    records = json.loads(source.read_text())[:25]
    eval_set = make_eval_set(name="ae", n_prompts=25, texts=[r["instruction"] for r in records])
    by_text = {r["instruction"]: r for r in records}
    make_system("gpt4_1106_preview", eval_set, text=lambda p: by_text[p.text]["output_1"])
    make_system("alpaca-7b", eval_set, text=lambda p: by_text[p.text]["output_2"])
    campaign_create(name="ae-camp", eval_set=eval_set, systems=["alpaca-7b", "gpt4_1106_preview"])
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(records))
    call_command("import_judgments", "--campaign", "ae-camp", str(path))
    run = JudgeRun.objects.get()
    assert run.name == "weighted_alpaca_eval_gpt4_turbo" and run.items_done == 25
    for r in records:
        v = Verdict.objects.get(run=run, comparison__prompt__text=r["instruction"])
        # system A is alpaca-7b (the campaign's first system) = generator_2: p(A) = preference - 1
        assert v.p_a == pytest.approx(r["preference"] - 1)
        assert v.p_b == pytest.approx(2 - r["preference"])


def test_pages(fixed_case, researcher_client, tmp_path, settings) -> None:
    from generation.services import model_spec_register

    campaign, run = fixed_case
    page = researcher_client.get(f"/campaigns/{campaign.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Automatic judge" in body and "my-judge" in body and "Prediction-powered" in body
    assert researcher_client.get(f"/judging/campaigns/{campaign.pk}/").status_code == 200
    detail = researcher_client.get(f"/judging/runs/{run.pk}/")
    assert detail.status_code == 200 and "p000" in detail.content.decode()
    assert researcher_client.get(f"/judging/runs/{run.pk}/status.json").json()["status"] == "done"
    upload = SimpleUploadedFile("v.jsonl", _write_jsonl(tmp_path / "w.jsonl", VERDICTS).read_bytes())
    response = researcher_client.post(
        f"/judging/campaigns/{campaign.pk}/",
        {"action": "import", "file": upload, "format": "jsonl", "name": "second"},
    )
    assert response.status_code == 302
    assert JudgeRun.objects.filter(name="second").exists()
    bad = SimpleUploadedFile("v.jsonl", b'{"prompt_id": "zzz"}\n')
    response = researcher_client.post(
        f"/judging/campaigns/{campaign.pk}/",
        {"action": "import", "file": bad, "format": "jsonl"},
        follow=True,
    )
    assert "missing field" in response.content.decode()
    settings.MAX_UPLOAD_BYTES = 1024
    runs = JudgeRun.objects.count()
    big = SimpleUploadedFile("big.jsonl", b" " * 1025)
    response = researcher_client.post(
        f"/judging/campaigns/{campaign.pk}/",
        {"action": "import", "file": big, "format": "jsonl"},
        follow=True,
    )
    assert (
        "big.jsonl: file is 1,025 bytes; the limit is 1,024 bytes (MAX_UPLOAD_BYTES)"
        in response.content.decode()
    )
    assert JudgeRun.objects.count() == runs
    model_spec_register(name="judge-x", path=str(tmp_path))
    response = researcher_client.post(
        f"/judging/campaigns/{campaign.pk}/", {"action": "run", "model": "judge-x"}
    )
    assert response.status_code == 302
    assert JudgeRun.objects.filter(name="judge-x", status="queued").exists()


def test_a_file_of_empty_objects_stops_at_twenty_problems_and_is_not_read_to_its_end(
    campaign_factory, tmp_path
) -> None:
    campaign = campaign_factory(n_prompts=3)
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"{}\n" * 200_000)
    tracemalloc.start()
    try:
        with pytest.raises(JudgingError) as info:
            judgments_import(campaign=campaign, path=path, fmt="jsonl")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    lines = str(info.value).splitlines()
    assert lines[0] == "20 problem(s) (stopped at the first 20), nothing imported:"
    assert len(lines) == 21 and lines[-1] == "empty.jsonl, line 20: missing field 'prompt_id'"
    assert peak < 4 * 1024 * 1024, f"{peak:,} bytes at the peak: the file was held whole"
    assert not JudgeRun.objects.exists()


def test_bad_json_lines_count_toward_the_cap_too(campaign_factory, tmp_path) -> None:
    campaign = campaign_factory(n_prompts=3)
    path = tmp_path / "junk.jsonl"
    path.write_bytes(b"{not json\n" * 50 + b"\xff\xfe\n" * 50)
    with pytest.raises(JudgingError) as info:
        judgments_import(campaign=campaign, path=path, fmt="jsonl")
    assert str(info.value).count("\n") == 20 and "junk.jsonl, line 20: not valid JSON" in str(info.value)


def test_an_uploaded_files_problems_name_it_by_its_own_name_never_a_temporary_path(
    campaign_factory, researcher_client
) -> None:
    campaign = campaign_factory(n_prompts=3)
    for body, fmt in ((b'{"prompt_id": "zzz"}\n', "jsonl"), (b"\n\n", "auto"), (b"[1, 2", "auto")):
        upload = SimpleUploadedFile("my verdicts.jsonl", body)
        page = researcher_client.post(
            f"/judging/campaigns/{campaign.pk}/",
            {"action": "import", "file": upload, "format": fmt},
            follow=True,
        ).content.decode()
        assert "my verdicts.jsonl" in page, page
        assert "/tmp" not in page and tempfile.gettempdir() not in page
    assert not JudgeRun.objects.exists()


def test_a_json_array_of_verdicts_is_read_element_by_element(campaign_factory, tmp_path) -> None:
    campaign = campaign_factory(n_prompts=2)
    rows = [
        {
            "prompt_id": f"p00{i}",
            "system_a": "sys-alpha",
            "system_b": "sys-beta",
            "p_a": 0.5,
            "p_tie": 0,
            "p_b": 0.5,
        }
        for i in range(2)
    ]
    path = tmp_path / "v.json"
    path.write_text("\n" + json.dumps(rows, indent=2))
    assert judgments_import(campaign=campaign, path=path).items_done == 2
    path.write_text(json.dumps(rows)[:-1] + ", {}]")
    with pytest.raises(JudgingError, match=r"v.json, record 3: missing field 'prompt_id'"):
        judgments_import(campaign=campaign, path=path)
