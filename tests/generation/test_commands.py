"""register_model, generate, export_generations and import_outputs from the command line."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core.models import JobStatus
from generation.models import GenerationJob, ModelSpec, Sample
from generation.selectors import EXPORT_FIELDS

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_register_model_detects_the_kind_of_a_saved_directory(seq2seq_dir):
    assert "seq2seq" in run("register_model", "t5", "--path", str(seq2seq_dir))
    spec = ModelSpec.objects.get(name="t5")
    assert (spec.kind, spec.source, spec.chat_template) == ("seq2seq", "path", False)


def test_register_model_takes_kind_chat_template_and_dtype(causal_dir):
    run(
        "register_model",
        "chat",
        "--path",
        str(causal_dir),
        "--kind",
        "causal",
        "--chat-template",
        "--dtype",
        "float32",
    )
    spec = ModelSpec.objects.get(name="chat")
    assert (spec.kind, spec.chat_template, spec.dtype) == ("causal", True, "float32")


def test_register_model_with_a_missing_directory_fails_with_one_line(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        run("register_model", "x", "--path", str(tmp_path / "missing"))


def test_generate_with_wait_runs_the_job_and_prints_its_id_then_exports_the_contract_fields(
    causal_dir, eval_set_factory, tmp_path
):
    eval_set_factory(count=3)
    run("register_model", "tiny", "--path", str(causal_dir))
    output = run(
        "generate",
        "--model",
        "tiny",
        "--eval-set",
        "demo",
        "--samples",
        "2",
        "--max-new-tokens",
        "6",
        "--seed",
        "3",
        "--limit",
        "2",
        "--wait",
    )
    job = GenerationJob.objects.get()
    assert output.strip() == str(job.pk)
    assert job.status == JobStatus.DONE and job.prompts_done == 2 and job.seed == 3

    lines = [json.loads(line) for line in run("export_generations", "--job", str(job.pk)).splitlines()]
    assert len(lines) == 4
    assert all(tuple(row) == EXPORT_FIELDS for row in lines)
    assert [(r["prompt_id"], r["sample_index"]) for r in lines] == [
        ("p0", 0),
        ("p0", 1),
        ("p1", 0),
        ("p1", 1),
    ]
    assert sum(r["selected"] for r in lines) == 2

    out = tmp_path / "gen.jsonl"
    run("export_generations", "--job", str(job.pk), "--out", str(out), "--with-tokens")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    stored = Sample.objects.get(job=job, prompt__uid="p0", index=1)
    assert rows[1]["token_ids"] == stored.token_ids
    assert rows[1]["prompt_token_ids"] == stored.prompt_token_ids
    assert rows[1]["num_tokens"] == len(rows[1]["token_ids"])


def test_generate_without_wait_only_enqueues(
    causal_dir, eval_set_factory, monkeypatch, django_capture_on_commit_callbacks
):
    from generation import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.generation_job_run_task, "delay", sent.append)
    eval_set_factory(count=1)
    run("register_model", "tiny", "--path", str(causal_dir))
    with django_capture_on_commit_callbacks(execute=True):
        job_id = int(run("generate", "--model", "tiny", "--eval-set", "demo"))
    assert sent == [job_id]
    assert GenerationJob.objects.get(pk=job_id).status == JobStatus.QUEUED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--temperature", "0"], "temperature"),
        (["--samples", "0"], "samples"),
        (["--model", "nope"], "no model named"),
    ],
)
def test_generate_refuses_bad_parameters_with_a_reason(causal_dir, eval_set_factory, args, message):
    eval_set_factory(count=1)
    run("register_model", "tiny", "--path", str(causal_dir))
    base = {"--model": "tiny", "--eval-set": "demo"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    with pytest.raises(CommandError, match=message):
        run("generate", *[item for pair in base.items() for item in pair])
    assert not GenerationJob.objects.exists()


def test_export_of_an_unknown_job_fails():
    with pytest.raises(CommandError, match="no generation job 99"):
        run("export_generations", "--job", "99")


def test_import_outputs_records_one_selected_sample_per_prompt_for_an_external_system(
    eval_set_factory, tmp_path
):
    eval_set_factory(count=3)
    path = tmp_path / "out.jsonl"
    path.write_text(
        '{"prompt_id": "p0", "response": "<b>zero</b>"}\n{"prompt_id": "p2", "response": "two"}\n'
    )
    run("import_outputs", "api-model", "demo", str(path))
    spec = ModelSpec.objects.get(name="api-model")
    assert spec.source == "external"
    job = GenerationJob.objects.get(model=spec)
    assert (job.status, job.samples_per_prompt, job.prompts_done) == (JobStatus.DONE, 1, 2)
    samples = {s.prompt.uid: s for s in Sample.objects.filter(job=job)}
    assert samples["p0"].text == "<b>zero</b>"
    assert all(s.selected and s.kept and s.logprob_sum is None for s in samples.values())


def test_import_outputs_matches_alpacaeval_records_by_prompt_text(eval_set_factory, tmp_path):
    eval_set = eval_set_factory(count=2)
    texts = list(eval_set.prompts.order_by("position").values_list("text", flat=True))
    path = tmp_path / "alpaca.json"
    path.write_text(
        json.dumps(
            [{"instruction": t, "output": f"answer {i}", "generator": "gpt"} for i, t in enumerate(texts)]
        )
    )
    run("import_outputs", "gpt", "demo", str(path))
    assert dict(Sample.objects.values_list("prompt__uid", "text")) == {"p0": "answer 0", "p1": "answer 1"}


def test_import_outputs_with_unknown_prompt_ids_names_them_and_imports_nothing(eval_set_factory, tmp_path):
    eval_set_factory(count=2)
    path = tmp_path / "out.jsonl"
    path.write_text('{"prompt_id": "p0", "response": "a"}\n{"prompt_id": "zz9", "response": "b"}\n')
    with pytest.raises(CommandError, match="zz9"):
        run("import_outputs", "api", "demo", str(path))
    assert not Sample.objects.exists()
    assert not ModelSpec.objects.filter(name="api").exists()


def test_import_outputs_names_the_line_of_a_broken_record_and_imports_nothing(eval_set_factory, tmp_path):
    eval_set_factory(count=2)
    path = tmp_path / "out.jsonl"
    path.write_text('{"prompt_id": "p0", "response": "a"}\n{"prompt_id": "p1", "response": \n')
    with pytest.raises(CommandError, match=r"out\.jsonl, line 2: not valid JSON"):
        run("import_outputs", "api", "demo", str(path))
    path.write_text('{"prompt_id": "p0", "response": "a"}\n{"prompt_id": "p1"}\n')
    with pytest.raises(CommandError, match="line 2: the response must be a string"):
        run("import_outputs", "api", "demo", str(path))
    path.write_text("")
    with pytest.raises(CommandError, match="empty"):
        run("import_outputs", "api", "demo", str(path))
    assert not Sample.objects.exists()


class _Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_the_done_line_of_generate_wait_is_not_printed_in_the_error_style(
    causal_dir, eval_set_factory, monkeypatch
):
    # `make demo` runs `generate --wait` on a terminal: its success line must not look like an error.
    from django.core.management.color import color_style

    eval_set_factory(count=1)
    run("register_model", "tiny", "--path", str(causal_dir))
    terminal = _Terminal()
    # Both streams a terminal, as under `make demo`: Django picks its colours when the command is made.
    monkeypatch.setattr("sys.stdout", _Terminal())
    monkeypatch.setattr("sys.stderr", terminal)
    job_id = StringIO()
    call_command(
        "generate", "--model", "tiny", "--eval-set", "demo", "--samples", "1", "--max-new-tokens", "2",
        "--wait", stdout=job_id,
    )  # fmt: skip
    done = next(line for line in terminal.getvalue().splitlines() if " done: " in line)
    error = color_style(force_color=True).ERROR("x").split("x")[0]
    assert error not in done
    assert job_id.getvalue().strip().isdigit()  # stdout still holds the bare id that scripts read
