"""A rating reads the rater's own rows and the pool's short list, whatever the planner's statistics say (issue 31).

A campaign minutes old has statistics taken while its ratings and leases were empty (or none at
all). With them, PostgreSQL once joined the pool's short list by scanning the campaign's
comparisons, and the rater's rated items by hashing the whole pool: the cost of a rating grew with
the campaign, not with the rater. The plans are read here with real execution counts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotate.assignment import item_next, rating_submit_and_serve
from annotate.picking import _SHORTLIST

# The pick's short list, as its SQL shows it (annotate.picking).
SHORTLIST_LIMIT = f"LIMIT {_SHORTLIST}"
pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="reads PostgreSQL's plans (SQLite reads by key already)"
)

N_PROMPTS = 1500


def _rows_read(node: dict, table: str) -> float:
    """Rows the plan read from `table`: those each scan returned or filtered out, over all its loops."""
    own = 0.0
    if node.get("Relation Name") == table:
        loops = node.get("Actual Loops", 1)
        own = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * loops
    return own + sum(_rows_read(child, table) for child in node.get("Plans", []))


def _read(sql: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")  # the logged SQL has its values inlined
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return _rows_read(plan[0]["Plan"], "annotate_comparison")


def test_a_rating_reads_a_bounded_number_of_comparisons_with_statistics_taken_before_any_rating(
    campaign_factory, make_rater
):
    raters = [make_rater(f"r{i}") for i in range(3)]
    campaign = campaign_factory(n_prompts=N_PROMPTS, ratings_per_comparison=1, raters=raters)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as a fresh campaign's: no rating, no lease yet
    items: dict[int, Any] = {r.pk: item_next(campaign=campaign, rater=r) for r in raters}
    for _ in range(15):
        for r in raters:
            _, _, items[r.pk], _ = rating_submit_and_serve(
                campaign=campaign, rater=r, token=items[r.pk].token, side="left"
            )
    rater = raters[0]
    with CaptureQueriesContext(connection) as captured:
        rating_submit_and_serve(campaign=campaign, rater=rater, token=items[rater.pk].token, side="left")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotate_comparison")  # as autovacuum may, while ratings stay unanalysed
    reads = {}
    for query in captured.captured_queries:
        sql = query["sql"]
        if "annotate_servingtally" in sql:
            reads["progress"] = _read(sql)
        elif SHORTLIST_LIMIT in sql:
            reads["pick"] = _read(sql)
    assert reads.keys() == {"progress", "pick"}, captured.captured_queries
    # The rater's 16 rated items; the short list's 4 x 32 rows, their lookups by key and the rows the
    # walks pass over (rated or skipped by others): a few hundred, varying with the test's order, and
    # well under the 1,500 comparisons a scan of the campaign reads (1,564 before KeyAmong).
    assert reads["progress"] < 200, reads
    assert reads["pick"] < N_PROMPTS / 2, reads
