"""Which prompts of its set a campaign rates: the categories it keeps and the sample it draws.

The rule itself is pure (analysis.prompt_sample: stratified by category and setting, a CoT variant
travels with its base, largest remainders, at least one per stratum when N allows); this module checks
the options, records them on the campaign, and applies them when the campaign is built. The chosen
prompts are not stored apart: they are the prompts of the campaign's comparisons.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from analysis.prompt_sample import PromptKey, SampleError, prompt_units, stratified_sample
from annotate.errors import CampaignError
from annotate.models import Campaign, Comparison
from eval_sets.models import EvalSet, Prompt

# Seeds drawn for a sample without one stay below 2**31, short enough to type back in.
SEED_LIMIT = 2**31


def sampling_check(
    *, eval_set: EvalSet, sample: int | None, seed: int | None, categories: Sequence[str]
) -> dict[str, Any]:
    """The campaign fields for these options, or `CampaignError` naming what is wrong."""
    wanted = list(dict.fromkeys(c.strip() for c in categories if c.strip()))
    if wanted:
        known = set(Prompt.objects.filter(eval_set=eval_set).values_list("category", flat=True))
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise CampaignError(
                f"no prompt of {eval_set} is in the category {', '.join(unknown)} "
                f"(its categories: {', '.join(sorted(known))})"
            )
    if sample is None:
        if seed is not None:
            raise CampaignError("a sample seed only applies with a sample size")
        return {"sample_size": None, "sample_seed": None, "sample_categories": wanted}
    pool = Prompt.objects.filter(eval_set=eval_set)
    if wanted:
        pool = pool.filter(category__in=wanted)
    units = sum(len(u) for u in prompt_units(_keys(pool)).values())
    if not 0 < sample <= units:
        raise CampaignError(
            f"the sample size must be between 1 and {units} (the prompts to draw from), not {sample}"
        )
    if seed is None:
        seed = secrets.randbelow(SEED_LIMIT)
    return {"sample_size": sample, "sample_seed": seed, "sample_categories": wanted}


def campaign_pool(*, campaign: Campaign) -> list[Prompt]:
    """The prompts the campaign may rate, in set order: its categories, less the uploaded gold pairs' prompts.

    Gold prompts are kept out so that no rater meets a check's prompt as a regular item as well.
    """
    prompts = Prompt.objects.filter(eval_set=campaign.eval_set).order_by("position")
    if campaign.sample_categories:
        prompts = prompts.filter(category__in=campaign.sample_categories)
    gold = Comparison.objects.filter(campaign=campaign, gold_uploaded=True).values("prompt_id")
    pool = list(prompts.exclude(pk__in=gold))
    if not pool:
        raise CampaignError(f"evaluation set {campaign.eval_set} has no prompts to rate in this campaign")
    return pool


def campaign_sample(*, campaign: Campaign, prompts: Sequence[Prompt]) -> list[Prompt]:
    """The campaign's sample of `prompts` (all of them when it samples none)."""
    chosen = campaign_sample_uids(campaign=campaign, keys=_keys(prompts))
    return list(prompts) if chosen is None else [p for p in prompts if p.uid in chosen]


def campaign_sample_uids(*, campaign: Campaign, keys: Sequence[PromptKey]) -> set[str] | None:
    """The uids of the campaign's sample of the prompts `keys` describe; None when it samples none.

    The bulk build (annotate.services.building) gives the keys alone, not the prompts.
    """
    if campaign.sample_size is None:
        return None
    try:
        return set(stratified_sample(list(keys), n=campaign.sample_size, seed=campaign.sample_seed or 0))
    except SampleError as exc:
        raise CampaignError(f"{exc} (after leaving out what cannot be rated)") from None


def _keys(prompts: Any) -> list[PromptKey]:
    return [PromptKey(p.uid, p.category, p.setting, p.variant_of or None) for p in prompts]


def campaign_sampling_text(*, campaign: Campaign) -> str:
    """One line for the campaign page: which part of its set it rates."""
    parts = []
    if campaign.sample_categories:
        parts.append(f"categories {', '.join(campaign.sample_categories)}")
    if campaign.sample_size is not None:
        parts.append(
            f"a sample of {campaign.sample_size} (seed {campaign.sample_seed}, "
            "stratified by category and setting; variants drawn with their base prompt)"
        )
    return "; ".join(parts) if parts else "every prompt of the set"


def campaign_setup_view(*, campaign: Campaign) -> dict[str, Any]:
    """What the campaign page's setup card shows: the part of the set it rates and its change log."""
    return {
        "sampling": campaign_sampling_text(campaign=campaign),
        "changes": list(campaign.changes.select_related("changed_by")[:50]),  # type: ignore[attr-defined]
    }
