"""One rating as the analysis sees it: the contract's ratings-file line, plus optional context.

Pure Python: the ratings-file reader and the campaign loader both produce these, and every statistic
reads a rating's meaning through the methods here: who was chosen, and whether that is a win, a loss,
a tie or both bad from a candidate's point of view. That rule is written once, in this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Letter = Literal["a", "b"]  # a system of the comparison: A or B (never a screen side)
Choice = Literal["a", "b", "tie", "both_bad"]  # names the system, not the side
Outcome = Literal["win", "loss", "tie", "both_bad"]  # a rating seen from the candidate's side
PairResult = Literal["x", "y", "none"]  # system A won, system B won, neither (Bradley-Terry's cells)

# The ratings-file contract, in its field order. "left" is the file's name for ``system_on_left``.
CONTRACT_FIELDS = (
    "campaign",
    "prompt_id",
    "category",
    "setting",
    "system_a",
    "system_b",
    "left",
    "choice",
    "rater",
    "seconds",
    "created",
)
# Optional keys the exports add when known (a ratings file may carry them; none is required).
EXTERNAL_FIELDS = ("external_id", "study_id", "session_id")


# (characters, headers, list items, bold spans) of one answer: analysis.stats.style.style_counts.
StyleCounts = tuple[int, int, int, int]


# Slots: a report at a million ratings holds a million of these (about a quarter of the memory of a dict each).
@dataclass(frozen=True, slots=True)
class RatingRecord:
    campaign: str
    prompt_id: str
    category: str
    setting: str
    system_a: str
    system_b: str
    system_on_left: Letter  # which system (A or B) the rater saw on the left
    choice: Choice
    rater: str
    seconds: float
    created: str  # ISO-8601
    # Optional context, present when loaded from a campaign (not part of the file contract).
    comment: str = ""
    is_gold: bool = False
    # None: not known (a ratings file without them); a response may well be the empty string.
    prompt_text: str | None = None
    text_a: str | None = None
    text_b: str | None = None
    # The known answer of a gold comparison ("a", "b", "tie" or "both_bad"); empty when not gold.
    gold_choice: str = ""
    # A crowd rater's platform ids (Prolific: PROLIFIC_PID, STUDY_ID, SESSION_ID), for reconciling payments.
    external_id: str = ""
    study_id: str = ""
    session_id: str = ""
    # The user turn rated (1-based; 1 for a single-turn prompt) and, for a later turn, the
    # conversation before it: (user message, A's own answer, B's own answer) per earlier turn.
    turn: int = 1
    earlier: tuple[tuple[str, str, str], ...] = ()
    # The answers' style counts, when known without their texts (a campaign's report reads the counts
    # stored beside the texts, not the texts themselves); None: count them from text_a and text_b.
    style_a: StyleCounts | None = None
    style_b: StyleCounts | None = None

    def contract_dict(self) -> dict[str, Any]:
        """The contract's fields, under the file's names."""
        return {key: getattr(self, "system_on_left" if key == "left" else key) for key in CONTRACT_FIELDS}

    # These run for every record in every pass of a report (a million at a time): plain comparisons,
    # no dict or set built per call.
    def system(self, letter: str) -> str | None:
        """The name of system ``letter`` ("a" or "b"); None for anything else (tie, both bad, "")."""
        if letter == "a":
            return self.system_a
        if letter == "b":
            return self.system_b
        return None

    @property
    def chosen_system(self) -> str | None:
        """The system the rater preferred; None for a tie or both bad."""
        choice = self.choice
        if choice == "a":
            return self.system_a
        if choice == "b":
            return self.system_b
        return None

    @property
    def pair(self) -> frozenset[str]:
        return frozenset((self.system_a, self.system_b))

    @property
    def label(self) -> str:
        """What the rater said, whatever the layout: the chosen system's name, "tie" or "both_bad"."""
        return self.chosen_system or self.choice

    @property
    def gold_label(self) -> str | None:
        """The gold answer in the same terms as ``label``; None when the rating is not a scored check."""
        if not (self.is_gold and self.gold_choice):
            return None
        return self.system(self.gold_choice) or self.gold_choice

    def outcome_for(self, candidate: str) -> Outcome:
        """The rating from ``candidate``'s side: "win", "loss", "tie" or "both_bad"."""
        chosen = self.chosen_system
        if chosen is None:
            return "both_bad" if self.choice == "both_bad" else "tie"
        return "win" if chosen == candidate else "loss"

    def vote_for(self, candidate: str) -> float | None:
        """A decisive vote as a number: 1.0 when ``candidate`` won, 0.0 when it lost, None otherwise."""
        chosen = self.chosen_system
        if chosen is None:
            return None
        return 1.0 if chosen == candidate else 0.0

    @property
    def pair_result(self) -> PairResult:
        """ "x" when system A won, "y" when system B won, "none" for a tie or both bad."""
        return "x" if self.choice == "a" else "y" if self.choice == "b" else "none"

    def is_pair(self, first: str, second: str) -> bool:
        """Whether this rating compares ``first`` with ``second`` (in either order); ``pair`` without a set."""
        a, b = self.system_a, self.system_b
        return (a == first and b == second) or (a == second and b == first)

    @property
    def left_won(self) -> bool | None:
        """Whether the response shown on the left was chosen; None for a tie or both bad."""
        if self.choice not in ("a", "b"):
            return None
        return self.choice == self.system_on_left

    @property
    def side_systems(self) -> tuple[str, str]:
        """(the system shown on the left, the one on the right)."""
        if self.system_on_left == "a":
            return self.system_a, self.system_b
        return self.system_b, self.system_a
