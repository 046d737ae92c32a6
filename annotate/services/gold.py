"""Gold checks: comparisons marked with a known answer, and uploaded gold pairs."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import transaction

from annotate.models import Campaign, Comparison
from annotate.services.comparisons import comparisons_create
from annotate.services.errors import CampaignError
from core.seeding import secret_rng
from eval_sets.models import Prompt

ANSWERS = ("a", "b", "tie", "both_bad")


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
    rng = secret_rng(seed=seed, purpose="gold-sides")
    prompts = {p.uid: p for p in Prompt.objects.filter(eval_set=campaign.eval_set)}
    rows: list[tuple[Comparison, str, str]] = []
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
        comparison = Comparison(
            campaign=campaign,
            prompt=prompt,
            left=rng.choice("ab"),
            needed=1,
            gold_answer=data["answer"],
            gold_uploaded=True,
            order_key=rng.randrange(2**31 - 1),
        )
        rows.append((comparison, str(data["text_a"]), str(data["text_b"])))
    if not rows:
        raise CampaignError("the gold file has no pairs")
    comparisons_create(rows=rows)
    return len(rows)
