"""Campaign services: creating and building campaigns, raters, gold checks, quality control."""

from __future__ import annotations

import json
import random
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from annotate.models import (
    DEFAULT_INSTRUCTIONS,
    Campaign,
    CampaignSystem,
    Comparison,
    RaterExclusion,
    Rating,
)
from core.models import JobStatus
from core.roles import RATERS
from eval_sets.models import EvalSet, Prompt
from generation.models import GenerationJob, ModelSpec, Sample

ANSWERS = ("a", "b", "tie", "both_bad")


class CampaignError(ValueError):
    """A campaign cannot be made or changed as asked; the message is fit for a user."""


def _fraction(value: float, what: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise CampaignError(f"{what} must be between 0 and 1, not {value}")
    return float(value)


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
    instructions: str = "",
    title: str = "",
    raters: Iterable[User] = (),
    created_by: User | None = None,
    build: bool = True,
    seed: int | None = None,
    answered_only: bool = False,
) -> Campaign:
    """Create a campaign in draft and (by default) build its comparisons.

    With a baseline the pairing is each system against it and the baseline is stored first, so
    that `system_names()[0]` is the baseline the reports default to.
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
    if gold_fraction >= 1.0:
        raise CampaignError("the gold fraction must be below 1")
    models_by_name = {m.name: m for m in ModelSpec.objects.filter(name__in=names)}
    missing = [n for n in names if n not in models_by_name]
    if missing:
        raise CampaignError(f"no registered system named {', '.join(missing)}")
    if baseline:
        if baseline not in names:
            raise CampaignError(f"the baseline {baseline!r} is not one of the systems")
        names = [baseline, *[n for n in names if n != baseline]]
        pairing = pairing or Campaign.Pairing.VS_BASELINE
    pairing = pairing or Campaign.Pairing.ALL_PAIRS
    if pairing not in Campaign.Pairing.values:
        raise CampaignError(f"unknown pairing {pairing!r}")
    campaign = Campaign.objects.create(
        name=name,
        title=title,
        eval_set=eval_set,
        pairing=pairing,
        ratings_per_comparison=ratings_per_comparison,
        overlap=overlap,
        gold_fraction=gold_fraction,
        instructions=instructions.strip() or DEFAULT_INSTRUCTIONS,
        created_by=created_by,
    )
    CampaignSystem.objects.bulk_create(
        CampaignSystem(campaign=campaign, model=models_by_name[n], position=i) for i, n in enumerate(names)
    )
    for user in raters:
        campaign_rater_add(campaign=campaign, user=user)
    if build:
        campaign_build(campaign=campaign, seed=seed, answered_only=answered_only)
    return campaign


def campaign_pairs(*, campaign: Campaign) -> list[tuple[ModelSpec, ModelSpec]]:
    systems = [cs.model for cs in campaign.systems.select_related("model").order_by("position")]
    if campaign.pairing == Campaign.Pairing.VS_BASELINE:
        return [(systems[0], other) for other in systems[1:]]
    return [(systems[i], systems[j]) for i in range(len(systems)) for j in range(i + 1, len(systems))]


def selected_samples(*, model: ModelSpec, eval_set: EvalSet) -> dict[int, Sample]:
    """Prompt id -> the selected sample of the model's newest finished job on this set version."""
    job = (
        GenerationJob.objects.filter(model=model, eval_set=eval_set, status=JobStatus.DONE)
        .order_by("-created", "-pk")
        .first()
    )
    if job is None:
        raise CampaignError(f"system {model.name!r} has no finished generation job on {eval_set}")
    return {s.prompt_id: s for s in Sample.objects.filter(job=job, selected=True)}


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


