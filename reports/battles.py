"""FastChat's battle format (Chatbot Arena, MT-Bench human judgments) read as rating records.

A line: `model_a`, `model_b`, `winner` (model_a | model_b | tie | tie (bothbad)), `judge`, `turn`,
`conversation_a`, `conversation_b` (OpenAI-style message lists), often `question_id`, `tstamp`,
`category`. The answers are kept (`text_a`, `text_b`: each model's assistant message of the rated
turn; `prompt_text`: the user's message of that turn), so style control and dpo exports work on it.
Battles do not say which side each model was shown on; `left` is recorded as `a`, so position bias
means nothing for such a file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from analysis.records import RatingRecord

BATTLE_FIELDS = ("model_a", "model_b", "winner")
WINNERS = {"model_a": "a", "model_b": "b", "tie": "tie", "tie (bothbad)": "both_bad"}


def is_battle(data: Any) -> bool:
    """Whether a parsed first line is a battle: it has FastChat's fields and none of the contract's."""
    return isinstance(data, dict) and all(name in data for name in BATTLE_FIELDS) and "system_a" not in data


def _message(conversation: Any, role: str, turn: int) -> str | None:
    """The `turn`-th (1-based) message of `role`, or None when the conversation has none."""
    if not isinstance(conversation, list):
        return None
    texts = [m.get("content") for m in conversation if isinstance(m, dict) and m.get("role") == role]
    if len(texts) < turn or not isinstance(texts[turn - 1], str):
        return None
    return str(texts[turn - 1])


def battle_record(number: int, data: dict[str, Any], add_error: Any) -> RatingRecord | None:
    """The record of one battle line; each problem is reported with `add_error(line, field, message)`."""
    problems = 0

    def refuse(name: str, message: str) -> None:
        nonlocal problems
        problems += 1
        add_error(number, name, message)

    for name in ("model_a", "model_b"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            refuse(name, f"expected a non-empty string, got {json.dumps(data.get(name))}")
    if data.get("model_a") == data.get("model_b"):
        refuse("model_b", "must differ from model_a")
    winner = data.get("winner")
    if winner not in WINNERS:
        refuse("winner", f"expected one of {', '.join(WINNERS)}, got {json.dumps(winner)}")
    turn = data.get("turn", 1)
    if isinstance(turn, bool) or not isinstance(turn, int) or turn < 1:
        refuse("turn", f"expected a turn number from 1, got {json.dumps(turn)}")
        turn = 1
    if problems:
        return None
    tstamp = data.get("tstamp")
    created = (
        datetime.fromtimestamp(float(tstamp), tz=UTC).isoformat()
        if isinstance(tstamp, int | float) and not isinstance(tstamp, bool)
        else datetime(1970, 1, 1, tzinfo=UTC).isoformat()
    )
    question = data.get("question_id", number)
    return RatingRecord(
        campaign=str(data.get("campaign") or "fastchat-battles"),
        prompt_id=str(question) if turn == 1 else f"{question}#turn{turn}",
        category=str(data.get("category") or "battle"),
        setting="zero_shot",
        system_a=data["model_a"],
        system_b=data["model_b"],
        system_on_left="a",
        choice=WINNERS[str(winner)],  # type: ignore[arg-type]
        rater=str(data.get("judge") or "anonymous"),
        seconds=0.0,
        created=created,
        prompt_text=_message(data.get("conversation_a"), "user", turn),
        text_a=_message(data.get("conversation_a"), "assistant", turn),
        text_b=_message(data.get("conversation_b"), "assistant", turn),
    )
