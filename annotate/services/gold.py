"""Gold checks: comparisons marked with a known answer, and uploaded gold pairs."""

from __future__ import annotations

from django.db import transaction

from annotate.errors import CampaignError
from annotate.models import ORDER_PRIME, Campaign, Comparison
from annotate.page_version import campaign_page_touch
from annotate.pair_files import ANSWERS, PairFileError, pair_file_read
from annotate.services.comparisons import comparisons_create
from core.seeding import secret_rng
from eval_sets.models import Prompt


def comparison_gold_mark(*, comparison: Comparison, answer: str | None) -> Comparison:
    """Mark (or with None unmark) a comparison as a gold check with a known answer (a/b/tie/both_bad)."""
    if answer is not None and answer not in ANSWERS:
        raise CampaignError(f"a gold answer is one of {', '.join(ANSWERS)}, not {answer!r}")
    if answer is None and comparison.gold_uploaded:
        raise CampaignError("an uploaded gold pair cannot be unmarked; delete it instead")
    comparison.gold_answer = answer
    comparison.save(update_fields=["gold_answer"])
    # A gold answer changed in place moves no counter: say it to the campaign page's cache.
    transaction.on_commit(lambda: campaign_page_touch(campaign_id=comparison.campaign_id))
    return comparison


@transaction.atomic
def gold_upload(
    *, campaign: Campaign, data: bytes, filename: str = "gold file", seed: int | None = None
) -> int:
    """Add gold pairs from JSONL: `{"prompt_id", "text_a", "text_b", "answer"}` per line.

    `answer` names a text (a/b) or is tie/both_bad; left/right is drawn at random as for any item.
    A prompt the campaign serves as a regular item is refused (with its line), and a campaign built
    after the upload leaves the gold prompts out (annotate.sampling.campaign_pool): the two never meet.
    """
    try:
        pairs = pair_file_read(
            data=data, filename=filename, text_fields=("text_a", "text_b"), other_fields=("prompt_id",)
        )
    except PairFileError as exc:
        raise CampaignError(str(exc)) from None
    if campaign.status == Campaign.Status.BUILDING:
        # The build has not yet written every prompt it serves: one could yet meet a gold pair's.
        raise CampaignError("the campaign is still being built: upload gold pairs once its build is done")
    rng = secret_rng(seed=seed, purpose="gold-sides")
    prompts = {p.uid: p for p in Prompt.objects.filter(eval_set=campaign.eval_set)}
    served = set(
        campaign.comparisons.filter(gold_uploaded=False).values_list("prompt_id", flat=True).distinct()
    )
    rows: list[tuple[Comparison, str, str]] = []
    for where, pair in pairs:
        prompt = prompts.get(str(pair["prompt_id"]))
        if prompt is None:
            raise CampaignError(f"{where}: prompt {pair['prompt_id']!r} is not in {campaign.eval_set}")
        if prompt.pk in served:
            # A rater who met the prompt as a regular item would know the check when it came.
            raise CampaignError(
                f"{where}: prompt {prompt.uid!r} is one this campaign serves as a regular item; a gold pair "
                "needs a prompt the campaign does not rate (sample part of the set, and use the rest)"
            )
        if prompt.turns and campaign.rate == Campaign.Rate.CONVERSATION:
            # Its regular items show the earlier turns; a pair of two texts could show only the first
            # turn, and so would stand out as the check.
            raise CampaignError(
                f"{where}: prompt {prompt.uid!r} is a conversation this campaign rates after its last turn; "
                "a gold pair holds one turn, so it needs a single-turn prompt"
            )
        comparison = Comparison(
            campaign=campaign,
            prompt=prompt,
            system_on_left=rng.choice("ab"),
            needed=1,
            gold_answer=pair["answer"],
            gold_uploaded=True,
            order_key=rng.randrange(ORDER_PRIME),
        )
        rows.append((comparison, pair["text_a"], pair["text_b"]))
    comparisons_create(rows=rows)
    return len(rows)