@transaction.atomic
def campaign_build(*, campaign: Campaign, seed: int | None = None, answered_only: bool = False) -> int:
    """Make one comparison per (prompt, pair) from each system's selected sample; returns how many.

    A prompt some system did not answer is an error, unless `answered_only`: then the campaign
    covers the prompts every system answered (after `generate --limit`, say).
    """
    if campaign.comparisons.filter(gold_uploaded=False).exists():
        raise CampaignError(f"campaign {campaign.name!r} is already built")
    rng = random.Random(seed) if seed is not None else random.SystemRandom()
    prompts = list(Prompt.objects.filter(eval_set=campaign.eval_set).order_by("position"))
    if not prompts:
        raise CampaignError(f"evaluation set {campaign.eval_set} has no prompts")
    pairs = campaign_pairs(campaign=campaign)
    samples: dict[int, dict[int, Sample]] = {}
    for model in {m.pk: m for pair in pairs for m in pair}.values():
        by_prompt = selected_samples(model=model, eval_set=campaign.eval_set)
        if answered_only:
            prompts = [p for p in prompts if p.pk in by_prompt]
            if not prompts:
                raise CampaignError("no prompt was answered by every system")
        lacking = [p.uid for p in prompts if p.pk not in by_prompt]
        if lacking:
            shown = ", ".join(lacking[:10]) + (f" and {len(lacking) - 10} more" if len(lacking) > 10 else "")
            raise CampaignError(f"system {model.name!r} has no selected sample for prompt(s) {shown}")
        samples[model.pk] = by_prompt
    sides = balanced_sides(group_sizes=[len(prompts)] * len(pairs), rng=rng)
    k = campaign.ratings_per_comparison
    total = len(prompts) * len(pairs)
    n_overlap = round(campaign.overlap * total)
    overlap_slots = set(rng.sample(range(total), n_overlap))
    rows = []
    slot = 0
    for (system_a, system_b), pair_sides in zip(pairs, sides, strict=True):
        for prompt, left in zip(prompts, pair_sides, strict=True):
            sample_a = samples[system_a.pk][prompt.pk]
            sample_b = samples[system_b.pk][prompt.pk]
            rows.append(
                Comparison(
                    campaign=campaign,
                    prompt=prompt,
                    system_a=system_a,
                    system_b=system_b,
                    sample_a=sample_a,
                    sample_b=sample_b,
                    text_a=sample_a.text,
                    text_b=sample_b.text,
                    left=left,
                    needed=max(3, k) if slot in overlap_slots else k,
                    order_key=rng.randrange(2**31 - 1),
                )
            )
            slot += 1
    Comparison.objects.bulk_create(rows, batch_size=500)
    campaign.built = timezone.now()
    campaign.save(update_fields=["built"])
    return len(rows)


def campaign_status_set(*, campaign: Campaign, status: str) -> Campaign:
    if status not in Campaign.Status.values:
        raise CampaignError(f"unknown status {status!r}")
    if status == Campaign.Status.OPEN and not campaign.comparisons.exists():
        raise CampaignError("build the campaign before opening it")
    campaign.status = status
    campaign.save(update_fields=["status"])
    return campaign


def campaign_rater_add(*, campaign: Campaign, user: User) -> None:
    if not user.groups.filter(name=RATERS).exists():
        raise CampaignError(f"user {user.username!r} is not a rater")
    campaign.raters.add(user)


def campaign_rater_remove(*, campaign: Campaign, user: User) -> None:
    """Remove from the pool (no new items); ratings already given stay."""
    campaign.raters.remove(user)


def campaign_rater_exclude(*, campaign: Campaign, user: User, reason: str = "") -> None:
    """Leave the rater's ratings out of reports and out of the counts, and serve them nothing more."""
    RaterExclusion.objects.update_or_create(campaign=campaign, rater=user, defaults={"reason": reason})


def campaign_rater_include(*, campaign: Campaign, user: User) -> None:
    RaterExclusion.objects.filter(campaign=campaign, rater=user).delete()


def excluded_rater_ids(*, campaign: Campaign) -> list[int]:
    return list(RaterExclusion.objects.filter(campaign=campaign).values_list("rater_id", flat=True))


