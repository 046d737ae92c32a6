"""Webhooks: only http(s) to allowed hosts, signed deliveries received on loopback, retries then failure."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from annotate.models import Rating
from api.models import DeliveryStatus, WebhookDelivery
from api.webhooks import WebhookError, webhook_create
from core.chunked_run import chunked_job_run
from generation.services import generation_job_create
from tests.factories import make_campaign, make_eval_set, rate


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers with the next code of `codes`."""

    def __init__(self, codes: list[int]) -> None:
        self.codes = list(codes)
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                code = receiver.codes.pop(0) if receiver.codes else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver_factory(settings) -> Iterator:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_RETRY_BASE_SECONDS = 1
    made: list[Receiver] = []

    def make(codes: list[int] | None = None) -> Receiver:
        made.append(Receiver(codes or []))
        return made[-1]

    yield make
    for receiver in made:
        receiver.server.shutdown()


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/hook", "file:///etc/passwd", "javascript:alert(1)", "127.0.0.1/x"]
)
def test_a_webhook_url_that_is_not_http_is_refused(researcher, settings, url) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with pytest.raises(WebhookError, match="http"):
        webhook_create(user=researcher, url=url, events=["campaign.complete"])


def test_webhooks_are_disabled_until_the_operator_lists_hosts(researcher) -> None:
    with pytest.raises(WebhookError, match="WEBHOOK_ALLOWED_HOSTS"):
        webhook_create(user=researcher, url="https://example.org/hook", events=["campaign.complete"])


def test_an_internal_address_not_listed_is_refused(researcher, settings) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["*.example.org"]
    for url in ("http://127.0.0.1:8000/hook", "http://169.254.169.254/latest", "http://10.0.0.5/hook"):
        with pytest.raises(WebhookError, match="internal address"):
            webhook_create(user=researcher, url=url, events=["campaign.complete"])


def test_the_api_refuses_a_bad_url_naming_the_field(api_client, settings) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    body = {"url": "ftp://127.0.0.1/x", "events": ["job.finished"]}
    response = api_client.post("/api/v1/webhooks", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["field"] == "url"


@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_received_and_its_signature_verifies(
    api_client, researcher, rater, receiver_factory, settle_eagerly
) -> None:
    receiver = receiver_factory()
    body = {"url": receiver.url, "events": ["campaign.complete"]}
    created = api_client.post("/api/v1/webhooks", body, content_type="application/json").json()
    campaign = make_campaign(name="hooked", n_prompts=3, raters=[rater])
    rate(campaign, rater, "left")

    assert len(receiver.received) == 1
    headers, raw = receiver.received[0]
    # The documented recipe (api/webhooks.py).
    expected = "sha256=" + hmac.new(created["secret"].encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, headers["X-Signature-256"])
    payload = json.loads(raw)
    assert payload["event"] == "campaign.complete" and payload["data"]["campaign"] == "hooked"
    log = api_client.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()["items"]
    assert log[0]["status"] == "delivered" and log[0]["response_code"] == 200 and log[0]["attempts"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_receiver_failing_three_times_is_retried_then_marked_failed_and_ratings_go_on(
    researcher, rater, receiver_factory, settle_eagerly, settings, researcher_client
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver = receiver_factory([500, 500, 500])
    hook = webhook_create(user=researcher, url=receiver.url, events=["campaign.complete"])
    campaign = make_campaign(name="flaky", n_prompts=3, raters=[rater])
    assert rate(campaign, rater, "right") == 3
    assert Rating.objects.filter(campaign=campaign).count() == 3

    delivery = WebhookDelivery.objects.get(hook=hook)
    assert len(receiver.received) == 3
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.FAILED, 3, 500)
    page = researcher_client.get(f"/account/api/webhooks/{hook.pk}/").content.decode()
    assert "Failed" in page and "500" in page


@pytest.mark.django_db(transaction=True)
def test_a_failed_generation_job_is_announced(researcher, receiver_factory, settle_eagerly, tmp_path) -> None:
    receiver = receiver_factory()
    webhook_create(user=researcher, url=receiver.url, events=["job.failed", "job.finished"])
    eval_set = make_eval_set(name="s", n_prompts=2)
    from generation.models import ModelSpec

    ModelSpec.objects.create(name="m", path=str(tmp_path))
    job = generation_job_create(model="m", eval_set=eval_set, enqueue=False)

    def broken_start():
        raise RuntimeError("the model would not load")

    chunked_job_run(job=job, start=broken_start)
    payload = json.loads(receiver.received[0][1])
    assert payload["event"] == "job.failed"
    assert payload["data"]["kind"] == "generation" and "would not load" in payload["data"]["error"]


@pytest.mark.django_db
def test_a_rating_reads_the_hooks_once_after_commit_and_queues_nothing_when_none_wants_it(
    researcher, rater, django_capture_on_commit_callbacks
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from api.models import Webhook

    Webhook.objects.create(
        user=researcher, url="https://hooks.example.org/x", events=["job.ended"], secret="s"
    )
    campaign = make_campaign(name="quiet", n_prompts=2, raters=[rater])
    with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=True):
        rate(campaign, rater, "left", n=1)
    hook_reads = [q["sql"] for q in captured.captured_queries if "api_webhook" in q["sql"]]
    assert len(hook_reads) == 1, hook_reads
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_the_hooks_are_read_once_for_many_ratings_and_again_when_one_changes_or_after_a_moment(
    researcher,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from api import webhooks
    from api.models import Webhook

    def reads(call):
        with CaptureQueriesContext(connection) as captured:
            got = call()
        return got, len([q for q in captured.captured_queries if "api_webhook" in q["sql"]])

    assert reads(lambda: webhooks.hooks_want("campaign.complete")) == (False, 1)
    assert reads(lambda: webhooks.hooks_want("campaign.complete")) == (False, 0)
    hook = Webhook.objects.create(
        user=researcher, url="https://hooks.example.org/x", events=["campaign.complete"], secret="s"
    )
    assert reads(lambda: webhooks.hooks_want("rater.flagged", "campaign.complete")) == (True, 1)
    assert reads(lambda: webhooks.hooks_want("rater.flagged")) == (False, 0)
    hook.delete()
    assert reads(lambda: webhooks.hooks_want("campaign.complete")) == (False, 1)
    # A hook another process adds (no signal here) is seen once the moment has passed.
    Webhook.objects.bulk_create(
        [Webhook(user=researcher, url="https://hooks.example.org/y", events=["rater.flagged"], secret="s")]
    )
    assert reads(lambda: webhooks.hooks_want("rater.flagged")) == (False, 0)
    assert webhooks._wanted is not None
    read_at, events = webhooks._wanted
    webhooks._wanted = (read_at - webhooks.HOOKS_FRESH_SECONDS - 0.1, events)
    assert reads(lambda: webhooks.hooks_want("rater.flagged")) == (True, 1)
