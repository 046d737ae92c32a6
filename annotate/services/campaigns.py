"""Creating and building campaigns: systems, pairs, one comparison per (prompt, pair), balanced sides."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from analysis.stats.planning import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT, DEFAULT_POWER, plan_problem
from annotate.campaign_status import campaign_status_set
from annotate.errors import CampaignError, CampaignFieldError
from annotate.models import (
    DEFAULT_INSTRUCTIONS,
    DEFAULT_MIN_SECONDS,
    ORDER_PRIME,
    Campaign,
    CampaignSystem,
    Comparison,
)
from annotate.sampling import campaign_pool, campaign_sample, sampling_check
from annotate.selectors import campaign_pairs
from annotate.services.comparisons import comparisons_create
from annotate.services.raters import campaign_rater_add
from core.seeding import secret_rng
from eval_sets.models import EvalSet, Prompt
from generation.answered import newest_done_job
from generation.models import ModelSpec, Sample


def _fraction(value: float, what: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise CampaignError(f"{what} must be between 0 and 1, not {value}")
    return float(value)


def campaign_settling_check(
    *,
    stop_when_settled: bool,
    precision: float | None,
    max_ratings: int | None = None,
    equivalence_margin: float | None = None,
    min_effect: float = DEFAULT_MIN_EFFECT,
    power: float = DEFAULT_POWER,
    alpha: float = DEFAULT_ALPHA,
) -> None:
    """The stopping options' and the plan's rules, shared by the command, the web forms, `campaign_create`
    and the edit; ``CampaignFieldError`` names the field."""
    if precision is not None and not 0.0 < precision < 1.0:
        raise CampaignFieldError(
            "precision", f"the precision (an interval width) must be between 0 and 1, not {precision}"
        )
    if max_ratings is not None and max_ratings < 1:
        raise CampaignFieldError("max_ratings", f"the cap on ratings must be at least 1, not {max_ratings}")
    if equivalence_margin is not None and not 0.0 < equivalence_margin < 0.5:
        raise CampaignFieldError(
            "equivalence_margin",
            f"the equivalence margin must be above 0 and below 0.5, not {equivalence_margin}",
        )
    for field, value, what in (
        ("precision", precision, "a precision"),
        ("max_ratings", max_ratings, "a cap on ratings"),
        ("equivalence_margin", equivalence_margin, "an equivalence margin"),
    ):
        if value is not None and not stop_when_settled:
            raise CampaignFieldError(field, f"{what} only applies to a campaign that stops when settled")
    problem = plan_problem(min_effect=min_effect, power=power, alpha=alpha)
    if problem is not None:
        raise CampaignFieldError(*problem)


@transaction.atomic
def campaign_create(
    *,
    name: str,
    eval_set: EvalSet,
    systems: Sequence[str],
    pairing: str | None = None,
    baseline: str | None = None,
    ratings_per_comparison: int = 1,
    overlap: float = 0.0,
    gold_fraction: float = 0.0,
    quota_per_rater: int | None = None,
    min_seconds: float = DEFAULT_MIN_SECONDS,
    instructions: str = "",
    title: str = "",
    raters: Iterable[User] = (),
    created_by: User | None = None,
    build: bool = True,
    seed: int | None = None,
    answered_only: bool = False,
    stop_when_settled: bool = False,
    precision: float | None = None,
    max_ratings: int | None = None,
    equivalence_margin: float | None = None,
    min_effect: float = DEFAULT_MIN_EFFECT,
    power: float = DEFAULT_POWER,
    alpha: float = DEFAULT_ALPHA,
    open_now: bool = False,
    sample: int | None = None,
    sample_seed: int | None = None,
    categories: Sequence[str] = (),
    rate: str = Campaign.Rate.PER_TURN,
) -> Campaign:
    """Create a campaign in draft and (by default) build its comparisons; `open_now` opens it too.

    With a baseline the pairing is each system against it and the baseline is stored first, so
    that `system_names()[0]` is the baseline the reports default to. `sample` draws that many prompts
    (annotate.sampling; `sample_seed` drawn and recorded when not given) from the set, or from its
    `categories` when given. One transaction: when the
    build or the opening is refused, no campaign, system or rater row is left behind.
    """
    name = name.strip()
    if not name:
        raise CampaignError("the campaign name is empty")
    if Campaign.objects.filter(name=name).exists():
        raise CampaignError(f"a campaign named {name!r} already exists")
    names = [s.strip() for s in systems if s.strip()]
    if len(names) < 2:
        raise CampaignError("a campaign needs at least two systems")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CampaignError(f"systems listed twice: {', '.join(duplicates)}")
    if ratings_per_comparison < 1:
        raise CampaignError("ratings per comparison must be at least 1")
    overlap = _fraction(overlap, "the overlap fraction")
    gold_fraction = _fraction(gold_fraction, "the gold fraction")
    campaign_settling_check(
        stop_when_settled=stop_when_settled,
        precision=precision,
        max_ratings=max_ratings,
        equivalence_margin=equivalence_margin,
        min_effect=min_effect,
        power=power,
        alpha=alpha,
    )
    if gold_fraction >= 1.0:
        raise CampaignError("the gold fraction must be below 1")
    if quota_per_rater is not None and quota_per_rater < 1:
        raise CampaignError(f"the quota per rater must be at least 1 (or none), not {quota_per_rater}")
    if not 0.0 <= min_seconds <= 600.0:
        raise CampaignError(f"the minimum reading time must be between 0 and 600 seconds, not {min_seconds}")
    models_by_name = {m.name: m for m in ModelSpec.objects.filter(name__in=names)}
    missing = [n for n in names if n not in models_by_name]
    if missing:
        raise CampaignError(f"no registered system named {', '.join(missing)}")
    if baseline:
        if baseline not in names:
            raise CampaignError(f"the baseline {baseline!r} is not one of the systems")
        names = [baseline, *[n for n in names if n != baseline]]
        pairing = pairing or Campaign.Pairing.VS_BASELINE
    if rate not in Campaign.Rate.values:
        raise CampaignError(f"unknown rating of conversations {rate!r}; expected per-turn or conversation")
    pairing = pairing or Campaign.Pairing.ALL_PAIRS
    if pairing not in Campaign.Pairing.values:
        raise CampaignError(f"unknown pairing {pairing!r}")
    sampling = sampling_check(eval_set=eval_set, sample=sample, seed=sample_seed, categories=categories)
    campaign = Campaign.objects.create(
        name=name,
        title=title,
        eval_set=eval_set,
        pairing=pairing,
        rate=rate,
        ratings_per_comparison=ratings_per_comparison,
        overlap=overlap,
        gold_fraction=gold_fraction,
        stop_when_settled=stop_when_settled,
        precision=precision,
        max_ratings=max_ratings,
        equivalence_margin=equivalence_margin,
        min_effect=min_effect,
        power=power,
        alpha=alpha,
        quota_per_rater=quota_per_rater,
        min_seconds=float(min_seconds),
        instructions=instructions.strip() or DEFAULT_INSTRUCTIONS,
        created_by=created_by,
        **sampling,
    )
    CampaignSystem.objects.bulk_create(
        CampaignSystem(campaign=campaign, model=models_by_name[n], position=i) for i, n in enumerate(names)
    )
    for user in raters:
        campaign_rater_add(campaign=campaign, user=user)
    if build:
        campaign_build(campaign=campaign, seed=seed, answered_only=answered_only)
    if open_now:
        campaign_status_set(campaign=campaign, status=Campaign.Status.OPEN)
    return campaign


def selected_samples(*, model: ModelSpec, eval_set: EvalSet) -> dict[int, dict[int, Sample]]:
    """Prompt id -> turn -> the selected sample of the model's newest finished job on this set version."""
    job = newest_done_job(model=model, eval_set=eval_set)
    if job is None:
        raise CampaignError(f"system {model.name!r} has no finished generation job on {eval_set}")
    out: dict[int, dict[int, Sample]] = {}
    for sample in Sample.objects.filter(job=job, selected=True):
        out.setdefault(sample.prompt_id, {})[sample.turn] = sample
    return out


