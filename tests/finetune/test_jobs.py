"""Jobs, the finetune command and the pages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.models import JobStatus
from finetune import runner, services
from finetune.models import FinetuneJob
from generation.models import ModelSpec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny_base(tmp_path: Path, settings, db) -> ModelSpec:
    import torch

    from generation.tiny import save_tiny, tiny_causal

    torch.set_num_threads(1)
    settings.MODELS_DIR = tmp_path / "models"
    path = save_tiny(tiny_causal(seed=0), tmp_path / "base")
    return ModelSpec.objects.create(name="tiny-base", path=str(path), kind="causal")


@pytest.fixture
def small_mixture(tmp_path: Path) -> Path:
    rows = [{"question": f"What is {i} plus {i}?", "answer": str(2 * i)} for i in range(12)]
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = tmp_path / "mix.yaml"
    path.write_text("tasks:\n  - {name: sums, type: closed_book_qa, data: qa.jsonl}\n")
    return path


HP = {"steps": 4, "batch_size": 2, "seq_len": 128, "lr": 3e-3, "warmup": 1, "eval_every": 2, "save_every": 2}


def test_a_finished_job_registers_its_model_at_once(tiny_base, small_mixture) -> None:
    job = services.finetune_job_create(
        base="tiny-base", mixture_path=small_mixture, name="tiny-flan", hyperparameters=HP, enqueue=False
    )
    seen: list[dict] = []
    job = runner.finetune_job_run(job_id=job.pk, progress=seen.append)
    assert job.status == JobStatus.DONE and job.step == 4
    spec = ModelSpec.objects.get(name="tiny-flan")
    assert job.output_model == spec and spec.source == "finetune" and spec.kind == "causal"
    assert (Path(spec.path) / "config.json").is_file() and Path(spec.path) == Path(job.output_dir)
    assert [m["step"] for m in job.metrics] == [1, 2, 3, 4]
    assert any("eval_loss" in m for m in job.metrics)
    assert "block-diagonal" in job.notes
    assert seen and seen[-1]["step"] == 4


def test_a_failed_job_records_why_and_a_retry_resumes_from_the_checkpoint(
    tiny_base, small_mixture, django_capture_on_commit_callbacks
) -> None:
    job = services.finetune_job_create(
        base="tiny-base", mixture_path=small_mixture, name="flaky", hyperparameters=HP, enqueue=False
    )
    from finetune import train as train_mod

    original = train_mod.train

    def crashing_train(config, **kw):
        cb = kw["callback"]
        inner_on_log = cb.on_log

        def on_log(metrics):
            inner_on_log(metrics)
            if metrics["step"] == 3:
                raise RuntimeError("GPU fell off the bus")

        cb.on_log = on_log
        return original(config, **kw)

    with mock.patch.object(train_mod, "train", crashing_train), pytest.raises(RuntimeError):
        runner.finetune_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "GPU fell off the bus" in job.error
    assert not ModelSpec.objects.filter(name="flaky").exists()

    with (
        mock.patch("finetune.tasks.finetune_run.delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        services.finetune_job_retry(job=job)
    assert len(callbacks) == 1 and job.status == JobStatus.QUEUED
    delay.assert_called_once_with(job.pk)
    job = runner.finetune_job_run(job_id=job.pk)
    assert job.status == JobStatus.DONE
    assert "resumed from step-000002" in job.notes
    assert [m["step"] for m in job.metrics] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("kwargs", "culprit"),
    [
        ({"base": "no-such-model"}, "no-such-model"),
        ({"mixture_path": "/nowhere/mix.yaml"}, "/nowhere/mix.yaml"),
        ({"hyperparameters": {"optimizer": "sgd"}}, "optimizer"),
        ({"hyperparameters": {"steps": 0}}, "steps"),
        ({"name": "tiny-base"}, "already exists"),
    ],
)
def test_bad_input_fails_before_any_job_is_created(tiny_base, small_mixture, kwargs, culprit) -> None:
    args = {"base": "tiny-base", "mixture_path": small_mixture, "name": "new", "enqueue": False, **kwargs}
    with pytest.raises(ValidationError) as info:
        services.finetune_job_create(**args)
    assert culprit in " ".join(info.value.messages)
    assert not FinetuneJob.objects.exists()


def test_an_unknown_task_type_in_the_mixture_is_named(tiny_base, tmp_path) -> None:
    (tmp_path / "d.jsonl").write_text('{"question": "q", "answer": "a"}\n')
    (tmp_path / "bad.yaml").write_text("tasks:\n  - {name: weird, type: astrology, data: d.jsonl}\n")
    with pytest.raises(ValidationError, match="astrology"):
        services.finetune_job_create(
            base="tiny-base", mixture_path=tmp_path / "bad.yaml", name="x", enqueue=False
        )


def test_the_command_enqueues_on_the_gpu_queue_and_prints_the_job_id(
    tiny_base, small_mixture, capsys, django_capture_on_commit_callbacks
) -> None:
    from config.celery import app

    assert app.amqp.router.route({}, "finetune.tasks.finetune_run")["queue"].name == "gpu"
    with (
        mock.patch("finetune.tasks.finetune_run.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command(
            "finetune", "--base", "tiny-base", "--mixture", str(small_mixture), "--name", "queued-one"
        )
    job = FinetuneJob.objects.get()
    assert capsys.readouterr().out.strip() == str(job.pk)
    delay.assert_called_once_with(job.pk)


def test_the_command_with_wait_trains_here_and_registers_the_model(tiny_base, small_mixture, capsys) -> None:
    call_command(
        "finetune",
        "--base",
        "tiny-base",
        "--mixture",
        str(small_mixture),
        "--name",
        "waited",
        "--steps",
        "3",
        "--batch-size",
        "2",
        "--seq-len",
        "128",
        "--lr",
        "0.003",
        "--warmup",
        "1",
        "--eval-every",
        "3",
        "--save-every",
        "3",
        "--optimizer",
        "adafactor",
        "--wait",
    )
    out = capsys.readouterr()
    assert "registered model 'waited'" in out.out
    assert "3/3" in out.err  # the tqdm bar
    assert ModelSpec.objects.get(name="waited").source == "finetune"
    assert FinetuneJob.objects.get().hyperparameters["optimizer"] == "adafactor"


def test_the_command_rejects_bad_input_with_a_one_line_reason(tiny_base, tmp_path) -> None:
    with pytest.raises(CommandError, match="not registered"):
        call_command("finetune", "--base", "ghost", "--mixture", str(tmp_path / "m.yaml"), "--name", "n")
    with pytest.raises(CommandError, match="mixture file not found"):
        call_command("finetune", "--base", "tiny-base", "--mixture", str(tmp_path / "m.yaml"), "--name", "n")


def test_pages_list_queue_and_show_a_job_with_its_loss_curve(
    researcher_client, tiny_base, small_mixture, django_capture_on_commit_callbacks
) -> None:
    assert researcher_client.get(reverse("finetune:job_list")).status_code == 200
    form = researcher_client.get(reverse("finetune:job_create"))
    assert form.status_code == 200 and b"tiny-base" in form.content
    post = {
        "base": "tiny-base",
        "name": "<script>alert(1)</script>",
        "mixture_path": str(small_mixture),
        "optimizer": "adamw",
        "lora": "",
        **HP,
        "grad_accum": 1,
        "seed": 0,
    }
    with (
        mock.patch("finetune.tasks.finetune_run.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = researcher_client.post(reverse("finetune:job_create"), post)
    job = FinetuneJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "finetune:job_detail", args=[job.pk]
    )
    delay.assert_called_once_with(job.pk)
    FinetuneJob.objects.filter(pk=job.pk).update(
        metrics=[{"step": 1, "loss": 5.0}, {"step": 2, "loss": 4.0, "eval_loss": 4.5}], step=2
    )
    detail = researcher_client.get(reverse("finetune:job_detail", args=[job.pk]))
    html = detail.content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert reverse("plotly_js") in html and "loss-chart" in html and "cdn" not in html.lower()
    data = researcher_client.get(reverse("finetune:job_metrics", args=[job.pk])).json()
    assert data["step"] == 2 and data["metrics"][1]["eval_loss"] == 4.5
    js = researcher_client.get(reverse("plotly_js"))
    assert js.status_code == 200 and b"plotly" in js.content[:2000].lower()
    listing = researcher_client.get(reverse("finetune:job_list")).content.decode()
    assert "&lt;script&gt;" in listing


def test_the_form_shows_a_bad_mixture_error(researcher_client, tiny_base, tmp_path) -> None:
    post = {
        "base": "tiny-base",
        "name": "m",
        "mixture_path": str(tmp_path / "none.yaml"),
        "optimizer": "adamw",
        **HP,
        "grad_accum": 1,
        "seed": 0,
    }
    response = researcher_client.post(reverse("finetune:job_create"), post)
    assert response.status_code == 200 and b"mixture file not found" in response.content
    assert not FinetuneJob.objects.exists()


def test_cancel_and_retry_buttons(researcher_client, tiny_base, small_mixture) -> None:
    job = services.finetune_job_create(base="tiny-base", mixture_path=small_mixture, name="c", enqueue=False)
    researcher_client.post(reverse("finetune:job_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    with mock.patch("finetune.tasks.finetune_run.delay"):
        researcher_client.post(reverse("finetune:job_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


def test_raters_cannot_see_finetuning_pages(rater_client) -> None:
    assert rater_client.get(reverse("finetune:job_list")).status_code == 403


def test_the_web_side_of_finetune_never_imports_torch() -> None:
    code = (
        "import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup();"
        "import finetune.models, finetune.views, finetune.urls, finetune.admin, finetune.tasks, finetune.forms,"
        " finetune.services, finetune.mixture, finetune.generators, finetune.hyperparameters,"
        " finetune.checkpoints, finetune.train_types;"
        "from finetune.management.commands import finetune as c, pretrain_base as p;"
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False False"
