"""Adaptive serving under concurrency, through the real endpoints on PostgreSQL: no over-rating, no duplicates."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from annotate.models import Campaign, Comparison, Rating, SequentialCell
from annotate.services import campaign_create, campaign_status_set
from annotate.serving_check import serving_drift
from core.users import user_create
from tests.factories import make_eval_set, make_system


def _call(client: Client, name: str, campaign: Campaign, body: dict) -> tuple[int, dict]:
    response = client.post(
        reverse(f"annotate:{name}", args=[campaign.pk]),
        data=json.dumps(body),
        content_type="application/json",
    )
    return response.status_code, (response.json() if response.status_code in (200, 409) else {})


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
@pytest.mark.parametrize(
    ("systems", "n_prompts"),
    # Two systems: cells drawn by width; three: pairs drawn by Bradley-Terry uncertainty first.
    [(("seq-a", "seq-b"), 120), (("seq-a", "seq-b", "seq-c"), 40)],
    ids=["two-systems", "three-systems"],
)
def test_thirty_raters_adaptive_serving_through_endpoints(
    transactional_db, settle_eagerly, settings, systems: tuple[str, ...], n_prompts: int
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    raters = [user_create(username=f"seq-load-{i:02d}", role="rater") for i in range(30)]
    eval_set = make_eval_set(name="seq-load", n_prompts=n_prompts)
    for system in systems:
        make_system(system, eval_set)
    campaign = campaign_create(
        name="seq-load",
        eval_set=eval_set,
        systems=list(systems),
        ratings_per_comparison=2,
        raters=raters,
        stop_when_settled=True,
        seed=1,
    )
    campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    created: Counter[tuple[int, str]] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(len(raters))

    def work(index: int) -> None:
        rng = random.Random(index)
        client = Client()
        client.force_login(raters[index])
        try:
            start.wait()
            status, state = _call(client, "api_next", campaign, {})
            while status == 200 and state.get("item"):
                token = state["item"]["token"]
                # A no-preference stream (cells rarely close), every fifth item sent twice.
                body = {"token": token, "side": rng.choice(["left", "right"]), "seconds": 5}
                for _ in range(2 if rng.random() < 0.2 else 1):
                    status, answer = _call(client, "api_submit", campaign, body)
                    if status == 200 and answer.get("created"):
                        with lock:
                            created[(index, token)] += 1
                status, state = _call(client, "api_next", campaign, {})
        except Exception as exc:
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(raters))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    ratings = list(Rating.objects.filter(campaign=campaign).values_list("rater_id", "comparison_id"))
    assert len(set(ratings)) == len(ratings)  # nobody rated an item twice
    per_item = Counter(c for _, c in ratings)
    needed = dict(Comparison.objects.filter(campaign=campaign).values_list("pk", "needed"))
    assert all(per_item[pk] <= need for pk, need in needed.items())  # nothing over-rated
    assert sum(created.values()) == len(ratings) and all(n == 1 for n in created.values())
    # Settling kept up: the stored cells count every rating (at most one refresh ran at a time).
    assert sum(SequentialCell.objects.filter(campaign=campaign).values_list("ratings", flat=True)) == len(
        ratings
    )
    # Three systems: every cell carries its pair's Bradley-Terry uncertainty, what serving drew by.
    assert SequentialCell.objects.filter(campaign=campaign, pair_se__isnull=len(systems) > 2).count() == 0
    campaign.refresh_from_db()
    if campaign.status == Campaign.Status.OPEN:  # nothing settled: every open item got what it needs
        assert len(ratings) == sum(needed.values())
    # Serving's counters (issue 31) equal a recount of the rows.
    assert serving_drift(campaigns=[campaign]) == []
