"""Choosing the judge run a report uses, and active labelling: humans sent where that judge is least sure.

Active labelling (Zrnic & Candes, ICML 2024) draws each comparison for a human rating with a
probability that grows with the judge's doubt (analysis.stats.active_ppi: never below a fifth of the
uniform share), stores the probability on the comparison, and marks the drawn ones so serving offers
them first (annotate.picking orders by ``label_rank``). The report weights each rating by its
inverse inclusion probability, so the interval stays valid whatever the judge. It must start before
the first rating: ratings made under uniform serving have no such probability.
"""

from __future__ import annotations

import secrets

import numpy as np
from django.db import transaction

from analysis.stats.active_ppi import active_probabilities, verdict_uncertainty
from annotate.models import Campaign, Comparison, Rating
from core.models import JobStatus
from judging.errors import JudgingError
from judging.models import JudgeChoice, JudgeRun, Verdict
from judging.selectors import judgeable_comparisons


def campaign_judge_choose(*, campaign: Campaign, run: JudgeRun | None) -> JudgeChoice | None:
    """Make ``run`` the one the campaign's report uses (None: back to the newest finished run)."""
    if run is None:
        JudgeChoice.objects.filter(campaign=campaign).delete()
        return None
    if run.campaign_id != campaign.pk:
        raise JudgingError(f"judge run {run.pk} belongs to another campaign")
    if run.status != JobStatus.DONE:
        raise JudgingError(f"judge run {run.pk} is {run.status}: only a finished run can feed the report")
    choice, _ = JudgeChoice.objects.update_or_create(campaign=campaign, defaults={"run": run})
    return choice


def campaign_active_labelling_start(*, campaign: Campaign, run: JudgeRun, budget: int) -> int:
    """Draw the comparisons humans rate first, with probabilities from ``run``'s doubt; returns how many.

    ``budget`` is the expected number of comparisons drawn. Refused (nothing written) once a rating
    exists, under stop-when-settled serving (it chooses by the ratings), or where the run misses a
    comparison. The run becomes the report's judge.
    """
    comparisons = judgeable_comparisons(campaign=campaign).filter(gold_answer__isnull=True)
    total = comparisons.count()
    if campaign.stop_when_settled:
        raise JudgingError("active labelling cannot be combined with stop-when-settled serving")
    if Rating.objects.filter(campaign=campaign).exists():
        raise JudgingError("active labelling must start before the first rating")
    if not 2 <= budget <= total:
        raise JudgingError(f"the number of human-rated comparisons must be between 2 and {total}")
    verdicts = dict(
        Verdict.objects.filter(run=run, comparison__in=comparisons).values_list("comparison_id", "pk")
    )
    if len(verdicts) < total:
        raise JudgingError(
            f"judge run {run.pk} covers {len(verdicts)} of {total} comparisons; it must cover all"
        )
    rows = list(Verdict.objects.filter(run=run, comparison__in=comparisons).order_by("comparison_id"))
    doubt = verdict_uncertainty([v.p_b for v in rows], [v.p_tie for v in rows], [v.p_a for v in rows])
    prob = active_probabilities(doubt, budget=budget)
    rng = np.random.default_rng(secrets.randbits(64))  # unpredictable: raters cannot know what was drawn
    drawn = rng.random(prob.size) < prob
    with transaction.atomic():
        campaign_judge_choose(campaign=campaign, run=run)
        updates = [
            Comparison(pk=v.comparison_id, label_probability=float(p), label_rank=0 if d else 1)
            for v, p, d in zip(rows, prob, drawn, strict=True)
        ]
        Comparison.objects.bulk_update(updates, ["label_probability", "label_rank"], batch_size=500)
    return int(drawn.sum())
