"""The objects tests build, in one module every test package imports plainly.

Evaluation sets, systems with a finished generation job, campaigns opened through the services, a
rater's ratings, and synthetic rating records for the analysis tests. The pytest fixtures wrapping
them (``campaign_factory``, ``make_rater``) are in tests/conftest.py.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analysis.records import RatingRecord
from annotate.assignment import item_next, rating_submit
from annotate.models import Campaign, CampaignSystem, Comparison
from annotate.rater_tokens import comparison_token, item_ids, rater_token
from annotate.services import campaign_create, campaign_status_set
from core.models import JobStatus
from eval_sets.models import EvalSet, Prompt
from generation.models import GenerationJob, ModelSpec, Sample
from reports.ratings_file import ratings_read_path

PASSWORD = "correct-horse-battery"
PROMPT_SETTINGS = ("zero_shot", "zero_shot_cot", "few_shot")


def make_eval_set(
    name: str = "usability",
    n_prompts: int = 6,
    texts: Sequence[str] | None = None,
    *,
    categories: Sequence[str] = ("writing", "coding"),
    settings: Sequence[str] = PROMPT_SETTINGS,
    uid: Callable[[int], str] = lambda i: f"p{i:03d}",
    stop: Sequence[str] = (),
    version: int = 1,
) -> EvalSet:
    """A stored set of ``n_prompts`` prompts: categories and settings cycle, texts repeat if too few."""
    eval_set = EvalSet.objects.create(
        name=name, version=version, content_hash=f"hash-{name}-{version}", source_format="jsonl"
    )
    for i in range(n_prompts):
        if texts:
            text = texts[i % len(texts)] + (f" ({i})" if i >= len(texts) else "")
        else:
            text = f"Prompt number {i}: explain something."
        Prompt.objects.create(
            eval_set=eval_set,
            uid=uid(i),
            position=i,
            category=categories[i % len(categories)],
            setting=settings[i % len(settings)],
            text=text,
            stop=list(stop),
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
    """A registered system with a finished job on ``eval_set``: a selected sample per prompt, and an
    unselected sibling, so building must pick the selected one."""
    model, _ = ModelSpec.objects.get_or_create(name=name, defaults={"path": path or f"/models/{name}"})
    job = GenerationJob.objects.create(model=model, eval_set=eval_set, status=status, finished=timezone.now())
    for prompt in eval_set.prompts.all():
        if prompt.uid in skip_prompts:
            continue
        body = text(prompt) if text else f"Answer to {prompt.uid}, number {prompt.position}."
        Sample.objects.create(job=job, prompt=prompt, index=0, text="unselected " + body, finish_reason="eos")
        Sample.objects.create(
            job=job, prompt=prompt, index=1, text=body, finish_reason="eos", selected=True, kept=True
        )
    return model


def make_campaign(
    *,
    name: str = "camp",
    n_prompts: int = 6,
    systems: Sequence[str] = ("sys-alpha", "sys-beta"),
    raters: Sequence[User] = (),
    open_: bool = True,
    **kwargs: Any,
) -> Campaign:
    """A built campaign over a fresh set answered by ``systems``, opened through the service."""
    eval_set = make_eval_set(name=f"set-{name}", n_prompts=n_prompts)
    for system in systems:
        make_system(system, eval_set)
    campaign = campaign_create(name=name, eval_set=eval_set, systems=systems, raters=raters, **kwargs)
    if open_:
        campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    return campaign


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


# ---- synthetic rating records, for the analysis tests ----------------------------------------------
CATEGORIES = ("coding", "writing", "math")
SETTINGS = PROMPT_SETTINGS


def record(**overrides: object) -> RatingRecord:
    fields: dict[str, object] = {
        "campaign": "c1",
        "prompt_id": "p1",
        "category": "coding",
        "setting": "zero_shot",
        "system_a": "base",
        "system_b": "cand",
        "system_on_left": "a",
        "choice": "a",
        "rater": "r1",
        "seconds": 10.0,
        "created": "2025-01-01T00:00:00+00:00",
    }
    fields.update(overrides)
    return RatingRecord(**fields)  # type: ignore[arg-type]


def make_records(
    *,
    prompts: int = 30,
    systems: Sequence[str] = ("base", "cand"),
    raters: Sequence[str] = ("r1", "r2", "r3"),
    per_item: int = 1,
    weights: Sequence[float] = (3, 5, 1, 1),
    seed: int = 1,
    with_texts: bool = False,
) -> list[RatingRecord]:
    rng = random.Random(seed)
    out = []
    for p in range(prompts):
        category, setting = rng.choice(CATEGORIES), rng.choice(SETTINGS)
        for i, a in enumerate(systems):
            for b in systems[i + 1 :]:
                for rater in rng.sample(list(raters), per_item):
                    out.append(
                        record(
                            prompt_id=f"p{p}",
                            category=category,
                            setting=setting,
                            system_a=a,
                            system_b=b,
                            system_on_left=rng.choice("ab"),
                            choice=rng.choices(["a", "b", "tie", "both_bad"], weights)[0],
                            rater=rater,
                            seconds=round(rng.uniform(5, 60), 2),
                            prompt_text=f"prompt {p}" if with_texts else None,
                            text_a=f"answer of {a} to {p}" if with_texts else None,
                            text_b=f"answer of {b} to {p}" if with_texts else None,
                        )
                    )
    return out


# ---- rating through the services and the endpoints ------------------------------------------------
def rate_by(
    campaign: Campaign,
    rater,
    choose: Callable[[Comparison, int], str],
    *,
    seconds: float = 4.0,
    n: int = 100,
    rng=None,
    comment: Callable[[Comparison, int], str] | None = None,
) -> int:
    """Rate what the rater is served; ``choose`` sees the served comparison (gold or not) and its number."""
    # The server bounds the claimed seconds by the time since serving, so the clock moves with them.
    clock = timezone.now()
    for number in range(n):
        item = item_next(campaign=campaign, rater=rater, rng=rng, now=clock)
        if item is None:
            return number
        clock += timedelta(seconds=seconds)
        rating_submit(
            campaign=campaign,
            rater=rater,
            token=item.token,
            side=choose(item, number),
            seconds=seconds,
            now=clock,
            comment=comment(item, number) if comment else "",
        )
    return n


def prefer(comparison: Comparison, system: str) -> str:
    """The side showing `system` ("a" or "b"): what a rater who prefers it clicks."""
    return "left" if comparison.system_on_left == system else "right"


def post(client: Client, name: str, campaign: Campaign, body: dict | None = None) -> dict:
    response = client.post(
        reverse(f"annotate:{name}", args=[campaign.pk]),
        data=json.dumps(body or {}),
        content_type="application/json",
    )
    assert response.status_code in (200, 404, 409), response.content
    return response.json() if response.status_code != 404 else {"closed": True}


def served_item(client: Client, shown: str) -> Comparison:
    """The comparison behind a token the page showed the client's rater (annotate.rater_tokens)."""
    rater_id = int(client.session["_auth_user_id"])
    ids = item_ids(comparison_token(shown=shown, rater_id=rater_id))
    assert ids is not None, f"{shown!r} names no item"
    return Comparison.objects.select_related("prompt", "system_a", "system_b").get(
        pk=ids[0], campaign_id=ids[1]
    )


