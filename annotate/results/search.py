"""The results browser's text search: a prompt (its text or id) or either answer contains the words.

The rule is `icontains` on the four columns, the same on both databases (SQLite: a case-insensitive
LIKE; PostgreSQL: `UPPER(column) LIKE UPPER(pattern)`). What differs is how PostgreSQL finds them:

- As one condition over the joined prompt and texts (`text_match`'s plain form), the database walks
  the campaign's comparisons in id order and tests each: quick when the words are common (the page's
  matches come early), but a rare word reads every answer (3.3 s at a million comparisons).
- With pg_trgm's GIN indexes (annotate migrations 0016 and 0020) on the prompts' text and id and on
  the samples' texts, upper-cased: a comparison's answers are copies of its two samples' texts (the
  build copies them; uploaded gold pairs alone have texts and no samples, and are few), so the
  comparisons are found from their prompt's id or their samples' ids. The samples are indexed once
  per answer when the answers are stored, not again for every campaign built over them (indexing
  each comparison's copies doubled the build of a million comparisons). A common word gives as many
  matches as rows, and the index reads them all: the search counts each table's matches up to
  `INDEXED_MATCHES_MAX` first (the index again, stopping there), and past it walks as before.

SQLite has no such index: the plain form, a scan, as before (the embedded default is for small
campaigns). Words without three letters or digits in a row ("ab", "50%", "a-b") give a trigram
index little or nothing to look up (it would read all of itself): the walk.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import Q, QuerySet

from annotate.models import Comparison, ComparisonTexts
from eval_sets.models import Prompt
from generation.models import Sample

# Above this many matching prompts or answers, walking the campaign in id order finds a page of matches
# sooner than reading them all from the index.
INDEXED_MATCHES_MAX = 20_000
# pg_trgm takes trigrams from runs of letters and digits.
TRIGRAM_RUN = re.compile(r"[^\W_]{3}")


def _more_than(rows: QuerySet, bound: int) -> bool:
    return rows.order_by()[bound : bound + 1].exists()


def text_match(value: str) -> Q:
    """Comparisons whose prompt text, prompt id, answer A or answer B contains `value`, any case."""
    plain = (
        Q(prompt__text__icontains=value)
        | Q(prompt__uid__icontains=value)
        | Q(texts__text_a__icontains=value)
        | Q(texts__text_b__icontains=value)
    )
    if connection.vendor != "postgresql" or not TRIGRAM_RUN.search(value):
        return plain
    samples = Sample.objects.filter(text__icontains=value)
    prompts = Prompt.objects.filter(Q(text__icontains=value) | Q(uid__icontains=value))
    if _more_than(samples, INDEXED_MATCHES_MAX) or _more_than(prompts, INDEXED_MATCHES_MAX):
        return plain
    sample_ids = samples.order_by().values("pk")
    by_prompt = Comparison.objects.filter(prompt_id__in=prompts.values("pk")).order_by().values("pk")
    by_answer = Comparison.objects.filter(Q(sample_a_id__in=sample_ids) | Q(sample_b_id__in=sample_ids))
    # Uploaded gold pairs: texts without samples, found by the samples' key index (null), then read.
    unsampled = ComparisonTexts.objects.filter(comparison__sample_a__isnull=True).filter(
        Q(text_a__icontains=value) | Q(text_b__icontains=value)
    )
    return Q(
        pk__in=by_prompt.union(
            by_answer.order_by().values("pk"), unsampled.order_by().values("comparison_id"), all=True
        )
    )
