"""Giving a stop-when-settled campaign's comparisons their cell, and counting each cell's room (issue 31).

A cell is a pair's category x setting (``SequentialCell``). Serving draws the items of one cell
(annotate.settle_pool) and counts the room left in the open cells (annotate.progress) from a column
and a counter instead of matching every comparison to its cell at each rating: ``Comparison.cell``
names it, and ``SettleTally`` counts its items with room, kept by triggers from then on (annotate
migration 0018, which runs the same statements for the campaigns built before it).

The cells are created here, once the campaign is built and before any rater is served, with the
figures of a cell nobody rated (``share`` 0 until the first settling refresh writes it: serving
draws no cell before that refresh, as it did when cells were only created by it).
"""

from __future__ import annotations

from django.db import connection

from annotate.models import Campaign, Comparison, SequentialCell, SettleTally
from annotate.serving_models import SLOTS
from eval_sets.models import Prompt


def _sql(campaign_id: int) -> list[str]:
    """Create the missing cells, point each regular comparison at its cell, count every cell's room.

    Plain statements with the campaign's id inlined (an integer), so that migration 0018 runs the same.
    """
    comparisons, cells = Comparison._meta.db_table, SequentialCell._meta.db_table
    prompts, tally = Prompt._meta.db_table, SettleTally._meta.db_table
    return [
        f"""INSERT INTO {cells} (campaign_id, system_a_id, system_b_id, category, setting, share, ratings,
        decisive, ci_low, ci_high, closed_rule)
        SELECT DISTINCT c.campaign_id, c.system_a_id, c.system_b_id, p.category, p.setting, 0.0, 0, 0, 0.0, 1.0, ''
        FROM {comparisons} c JOIN {prompts} p ON p.id = c.prompt_id
        WHERE c.campaign_id = {campaign_id} AND c.system_a_id IS NOT NULL AND c.system_b_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM {cells} s WHERE s.campaign_id = c.campaign_id
        AND s.system_a_id = c.system_a_id AND s.system_b_id = c.system_b_id AND s.category = p.category
        AND s.setting = p.setting)""",
        f"""UPDATE {comparisons} SET cell_id = s.id FROM {prompts} p, {cells} s
        WHERE {comparisons}.campaign_id = {campaign_id} AND {comparisons}.cell_id IS NULL
        AND p.id = {comparisons}.prompt_id AND s.campaign_id = {comparisons}.campaign_id
        AND s.system_a_id = {comparisons}.system_a_id AND s.system_b_id = {comparisons}.system_b_id
        AND s.category = p.category AND s.setting = p.setting""",
        f"DELETE FROM {tally} WHERE cell_id IN (SELECT id FROM {cells} WHERE campaign_id = {campaign_id})",
        f"""INSERT INTO {tally} (cell_id, slot, open_items)
        SELECT cell_id, id % {SLOTS}, SUM(CASE WHEN gold_answer IS NULL AND taken < needed THEN 1 ELSE 0 END)
        FROM {comparisons} WHERE campaign_id = {campaign_id} AND cell_id IS NOT NULL GROUP BY 1, 2""",
    ]


def settle_cells_assign(*, campaign: Campaign) -> None:
    """Create a stop-when-settled campaign's cells, give its comparisons theirs, and count each cell's room.

    Run inside the build's transaction, before any rater is served: the count is taken from the rows
    as they are, so no other write may change them meanwhile. Other campaigns have no cells.
    """
    if not campaign.stop_when_settled:
        return
    with connection.cursor() as cursor:
        for sql in _sql(int(campaign.pk)):
            cursor.execute(sql)
