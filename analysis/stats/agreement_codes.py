"""Agreement between raters and per-rater summaries on coded arrays (analysis.columns): the figures of
``agreement`` and ``rater_summaries`` (analysis.stats.agreement) without a tuple or a dict per rating.

Items are codes numbered in order of first appearance (``RatingColumns.items``), raters and labels
codes of their name lists. A rater who rated an item twice counts once there (their first rating),
as in the list versions; every sum is of integers, so the figures are theirs to the last bit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from itertools import combinations, pairwise
from typing import Any

import numpy as np

from analysis.stats.agreement import fleiss_kappa, krippendorff_alpha_nominal
from analysis.stats.proportion import finite_or_none


class _FirstLabels:
    """Each (item, rater)'s first label, kept in rating order, and how many raters each item has."""

    def __init__(self, items: np.ndarray, raters: np.ndarray, labels: np.ndarray, n_raters: int):
        key = items * max(n_raters, 1) + raters
        first = np.sort(np.unique(key, return_index=True)[1])
        self.item, self.rater, self.label = items[first], raters[first], labels[first]
        self.per_item = np.bincount(self.item, minlength=int(items.max()) + 1 if len(items) else 0)

    def grouped(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(item, rater, label) of the kept rows where ``mask`` holds, an item's rows together in rating order."""
        order = np.argsort(self.item[mask], kind="stable")
        return self.item[mask][order], self.rater[mask][order], self.label[mask][order]


def agreement_codes(
    items: np.ndarray,
    raters: np.ndarray,
    labels: np.ndarray,
    *,
    rater_names: Sequence[str],
    label_names: Sequence[str],
    min_shared_items: int = 5,
) -> dict[str, Any]:
    """``analysis.stats.agreement.agreement`` of (items[i], raters[i], labels[i])."""
    kept = _FirstLabels(items, raters, labels, len(rater_names))
    multi = kept.per_item >= 2
    block: dict[str, Any] = {
        "items": int(multi.sum()),
        "ratings": int(kept.per_item[multi].sum()),
        "percent_agreement": None,
        "fleiss_kappa": None,
        "krippendorff_alpha": None,
        "cohen_kappa": [],
        "min_shared_items": min_shared_items,
    }
    if not multi.any():
        return block
    in_multi = multi[kept.item]
    row_of = np.cumsum(multi) - 1  # item codes are in order of first appearance: rows keep that order
    present = np.unique(kept.label[in_multi]).tolist()
    categories = sorted(present, key=lambda code: repr(label_names[code]))
    column = np.zeros(len(label_names), dtype=np.int64)
    column[categories] = np.arange(len(categories))
    cells = row_of[kept.item[in_multi]] * len(categories) + column[kept.label[in_multi]]
    table = np.bincount(cells, minlength=int(multi.sum()) * len(categories)).astype(np.float64)
    table = table.reshape(-1, len(categories))
    m = table.sum(axis=1)
    block["percent_agreement"] = finite_or_none(((np.square(table).sum(axis=1) - m) / (m * (m - 1))).mean())
    block["fleiss_kappa"] = fleiss_kappa(table)
    block["krippendorff_alpha"] = krippendorff_alpha_nominal(table)
    for first, second, shared, agree, count_a, count_b in _pairs(
        kept, in_multi, rater_names, len(label_names)
    ):
        if shared < min_shared_items:
            continue
        expected = int(np.dot(count_a, count_b)) / (shared * shared)
        observed = agree / shared
        block["cohen_kappa"].append(
            {
                "rater_a": rater_names[first],
                "rater_b": rater_names[second],
                "items": shared,
                "percent_agreement": finite_or_none(agree / shared),
                "kappa": None
                if math.isclose(expected, 1.0)
                else finite_or_none((observed - expected) / (1 - expected)),
            }
        )
    return block


def _pairs(
    kept: _FirstLabels, in_multi: np.ndarray, rater_names: Sequence[str], n_labels: int
) -> list[tuple[int, int, int, int, np.ndarray, np.ndarray]]:
    """Per pair of raters sharing an item, in order of their names: (first, second, shared items,
    agreements, first's label counts, second's label counts)."""
    item, rater, label = kept.grouped(in_multi)
    sizes = kept.per_item[item]
    rank = np.empty(len(rater_names), dtype=np.int64)
    rank[np.argsort(np.array(rater_names, dtype=object), kind="stable")] = np.arange(len(rater_names))
    # Items of two raters (most): their two rows are adjacent.
    starts = np.flatnonzero((sizes == 2) & np.r_[True, item[1:] != item[:-1]])
    one, two = rater[starts], rater[starts + 1]
    swap = rank[one] > rank[two]
    firsts = [np.where(swap, two, one)]
    seconds = [np.where(swap, one, two)]
    labels_a = [np.where(swap, label[starts + 1], label[starts])]
    labels_b = [np.where(swap, label[starts], label[starts + 1])]
    # Items of three raters or more: every pair of them, in a loop (rare).
    big = np.flatnonzero(sizes > 2)
    if len(big):
        extra: list[tuple[int, int, int, int]] = []
        bounds = np.flatnonzero(np.r_[True, item[big][1:] != item[big][:-1], True])
        for start, end in pairwise(bounds.tolist()):
            rows = sorted(big[start:end].tolist(), key=lambda i: rank[rater[i]])
            extra += [(rater[i], rater[j], label[i], label[j]) for i, j in combinations(rows, 2)]
        columns = np.array(extra, dtype=np.int64).reshape(-1, 4)
        firsts.append(columns[:, 0])
        seconds.append(columns[:, 1])
        labels_a.append(columns[:, 2])
        labels_b.append(columns[:, 3])
    first, second = np.concatenate(firsts), np.concatenate(seconds)
    label_a, label_b = np.concatenate(labels_a), np.concatenate(labels_b)
    keys, pair = np.unique(first * len(rater_names) + second, return_inverse=True)
    pair = pair.ravel()
    shared = np.bincount(pair, minlength=len(keys))
    agree = np.bincount(pair, weights=(label_a == label_b), minlength=len(keys))
    count_a = np.bincount(pair * n_labels + label_a, minlength=len(keys) * n_labels).reshape(-1, n_labels)
    count_b = np.bincount(pair * n_labels + label_b, minlength=len(keys) * n_labels).reshape(-1, n_labels)
    found = [
        (
            int(key) // len(rater_names),
            int(key) % len(rater_names),
            int(shared[i]),
            int(agree[i]),
            count_a[i],
            count_b[i],
        )
        for i, key in enumerate(keys.tolist())
    ]
    return sorted(found, key=lambda row: (rater_names[row[0]], rater_names[row[1]]))


def rater_summaries_codes(
    items: np.ndarray,
    raters: np.ndarray,
    labels: np.ndarray,
    seconds: np.ndarray,
    gold_labels: np.ndarray,
    *,
    rater_names: Sequence[str],
) -> list[dict[str, Any]]:
    """``analysis.stats.agreement.rater_summaries``; ``gold_labels`` holds -1 where a rating is no scored check."""
    kept = _FirstLabels(items, raters, labels, len(rater_names))
    compared = np.zeros(len(rater_names), dtype=np.int64)
    agreed = np.zeros(len(rater_names), dtype=np.int64)
    item, rater, label = kept.grouped(kept.per_item[kept.item] >= 2)
    sizes = kept.per_item[item]
    # Items of two raters (most): the other rater's label is the majority of the others.
    starts = np.flatnonzero((sizes == 2) & np.r_[True, item[1:] != item[:-1]])
    same = (label[starts] == label[starts + 1]).astype(np.int64)
    for side in (starts, starts + 1):
        compared += np.bincount(rater[side], minlength=len(rater_names))
        agreed += np.bincount(rater[side], weights=same, minlength=len(rater_names)).astype(np.int64)
    big = np.flatnonzero(sizes > 2)
    bounds = (
        np.flatnonzero(np.r_[True, item[big][1:] != item[big][:-1], True]) if len(big) else np.zeros(0, int)
    )
    for start, end in pairwise(bounds.tolist()):
        own = [(int(rater[i]), int(label[i])) for i in big[start:end]]
        for who, theirs in own:
            others = Counter(other for name, other in own if name != who).most_common()
            if len(others) > 1 and others[0][1] == others[1][1]:
                continue
            compared[who] += 1
            agreed[who] += int(theirs == others[0][0])
    count = np.bincount(raters, minlength=len(rater_names))
    scored = gold_labels >= 0
    gold_items = np.bincount(raters[scored], minlength=len(rater_names))
    gold_right = np.bincount(raters[scored & (labels == gold_labels)], minlength=len(rater_names))
    order = np.argsort(raters, kind="stable")
    ends = np.cumsum(count)
    summaries = []
    for code in sorted(np.flatnonzero(count).tolist(), key=lambda code: rater_names[code]):
        own_seconds = seconds[order[ends[code] - count[code] : ends[code]]]
        golds, right, compared_here = int(gold_items[code]), int(gold_right[code]), int(compared[code])
        summaries.append(
            {
                "rater": rater_names[code],
                "count": int(count[code]),
                "median_seconds": finite_or_none(float(np.median(own_seconds))),
                "majority_items": compared_here,
                "agreement_with_majority": finite_or_none(int(agreed[code]) / compared_here)
                if compared_here
                else None,
                "gold_items": golds,
                "gold_accuracy": finite_or_none(right / golds) if golds else None,
            }
        )
    return summaries
