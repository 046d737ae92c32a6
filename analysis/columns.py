"""A report's ratings as columns: one numpy array per field, every repeated name coded as a small integer.

A report of a million ratings cannot afford a million ``RatingRecord`` objects and the lists of tuples
each statistic made from them (63 s and 2 GB at a million). ``RatingColumns`` holds the same facts in
about 60 bytes a rating; the report (analysis.report) and its statistics read these arrays. The rules
of ``analysis.records`` (who was chosen, a win or a loss, the label, the gold label, the item) are
written here once more over arrays, and ``RatingColumns.from_records`` turns a list of records into
columns, so every statistic has one implementation that list and campaign sources share.

Pure: no Django. Codes index the name lists (``systems[system_a[i]]`` is rating i's system A).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from analysis.records import RatingRecord, StyleCounts
from analysis.stats.style import style_counts

CHOICES = ("a", "b", "tie", "both_bad")  # ``choice`` codes 0..3
CHOICE_CODE = {name: code for code, name in enumerate(CHOICES)}
N_STYLE = 4  # style counts per answer (analysis.stats.style.FEATURES)


def first_appearance(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``codes`` renumbered 0, 1, 2... in order of first appearance, and the original code of each new one."""
    distinct, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[order] = np.arange(len(distinct))
    return rank[inverse.ravel()], distinct[order]


def code_strings(values: Sequence[str], names: dict[str, int]) -> np.ndarray:
    """Each value's code in ``names`` (a name first seen gets the next code, added to ``names``)."""
    return np.fromiter((names.setdefault(v, len(names)) for v in values), dtype=np.int64, count=len(values))


def answer_counts(record: RatingRecord, cache: dict[str, StyleCounts]) -> tuple[StyleCounts, StyleCounts]:
    """The style counts of answers A and B: the record's own when it carries them, else from its texts."""
    if record.style_a is not None and record.style_b is not None:
        return record.style_a, record.style_b
    return _counts(cache, record.text_a), _counts(cache, record.text_b)


def _counts(cache: dict[str, StyleCounts], text: str | None) -> StyleCounts:
    assert text is not None
    found = cache.get(text)
    if found is None:
        found = cache[text] = style_counts(text)
    return found


def missing_texts(records: Sequence[RatingRecord]) -> bool:
    """Whether some record has neither both answers' style counts nor both texts to count them from."""
    return any(
        (r.style_a is None or r.style_b is None) and (r.text_a is None or r.text_b is None) for r in records
    )