def shown_token(comparison: Comparison, rater: User) -> str:
    """The token the rating page shows this rater for the comparison."""
    return rater_token(token=comparison.token, rater_id=rater.pk)


def run_rater(client: Client, campaign: Campaign, choose, limit: int = 1000) -> int:
    """Rate through the endpoints until nothing is served or the campaign closes; returns ratings stored."""
    state = post(client, "api_next", campaign)
    made = 0
    while made < limit and state.get("item"):
        comparison = served_item(client, state["item"]["token"])
        body = {"token": state["item"]["token"], "side": choose(comparison), "seconds": 5, "next": True}
        state = post(client, "api_submit", campaign, body)
        if state.get("closed"):
            break  # the campaign settled while this item was held: the rating is refused, not stored
        made += 1
    return made


def make_bare_campaign(*, name: str, systems: list[str]) -> Campaign:
    """A campaign with its systems in order and nothing built: for what reads only names and order."""
    eval_set = EvalSet.objects.create(name=f"set-{name}", version=1, content_hash=name, source_format="jsonl")
    campaign = Campaign.objects.create(name=name, eval_set=eval_set)
    for position, system in enumerate(systems):
        model, _ = ModelSpec.objects.get_or_create(name=system, defaults={"path": f"/models/{system}"})
        CampaignSystem.objects.create(campaign=campaign, model=model, position=position)
    return campaign


# ---- real data of ../shared (tests that need it skip where it is absent) ---------------------------
PEER_RATINGS = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "peer-ratings"
    / "ae1_alpaca-7b_vs_text_davinci_003.jsonl"
)


def real_records() -> list[RatingRecord] | None:
    """A real annotation file of ../shared/peer-ratings (AlpacaEval 1), or None where it is absent."""
    return ratings_read_path(path=PEER_RATINGS) if PEER_RATINGS.exists() else None


def real_peer_votes() -> list[float] | None:
    """The real file's decisive votes for text_davinci_003, in file order (it is system A or B by line)."""
    records = real_records()
    if records is None:
        return None
    winners = [{"a": r.system_a, "b": r.system_b}[r.choice] for r in records if r.choice in ("a", "b")]
    return [1.0 if winner == "text_davinci_003" else 0.0 for winner in winners]
