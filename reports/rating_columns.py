"""A campaign's ratings as the report reads them: columns (analysis.columns.RatingColumns), not records.

The rows come from the one door (reports.campaign_records) a chunk at a time and become arrays at once,
so a million ratings are held as about 60 bytes each, never as a million record objects. The columns
are those of ``campaign_report_records`` (same filter, order and rules: a gold check is scored on the
rater's first answer), which a test holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.columns import N_STYLE, RatingColumns, code_strings
from reports.campaign_records import (
    Campaign,
    campaign_exclusions,
    campaign_rating_arrays,
    campaign_rating_names,
)


def campaign_report_columns(
    *,
    campaign: Campaign,
    exclude_raters: Sequence[str] = (),
    exclude_gold: bool = False,
    include_excluded_raters: bool = False,
) -> RatingColumns:
    """The campaign's ratings a report holds (``campaign_counted_ratings``' rule), oldest first, as columns."""
    arrays = campaign_rating_arrays(
        campaign=campaign,
        exclude_raters=exclude_raters,
        exclude_gold=exclude_gold,
        include_excluded_raters=include_excluded_raters,
    )
    counts = np.stack([arrays.pop(f"style_{n}") for n in range(2 * N_STYLE)], axis=1)
    # An answer without stored counts (-1): no style control, as with records.
    style = None if (counts < 0).any() else counts
    gold_choice = arrays.pop("gold_choice")
    arrays.pop("comparison")
    arrays["gold"], arrays["gold_choice"] = gold_choice != -2, np.maximum(gold_choice, -1)
    arrays["left_b"] = arrays["left_b"].astype(bool)
    names = campaign_rating_names(campaign=campaign)
    prompt_pks = list(names.prompts)
    categories: dict[str, int] = {}
    settings: dict[str, int] = {}
    prompt_category = code_strings([category for _, category, _ in names.prompts.values()], categories)
    prompt_setting = code_strings([setting for _, _, setting in names.prompts.values()], settings)
    prompt = _codes(arrays.pop("prompt"), prompt_pks)
    system_pks, rater_pks = list(names.systems), list(names.raters)
    return RatingColumns(
        campaigns=[campaign.name],
        prompt_ids=[uid for uid, _, _ in names.prompts.values()],
        prompt_campaign=np.zeros(len(prompt_pks), dtype=np.int64),
        categories=list(categories),
        settings=list(settings),
        systems=list(names.systems.values()),
        raters=list(names.raters.values()),
        prompt=prompt,
        category=prompt_category[prompt],
        setting=prompt_setting[prompt],
        system_a=_codes(arrays.pop("system_a"), system_pks),
        system_b=_codes(arrays.pop("system_b"), system_pks),
        rater=_codes(arrays.pop("rater"), rater_pks),
        # Row-major copies: the statistics' sums over a column add in an order that depends on the layout.
        style_a=None if style is None else np.ascontiguousarray(style[:, :N_STYLE]),
        style_b=None if style is None else np.ascontiguousarray(style[:, N_STYLE:]),
        **arrays,
    )


def campaign_excluded_mask(
    *,
    campaign: Campaign,
    columns: RatingColumns,
    exclude_raters: Sequence[str] = (),
    exclude_gold: bool = False,
) -> np.ndarray:
    """Which of ``columns`` (a campaign's, excluded raters included) a report with these filters leaves out:
    ``campaign_counted_ratings``' rule over arrays, so that one read serves a page's every figure."""
    names = {exclusion.rater for exclusion in campaign_exclusions(campaign=campaign)}
    names |= {name for name in exclude_raters if name}
    left_out = np.array([name in names for name in columns.raters], dtype=bool)
    mask = left_out[columns.rater] if len(columns.raters) else np.zeros(len(columns), dtype=bool)
    return mask | columns.gold if exclude_gold else mask


def _codes(pks: np.ndarray, known: list[int]) -> np.ndarray:
    """Each primary key's position in ``known``."""
    if not len(pks):
        return np.zeros(0, dtype=np.int64)
    lookup = np.full(max(max(known, default=0), int(pks.max())) + 1, -1, dtype=np.int64)
    lookup[np.array(known, dtype=np.int64)] = np.arange(len(known))
    return lookup[pks]
