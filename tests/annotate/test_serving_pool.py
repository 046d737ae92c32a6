"""The next item comes from an indexed pool, walked from the rater's start, never a sort of the campaign (issue 31)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotate.assignment import item_next, rating_submit
from annotate.picking import _SHORTLIST

# The pick's short list, as its SQL shows it (annotate.picking).
SHORTLIST_LIMIT = f"LIMIT {_SHORTLIST}"


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Statistics as of now: those autovacuum took after other tests' rolled-back rows may
            # describe an empty table, for which any index is as cheap as the one the query is for.
            cursor.execute("ANALYZE annotate_comparison, annotate_lease, annotate_rating")
            cursor.execute(
                "SET LOCAL enable_seqscan = off"
            )  # the test's table is tiny: ask for the index plan
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row) for row in cursor.fetchall())


def test_the_next_item_is_found_through_the_pool_index_and_progress_through_the_may_open_index(
    campaign_factory, make_rater
):
    rater = make_rater("r1")
    campaign = campaign_factory(n_prompts=20, ratings_per_comparison=2, raters=[rater])
    item = item_next(campaign=campaign, rater=rater)
    assert item is not None
    with CaptureQueriesContext(connection) as captured:
        rating_submit(campaign=campaign, rater=rater, token=item.token, side="left")
        assert item_next(campaign=campaign, rater=rater) is not None
    statements = [q["sql"] for q in captured.captured_queries]
    pick = [sql for sql in statements if "annotate_comparison" in sql and SHORTLIST_LIMIT in sql]
    assert pick, "\n".join(statements)
    assert "comparison_pool" in _plan(pick[0])
    progress = [sql for sql in statements if "annotate_servingtally" in sql]
    assert progress and "comparison_may_open" in _plan(progress[0])
