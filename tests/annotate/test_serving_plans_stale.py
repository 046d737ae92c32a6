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
from django.utils import timezone

from annotate.assignment import item_next, rating_submit_and_serve
from annotate.models import Lease, Rating
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


def _rating_statements(campaign: Any, raters: list[Any], rounds: int) -> dict[str, str]:
    """After `rounds` ratings by each rater, the SQL of the first rater's next rating: progress and pick."""
    items: dict[int, Any] = {r.pk: item_next(campaign=campaign, rater=r) for r in raters}
    for _ in range(rounds):
        for r in raters:
            _, _, items[r.pk], _ = rating_submit_and_serve(
                campaign=campaign, rater=r, token=items[r.pk].token, side="left"
            )
    rater = raters[0]
    with CaptureQueriesContext(connection) as captured:
        rating_submit_and_serve(campaign=campaign, rater=rater, token=items[rater.pk].token, side="left")
    found = {}
    for query in captured.captured_queries:
        sql = query["sql"]
        if "annotate_servingtally" in sql:
            found["progress"] = sql
        elif SHORTLIST_LIMIT in sql:
            found["pick"] = sql
    assert found.keys() == {"progress", "pick"}, captured.captured_queries
    return found


def test_a_rating_reads_a_bounded_number_of_comparisons_with_statistics_taken_before_any_rating(
    campaign_factory, make_rater
):
    raters = [make_rater(f"r{i}") for i in range(3)]
    campaign = campaign_factory(n_prompts=N_PROMPTS, ratings_per_comparison=1, raters=raters)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as a fresh campaign's: no rating, no lease yet
    statements = _rating_statements(campaign, raters, 15)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotate_comparison")  # as autovacuum may, while ratings stay unanalysed
    reads = {name: _read(sql) for name, sql in statements.items()}
    # The rater's 16 rated items; the short list's 4 x 32 rows, their lookups by key and the rows the
    # walks pass over (rated or skipped by others): a few hundred, varying with the test's order, and
    # well under the 1,500 comparisons a scan of the campaign reads (1,564 before KeyAmong).
    assert reads["progress"] < 200, reads
    assert reads["pick"] < N_PROMPTS / 2, reads


def _rater_rows_read(sql: str) -> dict[str, float]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return {table: _rows_read(plan[0]["Plan"], table) for table in ("annotate_rating", "annotate_lease")}


def test_a_rating_reads_the_raters_own_ratings_and_leases_not_the_campaigns_while_its_statistics_lag(
    campaign_factory, make_rater
):
    # Statistics taken before the campaign had a rating: PostgreSQL estimated one row for any
    # campaign it had not seen, so a single-column index on the campaign looked as cheap as the one
    # on (campaign, rater), and it read every rating and lease of the campaign, filtering by rater,
    # several times per rating: at a million comparisons that doubled a rating's database time.
    # An earlier campaign's 6,000 ratings and leases fill the statistics; the new one is not in them.
    earlier = campaign_factory(name="earlier", n_prompts=600)
    crowd = [make_rater(f"crowd{i}") for i in range(10)]
    now = timezone.now()
    pairs = [(c, r) for c in earlier.comparisons.all() for r in crowd]
    Rating.objects.bulk_create(
        Rating(comparison=c, campaign=earlier, rater=r, choice="a", side="left", seconds=5) for c, r in pairs
    )
    Lease.objects.bulk_create(
        Lease(comparison=c, campaign=earlier, rater=r, served_at=now, leased_until=now) for c, r in pairs
    )
    raters = [make_rater(f"own{i}") for i in range(8)]
    campaign = campaign_factory(n_prompts=400, ratings_per_comparison=1, raters=raters)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    reads = {name: _rater_rows_read(sql) for name, sql in _rating_statements(campaign, raters, 12).items()}
    # The rater has 13 ratings and 14 leases, the campaign 97 and 104. Each statement reads the
    # rater's rows a few times over (once per part); read by the campaign, it was 97 or 104 each time.
    for statement, read in reads.items():
        for table, n_read in read.items():
            assert n_read <= 10 * 14, (statement, table, read)
