"""Agreement between raters, position bias and per-rater summaries."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from analysis.stats.proportion import binomial_p_value, finite_or_none, wilson_interval

# ---------------------------------------------------------------------------------------------------
# Agreement between raters
# ---------------------------------------------------------------------------------------------------


def _category_table(items: Mapping[Hashable, Sequence[Hashable]]) -> tuple[np.ndarray, list[Hashable]]:
    categories = sorted({label for labels in items.values() for label in labels}, key=repr)
    column = {label: j for j, label in enumerate(categories)}
    table = np.zeros((len(items), len(categories)), dtype=np.float64)
    for i, labels in enumerate(items.values()):
        for label in labels:
            table[i, column[label]] += 1
    return table, categories


def fleiss_kappa(table: np.ndarray) -> float | None:
    """Fleiss (1971) kappa on an items x categories count table.

    With unequal numbers of ratings per item, observed agreement is averaged per item and chance
    agreement comes from the pooled category shares (the usual generalisation); with equal numbers
    it is exactly Fleiss' statistic.
    """
    m = table.sum(axis=1)
    if table.size == 0 or (m < 2).any():
        return None
    p_item = (np.square(table).sum(axis=1) - m) / (m * (m - 1))
    p_bar = p_item.mean()
    shares = table.sum(axis=0) / m.sum()
    p_e = float(np.square(shares).sum())
    if math.isclose(p_e, 1.0):
        return None
    return finite_or_none((p_bar - p_e) / (1 - p_e))


def krippendorff_alpha_nominal(table: np.ndarray) -> float | None:
    """Krippendorff's alpha for nominal data from an items x categories count table.

    Built on the coincidence matrix, so items may carry different numbers of ratings; items with a
    single rating carry no pairing information and are ignored.
    """
    table = table[table.sum(axis=1) >= 2]
    if table.size == 0:
        return None
    m = table.sum(axis=1)
    weighted = table / (m - 1)[:, None]
    coincidence = weighted.T @ table - np.diag(weighted.sum(axis=0))
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    disagreement_observed = coincidence.sum() - np.trace(coincidence)
    disagreement_expected = (n * n - np.square(n_c).sum()) / (n - 1)
    if disagreement_expected <= 0:
        return None
    return finite_or_none(1.0 - disagreement_observed / disagreement_expected)


def cohen_kappa(labels_a: Sequence[Hashable], labels_b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa for two raters over the same items."""
    n = len(labels_a)
    if n == 0 or n != len(labels_b):
        return None
    observed = sum(a == b for a, b in zip(labels_a, labels_b, strict=True)) / n
    count_a, count_b = Counter(labels_a), Counter(labels_b)
    expected = sum(count_a[label] * count_b[label] for label in count_a) / (n * n)
    if math.isclose(expected, 1.0):
        return None
    return finite_or_none((observed - expected) / (1 - expected))


def gwet_ac1(labels_a: Sequence[Hashable], labels_b: Sequence[Hashable]) -> float | None:
    """Gwet's AC1 for two raters over the same items (Gwet 2008), as irrCAC's ``CAC.gwet`` computes it.

    Chance agreement is (1 / (q - 1)) sum_k pi_k (1 - pi_k), pi_k the share of label k over both raters'
    labels and q the labels seen: small when one label dominates, so AC1 stays near the observed
    agreement where Cohen's kappa collapses (the prevalence paradox).
    """
    n = len(labels_a)
    if n == 0 or n != len(labels_b):
        return None
    observed = sum(a == b for a, b in zip(labels_a, labels_b, strict=True)) / n
    counts = Counter(labels_a) + Counter(labels_b)
    if len(counts) < 2:
        return None
    expected = sum((c / (2 * n)) * (1 - c / (2 * n)) for c in counts.values()) / (len(counts) - 1)
    return finite_or_none((observed - expected) / (1 - expected))


PREVALENCE_SHARE = 0.8  # one label this common among both raters' labels: kappa's chance term is near 1


def prevalence_note(labels_a: Sequence[Hashable], labels_b: Sequence[Hashable]) -> str | None:
    """One line when kappa is low (under 0.6, short of "substantial") only because one label dominates.

    That is: one label is at least PREVALENCE_SHARE of both raters' labels, yet they agree on 80 % or more
    and AC1 is 0.6 or more. Else None.
    """
    kappa, ac1 = cohen_kappa(labels_a, labels_b), gwet_ac1(labels_a, labels_b)
    n = len(labels_a)
    if not n or ac1 is None:
        return None
    observed = sum(a == b for a, b in zip(labels_a, labels_b, strict=True)) / n
    label, count = (Counter(labels_a) + Counter(labels_b)).most_common(1)[0]
    share = count / (2 * n)
    if share >= PREVALENCE_SHARE and observed >= 0.8 and ac1 >= 0.6 and (kappa is None or kappa < 0.6):
        return (
            f"Kappa is low because one label dominates ({share:.0%} of labels are {label}), not because "
            f"agreement is poor: {observed:.1%} agree, Gwet's AC1 {ac1:.3f}."
        )
    return None