def comparison_gold_mark(*, comparison: Comparison, answer: str | None) -> Comparison:
    """Mark (or with None unmark) a comparison as a gold check with a known answer (a/b/tie/both_bad)."""
    if answer is not None and answer not in ANSWERS:
        raise CampaignError(f"a gold answer is one of {', '.join(ANSWERS)}, not {answer!r}")
    if answer is None and comparison.gold_uploaded:
        raise CampaignError("an uploaded gold pair cannot be unmarked; delete it instead")
    comparison.gold_answer = answer
    comparison.save(update_fields=["gold_answer"])
    return comparison


@transaction.atomic
def gold_upload(*, campaign: Campaign, lines: Iterable[str], seed: int | None = None) -> int:
    """Add gold pairs from JSONL: `{"prompt_id", "text_a", "text_b", "answer"}` per line.

    `answer` names a text (a/b) or is tie/both_bad; left/right is drawn at random as for any item.
    """
    rng = random.Random(seed) if seed is not None else random.SystemRandom()
    prompts = {p.uid: p for p in Prompt.objects.filter(eval_set=campaign.eval_set)}
    rows = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CampaignError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise CampaignError(f"line {number}: expected a JSON object")
        missing = [k for k in ("prompt_id", "text_a", "text_b", "answer") if k not in data]
        if missing:
            raise CampaignError(f"line {number}: missing {', '.join(missing)}")
        prompt = prompts.get(str(data["prompt_id"]))
        if prompt is None:
            raise CampaignError(f"line {number}: prompt {data['prompt_id']!r} is not in {campaign.eval_set}")
        if data["answer"] not in ANSWERS:
            raise CampaignError(f"line {number}: answer must be one of {', '.join(ANSWERS)}")
        rows.append(
            Comparison(
                campaign=campaign,
                prompt=prompt,
                text_a=str(data["text_a"]),
                text_b=str(data["text_b"]),
                left=rng.choice("ab"),
                needed=1,
                gold_answer=data["answer"],
                gold_uploaded=True,
                order_key=rng.randrange(2**31 - 1),
            )
        )
    if not rows:
        raise CampaignError("the gold file has no pairs")
    Comparison.objects.bulk_create(rows)
    return len(rows)


# --- progress and quality control -------------------------------------------------------------


@dataclass
class RaterStats:
    rater_id: int
    username: str
    count: int = 0
    median_seconds: float | None = None
    gold_total: int = 0
    gold_correct: int = 0
    agreement_items: int = 0
    agreement: float | None = None
    excluded: bool = False
    in_pool: bool = False
    last_rating: Any = None

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_total if self.gold_total else None


@dataclass
class CampaignProgress:
    comparisons: int
    needed: int
    done: int
    gold_items: int
    ratings_total: int
    ratings_last_hour: int
    ratings_per_hour: float | None
    median_seconds: float | None
    raters: list[RaterStats] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.needed if self.needed else 0.0


