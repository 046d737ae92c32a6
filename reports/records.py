"""One rating as the reports see it: the contract's ratings-file line, plus optional context.

Pure Python: both the ratings-file reader and the campaign loader produce these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Side = Literal["a", "b"]
Choice = Literal["a", "b", "tie", "both_bad"]

# The ratings-file contract, in its field order.
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


@dataclass(frozen=True)
class RatingRecord:
    campaign: str
    prompt_id: str
    category: str
    setting: str
    system_a: str
    system_b: str
    left: Side  # which system was shown on the left
    choice: Choice  # names the system, not the side
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

    def contract_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {key: data[key] for key in CONTRACT_FIELDS}
