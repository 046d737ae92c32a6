"""The served-model client against a small IN-PROCESS FAKE HTTP server: error paths only.

Exactness and the happy path are tested against a real vLLM server (test_vllm.py); this fake only
plays what a real one rarely does on cue: going down mid-job, returning no log-probabilities,
refusing a request. Also registration, the API key's handling and the queue a job is sent to.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.models import JobStatus
from generation import tasks
from generation.models import GenerationChunk, ModelSpec, Sample
from generation.params import GenerationParams
from generation.runner import generation_job_run
from generation.services import (
    GenerationError,
    generation_job_create,
    generation_job_retry,
    model_spec_register_served,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("served_loopback")]
FAST = GenerationParams(samples_per_prompt=3, max_new_tokens=4)


class FakeServer:
    """Answers /tokenize and /v1/completions like vLLM, with faults switched on by the test."""

    def __init__(self) -> None:
        self.logprobs = True
        self.fail_after: int | None = None  # completions answered before it goes "down" (503)
        self.completions = 0
        self.headers: list[dict[str, str]] = []
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.headers.append(dict(self.headers))
                fake.bodies.append((self.path, body))
                if self.path == "/tokenize":
                    ids = [b + 3 for b in body["prompt"].encode()] + (
                        [1] if body["add_special_tokens"] else []
                    )
                    return self._send(200, {"tokens": ids, "count": len(ids)})
                with fake.lock:
                    fake.completions += 1
                    down = fake.fail_after is not None and fake.completions > fake.fail_after
                if down:
                    return self._send(503, {"error": "engine dead"})
                choices = []
                for i in range(body["n"]):
                    ids = [70 + i, 71, 1]
                    logprobs = {
                        "tokens": [f"token_id:{t}" for t in ids],
                        "token_logprobs": [-1.0 - i, -0.5, -0.25],
                    }
                    choice = {
                        "index": i,
                        "text": chr(67 + i) + "D",
                        "finish_reason": "stop",
                        "stop_reason": None,
                    }
                    choice["logprobs"] = logprobs if fake.logprobs else None
                    choice["token_ids"] = ids if fake.logprobs else None
                    choices.append(choice)
                self._send(200, {"choices": choices, "prompt_token_ids": body["prompt"]})

            def _send(self, code: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    fake = FakeServer()
    thread = threading.Thread(target=fake.httpd.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


@pytest.fixture
def fake_spec(fake_server) -> ModelSpec:
    return model_spec_register_served(name="fake", base_url=fake_server.url, served_model="m")


def test_a_server_down_mid_job_fails_the_chunk_cleanly_and_a_retry_resumes_without_duplicates(
    fake_spec, fake_server, eval_set_factory, settings
):
    settings.GENERATION_SERVED_CONCURRENCY = 1  # deterministic: exactly two prompts get through
    eval_set_factory(count=5)
    fake_server.fail_after = 2
    job = generation_job_create(model=fake_spec, eval_set="demo", params=FAST, enqueue=False)
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.FAILED
    assert "ServedModelError" in job.error and "HTTP 503" in job.error
    assert job.chunks.get().status == GenerationChunk.Status.PENDING
    assert Sample.objects.filter(job=job).count() == 6 and job.prompts_done == 2
    # The prompts sent as ids, EOS dropped, and the scores summed over the returned tokens.
    first = Sample.objects.filter(job=job, index=0).first()
    assert first is not None and first.prompt_token_ids[-1] != 1 and first.logprob_sum == -1.75

    fake_server.fail_after = None
    generation_job_retry(job=job, enqueue=False)
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.DONE, job.error
    rows = Sample.objects.filter(job=job)
    assert rows.count() == 15
    assert sorted(rows.values_list("prompt_id", "index")) == sorted(
        (p.pk, i) for p in job.eval_set.prompts.all() for i in range(3)
    )


def test_a_server_that_is_not_there_fails_with_the_address_it_tried(eval_set_factory):
    spec = model_spec_register_served(name="ghost", base_url="http://127.0.0.1:9/v1", served_model="m")
    eval_set_factory(count=1)
    job = generation_job_run(job_id=generation_job_create(model=spec, eval_set="demo", enqueue=False).pk)
    assert job.status == JobStatus.FAILED
    assert "could not be reached" in job.error and "127.0.0.1:9" in job.error


def test_without_logprobs_the_papers_selection_refuses_and_selection_none_generates(
    fake_spec, fake_server, eval_set_factory
):
    fake_server.logprobs = False
    eval_set_factory(count=2)
    job = generation_job_create(model=fake_spec, eval_set="demo", params=FAST, enqueue=False)
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.FAILED
    assert "no log-probabilities" in job.error and "--selection none" in job.error
    assert not Sample.objects.filter(job=job).exists()

    job = generation_job_create(
        model=fake_spec, eval_set="demo", params=replace(FAST, selection_policy="none"), enqueue=False
    )
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.DONE, job.error
    rows = list(Sample.objects.filter(job=job).order_by("prompt__position", "index"))
    assert len(rows) == 6
    assert all(r.logprob_sum is None and r.kept and r.threshold is None for r in rows)
    assert [r.selected for r in rows] == [True, False, False, True, False, False]


def test_the_api_key_comes_from_the_named_variable_on_the_worker_and_is_never_stored(
    fake_server, eval_set_factory, monkeypatch, settings
):
    settings.SERVED_API_KEY_VARS = ["FAKE_SERVED_*"]
    spec = model_spec_register_served(
        name="keyed", base_url=fake_server.url, served_model="m", api_key_env="FAKE_SERVED_KEY"
    )
    eval_set_factory(count=1)
    monkeypatch.delenv("FAKE_SERVED_KEY", raising=False)
    job = generation_job_run(job_id=generation_job_create(model=spec, eval_set="demo", enqueue=False).pk)
    assert job.status == JobStatus.FAILED and "$FAKE_SERVED_KEY" in job.error and "not set" in job.error

    monkeypatch.setenv("FAKE_SERVED_KEY", "sk-secret-123")
    generation_job_retry(job=job, enqueue=False)
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.DONE, job.error
    assert fake_server.headers[-1]["Authorization"] == "Bearer sk-secret-123"
    stored = json.dumps(list(ModelSpec.objects.values()), default=str)
    assert "sk-secret-123" not in stored and "FAKE_SERVED_KEY" in stored


def test_served_jobs_go_to_the_default_queue_and_in_process_ones_to_gpu(
    fake_spec, causal_dir, eval_set_factory, monkeypatch, django_capture_on_commit_callbacks
):
    from generation.services import model_spec_register

    sent: list[tuple[str, str | None]] = []
    monkeypatch.setattr(tasks.generation_job_run_task, "delay", lambda job_id: sent.append(("delay", None)))
    monkeypatch.setattr(
        tasks.generation_job_run_task, "apply_async", lambda args, queue: sent.append(("async", queue))
    )
    eval_set_factory(count=1)
    local = model_spec_register(name="local", path=str(causal_dir))
    with django_capture_on_commit_callbacks(execute=True):
        generation_job_create(model=fake_spec, eval_set="demo")
        generation_job_create(model=local, eval_set="demo")
    assert sent == [("async", "default"), ("delay", None)]  # delay: the `gpu` route in settings


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--backend", "openai", "--served-model", "m"], "needs --base-url and --served-model"),
        (["--backend", "openai", "--base-url", "ftp://x/v1", "--served-model", "m"], "not an http"),
        (["--backend", "openai", "--base-url", "http://u:p@x/v1", "--served-model", "m"], "no credentials"),
        (
            [
                "--backend",
                "openai",
                "--base-url",
                "http://10.0.0.7/v1",
                "--served-model",
                "m",
                "--api-key-env",
                "sk-1",
            ],
            "not an environment variable name",
        ),
        (
            ["--backend", "openai", "--base-url", "http://10.0.0.7/v1", "--served-model", "m", "--path", "d"],
            "in-process",
        ),
        (["--base-url", "http://10.0.0.7/v1"], "need --backend openai"),
        ([], "give --path"),
    ],
)
def test_register_model_refuses_bad_served_arguments_and_stores_nothing(argv, message, settings):
    settings.SERVED_ALLOWED_HOSTS = ["10.0.0.7"]
    with pytest.raises(CommandError, match=message):
        call_command("register_model", "bad", *argv)
    assert not ModelSpec.objects.exists()


def test_register_model_stores_a_served_model_with_chat(capsys, settings):
    settings.SERVED_ALLOWED_HOSTS, settings.SERVED_API_KEY_VARS = ["10.0.0.0/24"], ["VLLM_KEY"]
    call_command(
        "register_model", "big", "--backend", "openai", "--base-url", "http://10.0.0.7:8000/v1/",
        "--served-model", "meta-llama/Llama-3.1-70B-Instruct", "--chat", "--api-key-env", "VLLM_KEY",
    )  # fmt: skip
    spec = ModelSpec.objects.get(name="big")
    assert (spec.backend, spec.base_url, spec.chat, spec.api_key_env, spec.path) == (
        "openai", "http://10.0.0.7:8000/v1", True, "VLLM_KEY", ""
    )  # fmt: skip
    assert "registered served model big" in capsys.readouterr().out
    with pytest.raises(GenerationError, match="already registered"):
        model_spec_register_served(name="big", base_url="http://10.0.0.7:8000/v1", served_model="x")


def test_a_served_base_model_gets_each_conversation_turn_in_the_recorded_plain_template(
    fake_spec, fake_server, settings
):
    from eval_sets.services import eval_set_import

    settings.GENERATION_SERVED_CONCURRENCY = 1
    line = {"question_id": 1, "category": "writing", "turns": ["Write a poem.", "Now make it rhyme."]}
    eval_set_import(data=(json.dumps(line) + "\n").encode(), filename="mt.jsonl", name="mt")
    job = generation_job_create(model=fake_spec, eval_set="mt", params=FAST, enqueue=False)
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.DONE, job.error
    chosen = Sample.objects.get(job=job, turn=1, selected=True).text
    # Each prompt is tokenized more than once (with and without the tokenizer's suffix).
    tokenized = list(
        dict.fromkeys(body["prompt"] for path, body in fake_server.bodies if path == "/tokenize")
    )
    assert tokenized == [
        "User: Write a poem.\n\nAssistant:",
        f"User: Write a poem.\n\nAssistant: {chosen}\n\nUser: Now make it rhyme.\n\nAssistant:",
    ]
    assert Sample.objects.filter(job=job, turn=2).count() == 3
    assert "User: {user}" in job.conversation_template
