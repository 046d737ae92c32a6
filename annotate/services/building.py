"""Building a campaign's comparisons in bulk: prompts and answers streamed, rows written in batches.

Nothing holds the whole set as objects. The campaign's prompts are read once into compact arrays
(ids and turn counts, in set order); each system's answers are checked in one streamed pass over
its selected samples; then each pair's answers come from one streamed query ordered as the
campaign lists its items, and `ComparisonBatches` writes the rows a batch at a time. A million
comparisons take memory for a batch and a few bytes per prompt.

The draws are the old build's, in its order: the sides of every pair (`balanced_sides`), then the
overlap slots, then one order key per row in pair-major, prompt, turn order. So a seed gives the
same campaign as before (tests/annotate/test_bulk_build.py keeps the old build as the reference).
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection

from analysis.prompt_sample import PromptKey
from annotate.errors import CampaignError
from annotate.models import ORDER_PRIME, Campaign, Comparison
from annotate.sampling import campaign_sample_uids
from annotate.selectors import campaign_pairs
from annotate.services.comparison_batches import BuiltRow, ComparisonBatches
from annotate.services.read_ahead import read_ahead_pages
from eval_sets.models import Prompt
from generation.answered import newest_done_jobs
from generation.models import ModelSpec, Sample

_FETCH = 2000
# Called after each written batch with (comparisons written, comparisons in all).
BuildProgress = Callable[[int, int], None]
BatchHook = Callable[[int, int], None]


@dataclass
class _Pool:
    """The prompts the campaign may rate, in set order: ids, turn counts, where each id sits."""

    ids: array
    turns: array
    index: dict[int, int]
    keys: list[PromptKey] | None  # for drawing a sample; None when the campaign draws none


def _pool(campaign: Campaign) -> _Pool:
    """Like annotate.sampling.campaign_pool, read into arrays instead of Prompt objects."""
    prompts = Prompt.objects.filter(eval_set=campaign.eval_set)
    if campaign.sample_categories:
        prompts = prompts.filter(category__in=campaign.sample_categories)
    gold = Comparison.objects.filter(campaign=campaign, gold_uploaded=True).values("prompt_id")
    sampling = campaign.sample_size is not None
    fields = ("pk", "turns", *(("uid", "category", "setting", "variant_of") if sampling else ()))
    pool = _Pool(array("q"), array("H"), {}, [] if sampling else None)
    rows = prompts.exclude(pk__in=gold).order_by("position", "pk").values_list(*fields)
    for row in rows.iterator(chunk_size=_FETCH):
        pool.index[row[0]] = len(pool.ids)
        pool.ids.append(row[0])
        pool.turns.append(len(row[1]) if row[1] else 1)
        if pool.keys is not None:
            pool.keys.append(PromptKey(row[2], row[3], row[4], row[5] or None))
    if not pool.ids:
        raise CampaignError(f"evaluation set {campaign.eval_set} has no prompts to rate in this campaign")
    return pool


def _answered(*, job_id: int, pool: _Pool) -> bytearray:
    """One flag per pool prompt: the job has a selected answer for every one of its turns."""
    masks = [0] * len(pool.ids)
    answers = Sample.objects.filter(job_id=job_id, selected=True).values_list("prompt_id", "turn")
    for prompt_id, turn in answers.iterator(chunk_size=10 * _FETCH):
        i = pool.index.get(prompt_id)
        if i is not None and 1 <= turn <= pool.turns[i]:
            masks[i] |= 1 << turn
    return bytearray(mask == (1 << (pool.turns[i] + 1)) - 2 for i, mask in enumerate(masks))


def _answer_pages(*, job_a: int, job_b: int, prompt_ids: list[int]) -> Iterator[tuple[list[int], dict]]:
    """(page of prompt ids, prompt id -> turn -> (sample a, text a, sample b, text b)), `_FETCH` at a time.

    One query per page, each its own statement: the build commits batch by batch, which would close
    a server-side cursor held across it.
    """
    sample = Sample._meta.db_table
    postgres = connection.vendor == "postgresql"
    for start in range(0, len(prompt_ids), _FETCH):
        page = prompt_ids[start : start + _FETCH]
        params: list[Any]
        if postgres:
            # One array parameter: PostgreSQL parses and plans 2,000 separate ones on every page.
            in_page, params = "= ANY(%s)", [page]
        else:
            in_page, params = f"IN ({', '.join(['%s'] * len(page))})", list(page)
        sql = (
            f"SELECT sa.prompt_id, sa.turn, sa.id, sa.text, sb.id, sb.text FROM {sample} sa"
            f" JOIN {sample} sb ON sb.prompt_id = sa.prompt_id AND sb.job_id = %s AND sb.selected = %s"
            f" AND sb.turn = sa.turn WHERE sa.job_id = %s AND sa.selected = %s"
            f" AND sa.prompt_id {in_page}"
            ' ORDER BY sa.prompt_id, sa.turn, sa."index", sb."index"'
        )
        by_prompt: dict[int, dict[int, tuple]] = {}
        with connection.cursor() as cursor:
            cursor.execute(sql, [job_b, True, job_a, True, *params])
            for prompt_id, turn, id_a, text_a, id_b, text_b in cursor.fetchall():
                # Two selected answers to one turn: the last (highest index) wins, as it did.
                by_prompt.setdefault(prompt_id, {})[turn] = (id_a, text_a, id_b, text_b)
        yield page, by_prompt


def _pair_answers(
    *, job_a: int, job_b: int, prompt_ids: list[int], read_ahead: bool
) -> Iterator[tuple[int, dict[int, tuple]]]:
    """(prompt id, turn -> (sample a, text a, sample b, text b)) for each of `prompt_ids`, in that order.

    With `read_ahead`, the pages are read on a connection of the reading thread's own while this one
    writes (annotate.services.read_ahead). A prompt missing from the answers means they changed since
    the build checked them.
    """
    pages = _answer_pages(job_a=job_a, job_b=job_b, prompt_ids=prompt_ids)
    for page, by_prompt in read_ahead_pages(pages) if read_ahead else pages:
        for prompt_id in page:
            if prompt_id not in by_prompt:
                raise CampaignError("the set's answers changed while the campaign was being built")
            yield prompt_id, by_prompt.pop(prompt_id)


def _jobs(campaign: Campaign, models: list[ModelSpec]) -> dict[int, int]:
    newest = newest_done_jobs(eval_set=campaign.eval_set, models=models)
    for model in models:
        if (model.pk, campaign.eval_set_id) not in newest:
            raise CampaignError(
                f"system {model.name!r} has no finished generation job on {campaign.eval_set}"
            )
    return {model.pk: newest[(model.pk, campaign.eval_set_id)] for model in models}


def _lacking_message(model: ModelSpec, lacking: list[int]) -> str:
    uids = dict(Prompt.objects.filter(pk__in=lacking[:10]).values_list("pk", "uid"))
    shown = ", ".join(uids[pk] for pk in lacking[:10])
    if len(lacking) > 10:
        shown += f" and {len(lacking) - 10} more"
    return f"system {model.name!r} has no selected sample for prompt(s) {shown}"


def build_rows(
    *,
    campaign: Campaign,
    rng: random.Random,
    answered_only: bool,
    progress: BuildProgress | None = None,
    batch_size: int | None = None,
    skip: int = 0,
    on_batch: BatchHook | None = None,
    read_ahead: bool = False,
) -> int:
    """Write one comparison per (prompt, rated turn, pair); returns how many there are in all.

    `skip`: how many rows, in build order, a build of the same seed already wrote (they are drawn
    again, not written). `on_batch(done, total)` runs inside each batch's transaction, before it
    commits; `progress(done, total)` after it. `read_ahead`: the answers may be read on another
    connection (`answers_readable_elsewhere` said so before the caller wrote anything).
    """
    pairs = campaign_pairs(campaign=campaign)
    models = list({m.pk: m for pair in pairs for m in pair}.values())
    jobs = _jobs(campaign, models)
    pool = _pool(campaign)
    answered = {model.pk: _answered(job_id=jobs[model.pk], pool=pool) for model in models}
    chosen = range(len(pool.ids))
    if answered_only:
        # Sampled from the answered prompts, so that a sample of N gives N prompts.
        chosen = [i for i in chosen if all(flags[i] for flags in answered.values())]  # type: ignore[assignment]
        if not chosen:
            raise CampaignError("no prompt was answered by every system")
    if pool.keys is not None:
        uids = campaign_sample_uids(campaign=campaign, keys=[pool.keys[i] for i in chosen]) or set()
        chosen = [i for i in chosen if pool.keys[i].uid in uids]  # type: ignore[assignment]
    for model in models:
        lacking = [pool.ids[i] for i in chosen if not answered[model.pk][i]]
        if lacking:
            raise CampaignError(_lacking_message(model, lacking))
    del answered
    conversation = campaign.rate == Campaign.Rate.CONVERSATION
    n_items = len(chosen) if conversation else sum(pool.turns[i] for i in chosen)
    sides = balanced_sides(group_sizes=[len(chosen)] * len(pairs), rng=rng)
    k = campaign.ratings_per_comparison
    total = n_items * len(pairs)
    overlap = bytearray(total)
    for slot in rng.sample(range(total), round(campaign.overlap * total)):
        overlap[slot] = 1
    writer = ComparisonBatches(
        campaign=campaign,
        progress=None if progress is None else (lambda done: progress(done, total)),
        batch_size=batch_size,
        skip=skip,
        on_batch=None if on_batch is None else (lambda done: on_batch(done, total)),
    )
    slot = 0
    chosen_ids = [pool.ids[i] for i in chosen]
    for (system_a, system_b), pair_sides in zip(pairs, sides, strict=True):
        if slot + n_items <= skip:
            # A resumed build, past this pair's rows: drawn again (the draws after depend on them),
            # with no answer read.
            for _ in range(n_items):
                rng.randrange(ORDER_PRIME)
            writer.pass_over(n_items)
            slot += n_items
            continue
        answers = _pair_answers(
            job_a=jobs[system_a.pk], job_b=jobs[system_b.pk], prompt_ids=chosen_ids, read_ahead=read_ahead
        )
        for position, (prompt_id, by_turn) in enumerate(answers):
            turn_count = pool.turns[pool.index[prompt_id]]
            for turn in (turn_count,) if conversation else range(1, turn_count + 1):
                if turn not in by_turn:
                    raise CampaignError("the set's answers changed while the campaign was being built")
                id_a, text_a, id_b, text_b = by_turn[turn]
                writer.add(
                    BuiltRow(
                        prompt_id,
                        turn,
                        system_a.pk,
                        system_b.pk,
                        id_a,
                        id_b,
                        pair_sides[position],
                        max(3, k) if overlap[slot] else k,
                        rng.randrange(ORDER_PRIME),
                        text_a,
                        text_b,
                        [by_turn[t][1] for t in range(1, turn)],
                        [by_turn[t][3] for t in range(1, turn)],
                    )
                )
                slot += 1
    writer.flush()
    return writer.written


def balanced_sides(*, group_sizes: list[int], rng: random.Random) -> list[list[str]]:
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
