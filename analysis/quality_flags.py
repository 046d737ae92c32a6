"""The rule behind a rater's live quality flags: numbers in, flags out.

Pure (no Django; scipy for the exact test), so it can be tested exhaustively and shared: the campaign
page and the report both get their flags from ``rater_flags`` through one selector
(``reports.rater_flags``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import binomtest

# A rater's left share is tested only from this many decisive votes on: with fewer, a run of one side
# is too common by chance among many raters to be worth a researcher's attention.
ONE_SIDED_MIN_DECISIVE = 20
# Stated on the page beside the flag; strict because every rater of a campaign is tested.
ONE_SIDED_ALPHA = 0.01
# The most characters RaterExclusion.reason holds.
REASON_MAX_CHARS = 500

TOO_FAST = "too_fast"
ONE_SIDED = "one_sided"
GOLD = "gold"


@dataclass(frozen=True)
class RaterNumbers:
    """What the rule needs about one rater's ratings in one campaign (practice answers never included)."""

    ratings: int
    median_seconds: float | None
    too_fast: int  # ratings given in less than the campaign's minimum reading time
    decisive: int  # votes for the left or the right response
    left_votes: int  # of those, votes for the response on the left
    gold_total: int  # gold checks answered, scored on the first answer
    gold_correct: int


@dataclass(frozen=True)
class FlagThresholds:
    min_seconds: float  # the campaign's minimum reading time (0: the too-fast flag is off)
    gold_accuracy_min: float  # a share in [0, 1]
    alpha: float = ONE_SIDED_ALPHA
    min_decisive: int = ONE_SIDED_MIN_DECISIVE


@dataclass(frozen=True)
class Flag:
    code: str  # TOO_FAST, ONE_SIDED or GOLD
    label: str
    value: str  # the rater's number
    rule: str  # the rule it broke, with its threshold

    @property
    def text(self) -> str:
        return f"{self.label}: {self.value} ({self.rule})"


def left_share_p_value(*, left: int, decisive: int) -> float:
    """Two-sided exact binomial test of ``left`` of ``decisive`` against 0.5 (1.0 with no votes)."""
    if decisive <= 0:
        return 1.0
    return float(binomtest(left, decisive, 0.5, alternative="two-sided").pvalue)


def rater_flags(numbers: RaterNumbers, thresholds: FlagThresholds) -> list[Flag]:
    """The flags ``numbers`` earn under ``thresholds``, in a fixed order (too fast, one-sided, gold)."""
    _check(numbers, thresholds)
    flags: list[Flag] = []
    median = numbers.median_seconds
    if thresholds.min_seconds > 0 and median is not None and median < thresholds.min_seconds:
        flags.append(
            Flag(
                code=TOO_FAST,
                label="Too fast",
                value=f"median {median:.1f} s per rating, {numbers.too_fast} of {numbers.ratings} "
                f"ratings under {_num(thresholds.min_seconds)} s",
                rule=f"median below the campaign's {_num(thresholds.min_seconds)} s minimum",
            )
        )
    if numbers.decisive >= thresholds.min_decisive:
        p = left_share_p_value(left=numbers.left_votes, decisive=numbers.decisive)
        if p < thresholds.alpha:
            flags.append(
                Flag(
                    code=ONE_SIDED,
                    label="One-sided",
                    value=f"left in {numbers.left_votes} of {numbers.decisive} decisive votes "
                    f"({100 * numbers.left_votes / numbers.decisive:.0f} %), p = {_p(p)}",
                    rule=f"exact two-sided binomial test against 0.5, p < {_num(thresholds.alpha)}, "
                    f"from {thresholds.min_decisive} decisive votes",
                )
            )
    if numbers.gold_total > 0:
        accuracy = numbers.gold_correct / numbers.gold_total
        if accuracy < thresholds.gold_accuracy_min:
            flags.append(
                Flag(
                    code=GOLD,
                    label="Gold accuracy",
                    value=f"{numbers.gold_correct} of {numbers.gold_total} gold checks right "
                    f"({100 * accuracy:.0f} %)",
                    rule=f"below the campaign's {100 * thresholds.gold_accuracy_min:.0f} % threshold",
                )
            )
    return flags


def exclusion_reason(flags: Sequence[Flag]) -> str:
    """The reason an exclusion is prefilled with: every flag's text, cut to what the field holds."""
    reason = "; ".join(flag.text for flag in flags)
    return reason if len(reason) <= REASON_MAX_CHARS else reason[: REASON_MAX_CHARS - 1] + "…"


def _check(numbers: RaterNumbers, thresholds: FlagThresholds) -> None:
    counts = (numbers.ratings, numbers.too_fast, numbers.decisive, numbers.left_votes, numbers.gold_total)
    if min((*counts, numbers.gold_correct)) < 0:
        raise ValueError(f"counts cannot be negative: {numbers}")
    if numbers.left_votes > numbers.decisive or numbers.gold_correct > numbers.gold_total:
        raise ValueError(f"a part exceeds its whole: {numbers}")
    if not (0.0 <= thresholds.gold_accuracy_min <= 1.0) or not (0.0 < thresholds.alpha < 1.0):
        raise ValueError(f"thresholds out of range: {thresholds}")
    if thresholds.min_seconds < 0 or thresholds.min_decisive < 1:
        raise ValueError(f"thresholds out of range: {thresholds}")


def _num(value: float) -> str:
    return f"{value:g}"


def _p(value: float) -> str:
    return f"{value:.2g}"


METHOD = (
    "Per rater, from their own ratings (practice answers never count): too fast when the median seconds per "
    "rating is below the campaign's minimum reading time; one-sided when, from "
    f"{ONE_SIDED_MIN_DECISIVE} decisive (left or right) votes on, the share of left votes differs from 0.5 by "
    f"a two-sided exact binomial test at alpha = {ONE_SIDED_ALPHA}; gold when the share of gold checks "
    "answered right (scored on the first answer) is below the campaign's gold accuracy threshold."
)