def agreement(
    ratings: Sequence[tuple[Hashable, str, Hashable]],
    *,
    min_shared_items: int = 5,
) -> dict[str, Any]:
    """Agreement over items that carry at least two ratings.

    ``ratings`` holds ``(item, rater, label)`` triples; labels must name the system (or tie / both
    bad), not the side, so that two raters who saw different layouts still agree. A rater who rated
    an item twice counts once (their first rating).
    """
    by_item: dict[Hashable, dict[str, Hashable]] = defaultdict(dict)
    for item, rater, label in ratings:
        by_item[item].setdefault(rater, label)
    multi = {item: list(raters.values()) for item, raters in by_item.items() if len(raters) >= 2}
    block: dict[str, Any] = {
        "items": len(multi),
        "ratings": sum(len(labels) for labels in multi.values()),
        "percent_agreement": None,
        "fleiss_kappa": None,
        "krippendorff_alpha": None,
        "cohen_kappa": [],
        "min_shared_items": min_shared_items,
    }
    if not multi:
        return block
    table, _ = _category_table(multi)
    m = table.sum(axis=1)
    block["percent_agreement"] = finite_or_none(((np.square(table).sum(axis=1) - m) / (m * (m - 1))).mean())
    block["fleiss_kappa"] = fleiss_kappa(table)
    block["krippendorff_alpha"] = krippendorff_alpha_nominal(table)
    raters = sorted({rater for raters in by_item.values() for rater in raters if len(raters) >= 2})
    # Each pair's shared items in item order, from one pass over the items (not a pass per pair).
    shared_by_pair: dict[tuple[str, str], list[Hashable]] = defaultdict(list)
    for item in multi:
        here = by_item[item]
        if len(here) == 2:  # most items: one pair, no sort
            first, second = here
            shared_by_pair[(first, second) if first <= second else (second, first)].append(item)
            continue
        for first, second in combinations(sorted(here), 2):
            shared_by_pair[first, second].append(item)
    for first, second in combinations(raters, 2):
        shared = shared_by_pair.get((first, second), [])
        if len(shared) < min_shared_items:
            continue
        labels_a = [by_item[item][first] for item in shared]
        labels_b = [by_item[item][second] for item in shared]
        block["cohen_kappa"].append(
            {
                "rater_a": first,
                "rater_b": second,
                "items": len(shared),
                "percent_agreement": finite_or_none(
                    sum(a == b for a, b in zip(labels_a, labels_b, strict=True)) / len(shared)
                ),
                "kappa": cohen_kappa(labels_a, labels_b),
            }
        )
    return block


# ---------------------------------------------------------------------------------------------------
# Position bias and raters
# ---------------------------------------------------------------------------------------------------


def position_bias(left_won: Sequence[bool]) -> dict[str, Any]:
    """How often the response shown on the left wins among decisive votes (True: left won)."""
    return position_bias_counts(left=int(sum(bool(x) for x in left_won)), decisive=len(left_won))


def position_bias_counts(*, left: int, decisive: int) -> dict[str, Any]:
    """``position_bias`` from its counts: ``left`` of ``decisive`` votes went to the left answer."""
    n = decisive
    low, high = wilson_interval(left, n)
    return {
        "decisive": n,
        "left_wins": left,
        "right_wins": n - left,
        "left_rate": finite_or_none(left / n) if n else None,
        "ci_low": low,
        "ci_high": high,
        "p_value": binomial_p_value(left, n),
    }


def rater_summaries(
    ratings: Sequence[tuple[Hashable, str, Hashable, float, Hashable | None]],
) -> list[dict[str, Any]]:
    """Per rater: count, median seconds, agreement with the majority of the others, gold accuracy.

    ``ratings`` holds ``(item, rater, label, seconds, gold_label)`` where ``gold_label`` is the known
    answer of a gold item (``None`` otherwise). The majority of the others is their most frequent label
    on the item; items where the others have no single most frequent label are left out.
    """
    by_item: dict[Hashable, dict[str, Hashable]] = defaultdict(dict)
    per_rater: dict[str, list[tuple[Hashable, Hashable, float, Hashable | None]]] = defaultdict(list)
    for item, rater, label, seconds, gold in ratings:
        by_item[item].setdefault(rater, label)
        per_rater[rater].append((item, label, seconds, gold))
    # Each rater's (items compared, agreements) with the others' majority, from one pass over the items.
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for own in by_item.values():
        if len(own) < 2:
            continue
        if len(own) == 2:  # most items: the other rater's label is the majority of the others
            (first, label_a), (second, label_b) = own.items()
            for rater in (first, second):
                tally[rater][0] += 1
                tally[rater][1] += int(label_a == label_b)
            continue
        for rater, label in own.items():
            others = Counter(theirs for other, theirs in own.items() if other != rater).most_common()
            if len(others) > 1 and others[0][1] == others[1][1]:
                continue
            tally[rater][0] += 1
            tally[rater][1] += int(label == others[0][0])
    summaries = []
    for rater in sorted(per_rater):
        rows = per_rater[rater]
        compared, agree = tally[rater]
        golds = [(label, gold) for _, label, _, gold in rows if gold is not None]
        gold_right = sum(label == gold for label, gold in golds)
        summaries.append(
            {
                "rater": rater,
                "count": len(rows),
                "median_seconds": finite_or_none(float(np.median([s for _, _, s, _ in rows])))
                if rows
                else None,
                "majority_items": compared,
                "agreement_with_majority": finite_or_none(agree / compared) if compared else None,
                "gold_items": len(golds),
                "gold_accuracy": finite_or_none(gold_right / len(golds)) if golds else None,
            }
        )
    return summaries