@dataclass(frozen=True, eq=False)
class RatingColumns:
    """Ratings in report order (oldest first), one array per field; name lists say what each code stands for.

    A prompt code stands for one (campaign, prompt id): the unit the bootstrap resamples. ``style_a``
    and ``style_b`` ((n x 4) counts of each answer) are None when some rating has neither its answers'
    counts nor their texts (a ratings file without texts): style control is then refused.
    """

    campaigns: list[str]
    prompt_ids: list[str]
    prompt_campaign: np.ndarray  # prompt code -> campaign code
    categories: list[str]
    settings: list[str]
    systems: list[str]
    raters: list[str]
    prompt: np.ndarray
    category: np.ndarray
    setting: np.ndarray
    system_a: np.ndarray
    system_b: np.ndarray
    left_b: np.ndarray  # bool: system B was shown on the left
    choice: np.ndarray  # codes of CHOICES
    rater: np.ndarray
    seconds: np.ndarray  # float64
    gold: np.ndarray  # bool: a gold check
    gold_choice: np.ndarray  # codes of CHOICES; -1 without a known answer
    turn: np.ndarray
    style_a: np.ndarray | None = None
    style_b: np.ndarray | None = None

    def __post_init__(self) -> None:
        # Row-major style counts: numpy's sums over a column add in an order that depends on the layout,
        # and the report must not change in its last digit with where its columns came from.
        for name in ("style_a", "style_b"):
            counts = getattr(self, name)
            if counts is not None and not counts.flags.c_contiguous:
                object.__setattr__(self, name, np.ascontiguousarray(counts))

    def __len__(self) -> int:
        return len(self.choice)

    def subset(self, mask: np.ndarray) -> RatingColumns:
        """The ratings where ``mask`` holds, in the same order (names kept whole)."""
        fields = (
            "prompt", "category", "setting", "system_a", "system_b", "left_b", "choice", "rater",
            "seconds", "gold", "gold_choice", "turn",
        )  # fmt: skip
        changes: dict[str, Any] = {name: getattr(self, name)[mask] for name in fields}
        changes["style_a"] = None if self.style_a is None else self.style_a[mask]
        changes["style_b"] = None if self.style_b is None else self.style_b[mask]
        return replace(self, **changes)

    # -- the rules of analysis.records, over arrays ------------------------------------------------

    @cached_property
    def chosen(self) -> np.ndarray:
        """The code of the system the rater preferred; -1 for a tie or both bad."""
        return np.where(self.choice == 0, self.system_a, np.where(self.choice == 1, self.system_b, -1))

    @cached_property
    def decisive(self) -> np.ndarray:
        return self.choice < 2

    @cached_property
    def left_won(self) -> np.ndarray:
        """Whether the answer shown on the left was chosen (meaningful where ``decisive``)."""
        return (self.choice == 1) == self.left_b

    def system_code(self, name: str) -> int:
        """The code of system ``name``; -1 when no rating names it."""
        return self.systems.index(name) if name in self.systems else -1

    def pair_mask(self, first: str, second: str) -> np.ndarray:
        """The ratings that compare ``first`` with ``second``, in either order (RatingRecord.is_pair)."""
        x, y = self.system_code(first), self.system_code(second)
        a, b = self.system_a, self.system_b
        return ((a == x) & (b == y)) | ((a == y) & (b == x))

    def outcomes_for(self, candidate: str) -> np.ndarray:
        """Codes of analysis.stats.proportion.OUTCOMES (win, loss, tie, both bad) from ``candidate``'s side."""
        chosen = self.chosen
        return np.where(
            chosen >= 0,
            np.where(chosen == self.system_code(candidate), 0, 1),
            np.where(self.choice == 2, 2, 3),
        ).astype(np.int64)

    @cached_property
    def _labels(self) -> tuple[np.ndarray, list[str], np.ndarray]:
        """(label codes, label names, gold label codes or -1): RatingRecord.label and .gold_label."""
        names: dict[str, int] = {}
        of_system = code_strings(self.systems, names)
        of_choice = code_strings(list(CHOICES), names)
        a, b = of_system[self.system_a], of_system[self.system_b]
        labels = np.where(self.choice == 0, a, np.where(self.choice == 1, b, of_choice[self.choice]))
        known = self.gold & (self.gold_choice >= 0)
        gold_choice = np.where(known, self.gold_choice, 2)
        gold = np.where(gold_choice == 0, a, np.where(gold_choice == 1, b, of_choice[gold_choice]))
        return labels, list(names), np.where(known, gold, -1)

    @property
    def labels(self) -> np.ndarray:
        return self._labels[0]

    @property
    def label_names(self) -> list[str]:
        return self._labels[1]

    @property
    def gold_labels(self) -> np.ndarray:
        return self._labels[2]

    @cached_property
    def items(self) -> np.ndarray:
        """Each rating's agreement item (analysis.report._item: campaign, prompt and turn, the pair as a set),
        numbered in order of first appearance."""
        turns = int(self.turn.max()) + 1 if len(self) else 1
        distinct, inverse = np.unique(self.prompt * turns + self.turn, return_inverse=True)
        inverse = inverse.ravel()
        # A later turn's key is "<prompt id>#turn<n>"; coded by its text, so keys that coincide stay one item.
        keys: dict[tuple[int, str], int] = {}
        key_codes = np.fromiter(
            (
                keys.setdefault(
                    (
                        int(self.prompt_campaign[p]),
                        self.prompt_ids[p] if t == 1 else f"{self.prompt_ids[p]}#turn{t}",
                    ),
                    len(keys),
                )
                for p, t in zip((distinct // turns).tolist(), (distinct % turns).tolist(), strict=True)
            ),
            dtype=np.int64,
            count=len(distinct),
        )
        n = max(len(self.systems), 1)
        low, high = np.minimum(self.system_a, self.system_b), np.maximum(self.system_a, self.system_b)
        return first_appearance(key_codes[inverse] * n * n + low * n + high)[0]

    @cached_property
    def units(self) -> np.ndarray:
        """Each rating's prompt (campaign, prompt id), numbered in order of first appearance."""
        return first_appearance(self.prompt)[0]

    def unit_rank(self) -> np.ndarray:
        """Each prompt code's place among the prompts sorted by repr((campaign, prompt id)), the order
        analysis.stats.preference.unit_order gives the rows of its matrices."""
        present = np.unique(self.prompt)
        keys = [repr((self.campaigns[self.prompt_campaign[p]], self.prompt_ids[p])) for p in present.tolist()]
        rank = np.full(len(self.prompt_ids), -1, dtype=np.int64)
        rank[present[np.argsort(np.array(keys, dtype=object), kind="stable")]] = np.arange(len(present))
        return rank

    @cached_property
    def prompt_id_codes(self) -> np.ndarray:
        """Each rating's prompt id alone (campaign left out), coded: what shares_from_records counts."""
        names: dict[str, int] = {}
        return code_strings(self.prompt_ids, names)[self.prompt]

    # -- from and to records -----------------------------------------------------------------------

    @classmethod
    def from_records(cls, records: Sequence[RatingRecord]) -> RatingColumns:
        """The columns of ``records`` (style counts: a record's own, else counted from its texts)."""
        campaigns: dict[str, int] = {}
        prompts: dict[tuple[str, str], int] = {}
        for r in records:
            prompts.setdefault((r.campaign, r.prompt_id), len(prompts))
        prompt_campaign = code_strings([campaign for campaign, _ in prompts], campaigns)
        systems: dict[str, int] = {}
        a = code_strings([r.system_a for r in records], systems)
        b = code_strings([r.system_b for r in records], systems)
        style_a = style_b = None
        if not missing_texts(records):
            cache: dict[str, StyleCounts] = {}
            counts = [answer_counts(r, cache) for r in records]
            style_a = np.array([c[0] for c in counts], dtype=np.int64).reshape(-1, N_STYLE)
            style_b = np.array([c[1] for c in counts], dtype=np.int64).reshape(-1, N_STYLE)
        categories: dict[str, int] = {}
        settings: dict[str, int] = {}
        raters: dict[str, int] = {}
        category = code_strings([r.category for r in records], categories)
        setting = code_strings([r.setting for r in records], settings)
        rater = code_strings([r.rater for r in records], raters)
        n = len(records)
        return cls(
            campaigns=list(campaigns),
            prompt_ids=[prompt_id for _, prompt_id in prompts],
            prompt_campaign=prompt_campaign,
            prompt=np.fromiter((prompts[(r.campaign, r.prompt_id)] for r in records), np.int64, count=n),
            categories=list(categories),
            category=category,
            settings=list(settings),
            setting=setting,
            systems=list(systems),
            system_a=a,
            system_b=b,
            left_b=np.fromiter((r.system_on_left == "b" for r in records), bool, count=n),
            choice=np.fromiter((CHOICE_CODE[r.choice] for r in records), np.int64, count=n),
            raters=list(raters),
            rater=rater,
            seconds=np.fromiter((r.seconds for r in records), np.float64, count=n),
            gold=np.fromiter((r.is_gold for r in records), bool, count=n),
            gold_choice=np.fromiter((CHOICE_CODE.get(r.gold_choice, -1) for r in records), np.int64, count=n),
            turn=np.fromiter((r.turn for r in records), np.int64, count=n),
            style_a=style_a,
            style_b=style_b,
        )

    def to_records(self) -> list[RatingRecord]:
        """Records again, without what columns do not keep (texts, comments, times): for the few
        statistics that still read records (the judge's), never for a download."""
        rows = zip(
            self.prompt.tolist(), self.category.tolist(), self.setting.tolist(), self.system_a.tolist(),
            self.system_b.tolist(), self.left_b.tolist(), self.choice.tolist(), self.rater.tolist(),
            self.seconds.tolist(), self.gold.tolist(), self.gold_choice.tolist(), self.turn.tolist(),
            strict=True,
        )  # fmt: skip
        return [
            RatingRecord(
                campaign=self.campaigns[self.prompt_campaign[p]],
                prompt_id=self.prompt_ids[p],
                category=self.categories[c],
                setting=self.settings[s],
                system_a=self.systems[a],
                system_b=self.systems[b],
                system_on_left="b" if left_b else "a",
                choice=CHOICES[choice],  # type: ignore[arg-type]
                rater=self.raters[rater],
                seconds=seconds,
                created="",
                is_gold=gold,
                gold_choice=CHOICES[gold_choice] if gold_choice >= 0 else "",
                turn=turn,
            )
            for p, c, s, a, b, left_b, choice, rater, seconds, gold, gold_choice, turn in rows
        ]


# What the report's functions take: records (a ratings file's, a test's) or their columns.
Ratings = Sequence[RatingRecord] | RatingColumns


def as_columns(ratings: Ratings) -> RatingColumns:
    return ratings if isinstance(ratings, RatingColumns) else RatingColumns.from_records(ratings)


def systems_in_order(columns: RatingColumns) -> list[str]:
    """The systems in order of first appearance, each rating naming its system A then its system B."""
    interleaved = np.stack([columns.system_a, columns.system_b], axis=1).ravel()
    return [columns.systems[code] for code in first_appearance(interleaved)[1].tolist()]
