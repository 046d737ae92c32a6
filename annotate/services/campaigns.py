"""Creating and building campaigns: systems, pairs, one comparison per (prompt, pair), balanced sides."""

from __future__ import annotations

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
    Campaign,
    CampaignSystem,
)
from annotate.sampling import sampling_check
from annotate.selectors import campaign_pairs as campaign_pairs  # where callers find it
from annotate.services.building import BuildProgress, build_rows
from annotate.services.building import balanced_sides as balanced_sides  # where callers find it
from annotate.services.raters import campaign_rater_add
from annotate.services.read_ahead import answers_readable_elsewhere
from annotate.settle_cells import settle_cells_assign
from core.events import campaign_built, event_send_on_commit
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
    progress: BuildProgress | None = None,
) -> Campaign:
    """Create a campaign in draft and (by default) build its comparisons; `open_now` opens it too.

    With a baseline the pairing is each system against it and the baseline is stored first, so
    that `system_names()[0]` is the baseline the reports default to. `sample` draws that many prompts
    (annotate.sampling; `sample_seed` drawn and recorded when not given) from the set, or from its
    `categories` when given. One transaction: when the
    build or the opening is refused, no campaign, system or rater row is left behind.
    """
    # Asked before this transaction writes the campaign: the build's answers may then be read ahead.
    read_ahead = build and answers_readable_elsewhere()
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
        campaign_build(
            campaign=campaign,
            seed=seed,
            answered_only=answered_only,
            progress=progress,
            read_ahead=read_ahead,
        )
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


@transaction.atomic
def campaign_build(
    *,
    campaign: Campaign,
    seed: int | None = None,
    answered_only: bool = False,
    progress: BuildProgress | None = None,
    read_ahead: bool = False,
) -> int:
    """Make one comparison per (prompt, pair) from each system's selected sample; returns how many.

    A prompt some system did not answer is an error, unless `answered_only`: then the campaign
    covers the prompts every system answered (after `generate --limit`, say). The rows are streamed
    and written in batches (annotate.services.building); `progress(done, total)` follows each batch.
    `read_ahead`: the answers may be read on another connection (annotate.services.read_ahead).
    """
    if campaign.comparisons.filter(gold_uploaded=False).exists():
        raise CampaignError(f"campaign {campaign.name!r} is already built")
    rng = secret_rng(seed=seed, purpose="campaign-sides")
    written = build_rows(
        campaign=campaign, rng=rng, answered_only=answered_only, progress=progress, read_ahead=read_ahead
    )
    settle_cells_assign(campaign=campaign)  # stop-when-settled campaigns: each comparison's cell
    campaign.built = timezone.now()
    campaign.save(update_fields=["built"])
    event_send_on_commit(campaign_built, sender=Campaign, campaign_id=campaign.pk)
    return written