def rated_turns(*, campaign: Campaign, prompt: Prompt) -> list[int]:
    """The turns of the prompt that get a comparison: every one, or only the last (a single-turn prompt: 1)."""
    if campaign.rate == Campaign.Rate.CONVERSATION:
        return [prompt.turn_count]
    return list(range(1, prompt.turn_count + 1))


def balanced_sides(*, group_sizes: Sequence[int], rng: random.Random) -> list[list[str]]:
    """Left sides per group: each group and the whole list have A on the left in half, plus or minus one.

    Odd groups take their extra A alternately, so the odd ones cancel out over the campaign.
    """
    out: list[list[str]] = []
    extra_a = rng.random() < 0.5
    for size in group_sizes:
        n_a = size // 2
        if size % 2:
            n_a += int(extra_a)
            extra_a = not extra_a
        sides = ["a"] * n_a + ["b"] * (size - n_a)
        rng.shuffle(sides)
        out.append(sides)
    return out


def _answered(by_prompt: dict[int, dict[int, Sample]], prompt: Prompt) -> bool:
    """Every turn of the prompt has a selected answer (a conversation answered halfway is not)."""
    turns = by_prompt.get(prompt.pk, {})
    return all(t in turns for t in range(1, prompt.turn_count + 1))


@transaction.atomic
def campaign_build(*, campaign: Campaign, seed: int | None = None, answered_only: bool = False) -> int:
    """Make one comparison per (prompt, pair) from each system's selected sample; returns how many.

    A prompt some system did not answer is an error, unless `answered_only`: then the campaign
    covers the prompts every system answered (after `generate --limit`, say).
    """
    if campaign.comparisons.filter(gold_uploaded=False).exists():
        raise CampaignError(f"campaign {campaign.name!r} is already built")
    rng = secret_rng(seed=seed, purpose="campaign-sides")
    prompts = campaign_pool(campaign=campaign)
    pairs = campaign_pairs(campaign=campaign)
    samples: dict[int, dict[int, dict[int, Sample]]] = {
        model.pk: selected_samples(model=model, eval_set=campaign.eval_set)
        for model in {m.pk: m for pair in pairs for m in pair}.values()
    }
    if answered_only:
        # Sampled from the answered prompts, so that a sample of N gives N prompts.
        prompts = [p for p in prompts if all(_answered(by_prompt, p) for by_prompt in samples.values())]
        if not prompts:
            raise CampaignError("no prompt was answered by every system")
    prompts = campaign_sample(campaign=campaign, prompts=prompts)
    for model in {m.pk: m for pair in pairs for m in pair}.values():
        by_prompt = samples[model.pk]
        lacking = [p.uid for p in prompts if not _answered(by_prompt, p)]
        if lacking:
            shown = ", ".join(lacking[:10]) + (f" and {len(lacking) - 10} more" if len(lacking) > 10 else "")
            raise CampaignError(f"system {model.name!r} has no selected sample for prompt(s) {shown}")
    # One item per rated turn; a system keeps its side for every turn of the same conversation.
    items = [(prompt, turn) for prompt in prompts for turn in rated_turns(campaign=campaign, prompt=prompt)]
    sides = balanced_sides(group_sizes=[len(prompts)] * len(pairs), rng=rng)
    k = campaign.ratings_per_comparison
    total = len(items) * len(pairs)
    n_overlap = round(campaign.overlap * total)
    overlap_slots = set(rng.sample(range(total), n_overlap))
    rows: list[tuple[Comparison, str, str]] = []
    histories: list[tuple[list[str], list[str]]] = []
    slot = 0
    for (system_a, system_b), pair_sides in zip(pairs, sides, strict=True):
        left_of = {prompt.pk: left for prompt, left in zip(prompts, pair_sides, strict=True)}
        for prompt, turn in items:
            by_turn_a = samples[system_a.pk][prompt.pk]
            by_turn_b = samples[system_b.pk][prompt.pk]
            sample_a, sample_b = by_turn_a[turn], by_turn_b[turn]
            comparison = Comparison(
                campaign=campaign,
                prompt=prompt,
                turn=turn,
                system_a=system_a,
                system_b=system_b,
                sample_a=sample_a,
                sample_b=sample_b,
                system_on_left=left_of[prompt.pk],
                needed=max(3, k) if slot in overlap_slots else k,
                order_key=rng.randrange(ORDER_PRIME),
            )
            rows.append((comparison, sample_a.text, sample_b.text))
            histories.append(
                ([by_turn_a[t].text for t in range(1, turn)], [by_turn_b[t].text for t in range(1, turn)])
            )
            slot += 1
    comparisons_create(rows=rows, histories=histories)
    campaign.built = timezone.now()
    campaign.save(update_fields=["built"])
    return len(rows)
