"""Every connection to a served model, against misbehaving fake servers (issue 25, items 2, 3 and 8).

The worker checks the operator's rules again at run time, follows no redirect, never shows an
error body, stops a request at its deadline however the server trickles, bounds what it reads,
and turns a broken answer into a clean failure that a retry resumes from.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core.models import JobStatus
from generation.models import ModelSpec, Sample
from generation.params import GenerationParams
from generation.runner import generation_job_run
from generation.services import generation_job_create, generation_job_retry, model_spec_register_served

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("served_loopback")]
FAST = GenerationParams(samples_per_prompt=2, max_new_tokens=4)


def _answer(n: int, text: str = "ok") -> bytes:
    choices = [
        {
            "index": i,
            "text": text,
            "finish_reason": "length",
            "token_ids": [5, 6],
            "logprobs": {"tokens": ["token_id:5", "token_id:6"], "token_logprobs": [-1.0, -0.5]},
        }
        for i in range(n)
    ]
    return json.dumps({"choices": choices}).encode()


class Server:
    """Plays `behave(handler, body)` for /v1/completions; /tokenize is absent (the prompt goes as text)."""

    def __init__(self) -> None:
        self.behave: Callable[[BaseHTTPRequestHandler, dict[str, Any]], None] = self.good
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(self.path)
                if self.path == "/tokenize":
                    return self.reply(404, b"{}")
                with contextlib.suppress(OSError):  # the client hung up: what a deadline does
                    server.behave(self, body)

            def reply(self, code: int, raw: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for key, value in {"Content-Length": str(len(raw)), **(headers or {})}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @staticmethod
    def good(handler: Any, body: dict[str, Any]) -> None:
        handler.reply(200, _answer(body["n"]))


@pytest.fixture
def server() -> Iterator[Server]:
    fake = Server()
    thread = threading.Thread(target=fake.httpd.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def _run(server: Server, eval_set_factory, *, api_key_env: str = "", count: int = 1) -> Any:
    spec = model_spec_register_served(
        name="srv", base_url=server.url, served_model="m", api_key_env=api_key_env
    )
    eval_set_factory(count=count)
    job = generation_job_create(model=spec, eval_set="demo", params=FAST, enqueue=False)
    return generation_job_run(job_id=job.pk)


def test_a_redirect_is_not_followed_and_fails_with_its_status(server, eval_set_factory):
    server.behave = lambda h, b: h.reply(302, b"", {"Location": "http://169.254.169.254/latest/meta-data"})
    job = _run(server, eval_set_factory)
    assert job.status == JobStatus.FAILED
    assert "HTTP 302" in job.error and "redirect, which is not followed" in job.error
    assert server.requests == ["/tokenize", "/v1/completions"]


def test_an_error_shows_its_status_and_a_fixed_message_never_the_body(server, eval_set_factory):
    server.behave = lambda h, b: h.reply(500, b"<h1>Internal admin</h1> db password: hunter2")
    job = _run(server, eval_set_factory)
    assert job.status == JobStatus.FAILED and "HTTP 500" in job.error
    assert "hunter2" not in job.error and "admin" not in job.error


def test_a_server_trickling_its_answer_is_stopped_at_the_whole_request_deadline(
    server, eval_set_factory, settings
):
    def trickle(handler: Any, body: dict[str, Any]) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        for _ in range(200):  # one byte every 0.2 s: every read succeeds, the whole never ends
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.2)

    server.behave = trickle
    settings.GENERATION_SERVED_TIMEOUT = 1
    started = time.monotonic()
    job = _run(server, eval_set_factory)
    assert time.monotonic() - started < 10
    assert job.status == JobStatus.FAILED and "no complete answer within 1 s" in job.error


def test_an_answer_larger_than_the_cap_is_not_read_to_its_end(server, eval_set_factory, settings):
    sent: list[int] = []

    def flood(handler: Any, body: dict[str, Any]) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(50 * 1024 * 1024))
        handler.end_headers()
        for _ in range(50 * 16):
            handler.wfile.write(b" " * 65536)
            sent.append(1)

    server.behave = flood
    settings.MAX_RESPONSE_CHARS = 1000
    job = _run(server, eval_set_factory)
    assert job.status == JobStatus.FAILED and "the answer is larger than" in job.error
    assert not Sample.objects.exists()


def test_an_answer_text_longer_than_max_response_chars_is_refused_and_nothing_stored(
    server, eval_set_factory, settings
):
    settings.MAX_RESPONSE_CHARS = 50
    server.behave = lambda h, b: h.reply(200, _answer(b["n"], text="x" * 51))
    job = _run(server, eval_set_factory)
    assert job.status == JobStatus.FAILED and "MAX_RESPONSE_CHARS" in job.error
    assert not Sample.objects.exists()


def test_an_answer_that_breaks_off_fails_cleanly_and_a_retry_resumes(server, eval_set_factory):
    answered: list[int] = []

    def broken_after_one(handler: Any, body: dict[str, Any]) -> None:
        if answered:  # the second prompt: ten bytes of a promised thousand, then the line drops
            handler.send_response(200)
            handler.send_header("Content-Length", "1000")
            handler.end_headers()
            handler.wfile.write(b'{"choices"')
            handler.wfile.flush()
            handler.close_connection = True
            return
        answered.append(1)
        handler.reply(200, _answer(body["n"]))

    server.behave = broken_after_one
    job = _run(server, eval_set_factory, count=3)
    assert job.status == JobStatus.FAILED
    assert (
        job.error
        == f"ServedModelError: {server.url}/completions: the server's answer broke off or was not valid HTTP"
    )
    assert Sample.objects.filter(job=job).count() == 2
    server.behave = Server.good
    generation_job_retry(job=job, enqueue=False)
    job = generation_job_run(job_id=job.pk)
    assert job.status == JobStatus.DONE and Sample.objects.filter(job=job).count() == 6


def test_a_name_that_resolves_elsewhere_at_run_time_is_refused_before_connecting(
    server, eval_set_factory, settings, monkeypatch
):
    port = server.httpd.server_address[1]
    answers = {"now": "93.184.216.34"}
    real = socket.getaddrinfo

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "models.example.org":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers["now"], port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr("generation.served_policy.socket.getaddrinfo", rebinding)
    settings.SERVED_ALLOWED_HOSTS = ["*.example.org"]
    spec = model_spec_register_served(
        name="r", base_url=f"http://models.example.org:{port}/v1", served_model="m"
    )
    answers["now"] = "127.0.0.1"  # where the test server is: internal, and not listed exactly
    eval_set_factory(count=1)
    job = generation_job_run(job_id=generation_job_create(model=spec, eval_set="demo", enqueue=False).pk)
    assert job.status == JobStatus.FAILED and "SERVED_ALLOWED_HOSTS does not allow" in job.error
    assert server.requests == []


def test_the_connected_peer_address_is_checked_too(server, eval_set_factory, monkeypatch):
    spec = model_spec_register_served(name="p", base_url=server.url, served_model="m")
    monkeypatch.setattr(socket.socket, "getpeername", lambda self: ("169.254.169.254", 80))
    eval_set_factory(count=1)
    job = generation_job_run(job_id=generation_job_create(model=spec, eval_set="demo", enqueue=False).pk)
    assert job.status == JobStatus.FAILED and "169.254.169.254" in job.error
    assert server.requests == []


def test_the_worker_refuses_a_host_the_operator_no_longer_allows(server, eval_set_factory, settings):
    spec = model_spec_register_served(name="gone", base_url=server.url, served_model="m")
    settings.SERVED_ALLOWED_HOSTS = []
    eval_set_factory(count=1)
    job = generation_job_run(job_id=generation_job_create(model=spec, eval_set="demo", enqueue=False).pk)
    assert job.status == JobStatus.FAILED and "SERVED_ALLOWED_HOSTS" in job.error
    assert server.requests == []


@pytest.mark.parametrize("present", [True, False])
def test_the_worker_never_sends_a_platform_variable_and_says_nothing_of_whether_it_exists(
    server, eval_set_factory, settings, monkeypatch, present
):
    # A row written around the service (an old registration, the admin): the worker checks again.
    settings.SERVED_API_KEY_VARS = ["*"]
    if present:
        monkeypatch.setenv("DATABASE_URL", "postgres://secret@db/x")
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    spec = ModelSpec.objects.create(
        name="leak",
        backend=ModelSpec.Backend.OPENAI,
        base_url=server.url,
        served_model="m",
        api_key_env="DATABASE_URL",
    )
    eval_set_factory(count=1)
    job = generation_job_run(job_id=generation_job_create(model=spec, eval_set="demo", enqueue=False).pk)
    assert job.status == JobStatus.FAILED
    assert "SERVED_API_KEY_VARS" in job.error and "not set" not in job.error and "secret" not in job.error
    assert server.requests == []
