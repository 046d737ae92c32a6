"""Campaign fixtures built with the ORM: an evaluation set, systems with finished jobs and selected samples."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from annotate.assignment import item_next, rating_submit
from annotate.models import Campaign
from annotate.services import campaign_create
from core.models import JobStatus
from core.users import user_create
from eval_sets.models import EvalSet, Prompt
from generation.models import GenerationJob, ModelSpec, Sample

PASSWORD = "correct-horse-battery"


def make_eval_set(name: str = "usability", n_prompts: int = 6, texts: Sequence[str] | None = None) -> EvalSet:
    eval_set = EvalSet.objects.create(
        name=name, version=1, content_hash=f"hash-{name}", source_format="jsonl"
    )
    settings = ["zero_shot", "zero_shot_cot", "few_shot"]
    for i in range(n_prompts):
        Prompt.objects.create(
            eval_set=eval_set,
            uid=f"p{i:03d}",
            position=i,
            category=["writing", "coding"][i % 2],
            setting=settings[i % 3],
            text=texts[i] if texts else f"Prompt number {i}: explain something.",
        )
    return eval_set


def make_system(
    name: str,
    eval_set: EvalSet,
    *,
    path: str = "",
    text: Callable[[Prompt], str] | None = None,
    skip_prompts: Sequence[str] = (),
    status: str = JobStatus.DONE,
) -> ModelSpec:
    model, _ = ModelSpec.objects.get_or_create(name=name, defaults={"path": path or f"/models/{name}"})
    job = GenerationJob.objects.create(model=model, eval_set=eval_set, status=status, finished=timezone.now())
    for prompt in eval_set.prompts.all():
        if prompt.uid in skip_prompts:
            continue
        body = text(prompt) if text else f"Answer to {prompt.uid}, number {prompt.position}."
        # An unselected sibling too, so building must pick the selected one.
        Sample.objects.create(job=job, prompt=prompt, index=0, text="unselected " + body, finish_reason="eos")
        Sample.objects.create(
            job=job, prompt=prompt, index=1, text=body, finish_reason="eos", selected=True, kept=True
        )
    return model


@pytest.fixture
def make_rater(db) -> Callable[[str], User]:
    def make(username: str) -> User:
        return user_create(username=username, role="rater", password=PASSWORD)

    return make


@pytest.fixture
def campaign_factory(db) -> Callable[..., Campaign]:
    def make(
        *,
        name: str = "camp",
        n_prompts: int = 6,
        systems: Sequence[str] = ("sys-alpha", "sys-beta"),
        raters: Sequence[User] = (),
        open_: bool = True,
        **kwargs: Any,
    ) -> Campaign:
        eval_set = make_eval_set(name=f"set-{name}", n_prompts=n_prompts)
        for system in systems:
            make_system(system, eval_set)
        campaign = campaign_create(name=name, eval_set=eval_set, systems=systems, raters=raters, **kwargs)
        if open_:
            campaign.status = Campaign.Status.OPEN
            campaign.save()
        return campaign

    return make


class AlwaysGold(random.Random):
    """Serves a gold check whenever one is left."""

    def random(self) -> float:
        return 0.0


def rate(
    campaign: Campaign,
    rater: User,
    side: str | Callable[[int], str],
    n: int = 100,
    rng: random.Random | None = None,
) -> int:
    """Rate what the rater is served until nothing is left; `side` may depend on the item's number."""
    for number in range(n):
        item = item_next(campaign=campaign, rater=rater, rng=rng)
        if item is None:
            return number
        chosen = side(number) if callable(side) else side
        rating_submit(campaign=campaign, rater=rater, token=item.token, side=chosen, seconds=4.0)
    return n


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    # Real hashing costs most of a second per user on this machine; these tests are not about it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
