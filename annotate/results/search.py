"""The results browser's text search: a prompt (its text or id) or either answer contains the words.

The rule is `icontains` on the four columns, the same on both databases (SQLite: a case-insensitive
LIKE; PostgreSQL: `UPPER(column) LIKE UPPER(pattern)`). What differs is how PostgreSQL finds them:

- As one condition over the joined prompt and texts (`text_match`'s plain form), the database walks
  the campaign's comparisons in id order and tests each: quick when the words are common (the page's
  matches come early), but a rare word reads every answer (3.3 s at a million comparisons).
- With pg_trgm's GIN indexes on the four upper-cased columns (annotate migration 0016), each table's
  matches come from its indexes, and the comparisons are found from their ids (texts) or their
  prompt's id. A common word gives as many matches as rows, and the index reads them all: the
  search counts each table's matches up to `INDEXED_MATCHES_MAX` first (the index again, stopping
  there), and past it walks as before.

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
    texts = ComparisonTexts.objects.filter(Q(text_a__icontains=value) | Q(text_b__icontains=value))
    prompts = Prompt.objects.filter(Q(text__icontains=value) | Q(uid__icontains=value))
    if _more_than(texts, INDEXED_MATCHES_MAX) or _more_than(prompts, INDEXED_MATCHES_MAX):
        return plain
    by_prompt = Comparison.objects.filter(prompt_id__in=prompts.values("pk")).order_by().values("pk")
    return Q(pk__in=texts.order_by().values("comparison_id").union(by_prompt))
