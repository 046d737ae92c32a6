"""What a rater receives about an item: built from sides only, never from systems.

The left and right texts, and for a conversation each earlier turn's two answers, go through the
same function in the same order whichever system wrote them; a system keeps its side for every turn.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from annotate.models import Comparison, ComparisonTexts
from annotate.rater_tokens import rater_token
from annotate.rendering import render_for_rater

# What `item_payload` never reads of a served row's prompt and texts. Left out of the served item's
# statement, it keeps that statement under psycopg's 4,096 characters, below which psycopg converts
# a statement's placeholders once per process rather than at every rating, and spares decoding the
# prompt's metadata. A field left out here and read later would cost a query of its own per rating.
_UNREAD = (
    *(f"prompt__{name}" for name in ("eval_set", "uid", "position", "category", "setting", "variant_of",
                                     "stop", "metadata")),
    *(f"texts__{name}" for name in (*ComparisonTexts.STYLE_A, *ComparisonTexts.STYLE_B)),
)  # fmt: skip


def served_rows(rows: QuerySet[Comparison]) -> QuerySet[Comparison]:
    """`rows` with what `item_payload` reads of each: the prompt and the texts, joined."""
    return rows.select_related("prompt", "texts").defer(*_UNREAD)


def item_payload(comparison: Comparison | None, rater: User) -> dict[str, Any] | None:
    if comparison is None:
        return None
    texts = comparison.texts
    a_left = comparison.system_on_left == "a"
    left, right = (texts.text_a, texts.text_b) if a_left else (texts.text_b, texts.text_a)
    # A conversation's earlier turns: each system's own answers stay on its side for every turn.
    earlier_left, earlier_right = (
        (texts.history_a, texts.history_b) if a_left else (texts.history_b, texts.history_a)
    )
    user_turns = comparison.prompt.user_turns
    turn = comparison.turn
    payload: dict[str, Any] = {
        # Each rater's own name for the item (annotate.rater_tokens): shared items share no token.
        "token": rater_token(token=comparison.token, rater_id=rater.pk),
        "prompt_html": render_for_rater(user_turns[turn - 1]),
        "left_html": render_for_rater(left),
        "right_html": render_for_rater(right),
    }
    # Only a later turn has more to show; a first turn (and an uploaded gold pair) looks as before,
    # so the keys alone never set a check apart from a regular first-turn item.
    if turn > 1:
        payload["turn"] = turn
        payload["history"] = [
            {
                "user_html": render_for_rater(user_turns[number]),
                "left_html": render_for_rater(earlier_left[number]),
                "right_html": render_for_rater(earlier_right[number]),
            }
            for number in range(turn - 1)
        ]
    return payload