def rater_stats(*, campaign: Campaign) -> list[RaterStats]:
    """Per rater: count, median seconds, gold accuracy, and agreement with others on overlap items.

    Agreement is pairwise: for each item this rater shares with other (not excluded) raters, the share
    of those others who chose the same; averaged over the rater's shared items.
    """
    excluded = set(excluded_rater_ids(campaign=campaign))
    pool = set(campaign.raters.values_list("pk", flat=True))
    ratings = list(
        Rating.objects.filter(campaign=campaign).values(
            "rater_id",
            "rater__username",
            "comparison_id",
            "choice",
            "seconds",
            "created",
            "comparison__gold_answer",
            "comparison__needed",
        )
    )
    stats: dict[int, RaterStats] = {}
    seconds: dict[int, list[float]] = defaultdict(list)
    by_item: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for r in ratings:
        s = stats.setdefault(r["rater_id"], RaterStats(r["rater_id"], r["rater__username"]))
        s.count += 1
        seconds[r["rater_id"]].append(r["seconds"])
        s.last_rating = max(s.last_rating, r["created"]) if s.last_rating else r["created"]
        gold = r["comparison__gold_answer"]
        if gold is not None:
            s.gold_total += 1
            s.gold_correct += int(r["choice"] == gold)
        elif r["rater_id"] not in excluded:
            by_item[r["comparison_id"]].append((r["rater_id"], r["choice"]))
    shares: dict[int, list[float]] = defaultdict(list)
    for votes in by_item.values():
        if len(votes) < 2:
            continue
        for rater_id, choice in votes:
            others = [c for rid, c in votes if rid != rater_id]
            shares[rater_id].append(sum(c == choice for c in others) / len(others))
    for user in User.objects.filter(pk__in=pool - set(stats)):
        stats[user.pk] = RaterStats(user.pk, user.username)
    for rater_id, s in stats.items():
        if seconds[rater_id]:
            s.median_seconds = statistics.median(seconds[rater_id])
        if shares[rater_id]:
            s.agreement_items = len(shares[rater_id])
            s.agreement = sum(shares[rater_id]) / len(shares[rater_id])
        s.excluded = rater_id in excluded
        s.in_pool = rater_id in pool
    return sorted(stats.values(), key=lambda s: s.username)


def campaign_progress(*, campaign: Campaign) -> CampaignProgress:
    excluded = excluded_rater_ids(campaign=campaign)
    regular = campaign.comparisons.filter(gold_answer__isnull=True)
    counted = (
        regular.annotate(n=Count("ratings", filter=~Q(ratings__rater_id__in=excluded)))
        .values_list("n", "needed")
        .iterator()
    )
    needed = done = comparisons = 0
    for n, need in counted:
        comparisons += 1
        needed += need
        done += min(n, need)
    ratings = Rating.objects.filter(campaign=campaign).exclude(rater_id__in=excluded)
    total = ratings.count()
    now = timezone.now()
    last_hour = ratings.filter(created__gte=now - timedelta(hours=1)).count()
    per_hour = None
    if total >= 2:
        first = ratings.order_by("created").values_list("created", flat=True).first()
        last = ratings.order_by("-created").values_list("created", flat=True).first()
        if first and last and last > first:
            per_hour = total / ((last - first).total_seconds() / 3600)
    secs = list(ratings.values_list("seconds", flat=True))
    return CampaignProgress(
        comparisons=comparisons,
        needed=needed,
        done=done,
        gold_items=campaign.comparisons.filter(gold_answer__isnull=False).count(),
        ratings_total=total,
        ratings_last_hour=last_hour,
        ratings_per_hour=per_hour,
        median_seconds=statistics.median(secs) if secs else None,
        raters=rater_stats(campaign=campaign),
    )


@dataclass
class PairEstimate:
    baseline: str
    candidate: str
    n: int
    wins: int
    losses: int
    ties: int
    both_bad: int

    @property
    def preference_rate(self) -> float | None:
        decided = self.wins + self.losses
        return self.wins / decided if decided else None


def campaign_preference_estimate(*, campaign: Campaign) -> list[PairEstimate]:
    """Live counts per pair (candidate = system B against system A); for researchers only."""
    from annotate.ratings_export import campaign_rating_records

    blocks: dict[tuple[str, str], PairEstimate] = {}
    for rec in campaign_rating_records(campaign=campaign, exclude_gold=True):
        key = (rec.system_a, rec.system_b)
        block = blocks.setdefault(key, PairEstimate(rec.system_a, rec.system_b, 0, 0, 0, 0, 0))
        block.n += 1
        if rec.choice == "b":
            block.wins += 1
        elif rec.choice == "a":
            block.losses += 1
        elif rec.choice == "tie":
            block.ties += 1
        else:
            block.both_bad += 1
    return list(blocks.values())
