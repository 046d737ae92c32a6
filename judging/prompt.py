"""The pairwise judge prompt and how two orders' verdicts combine. Pure: no Django, no torch.

The answers are model output (untrusted): they are fenced, cut to a length, and the request for a
verdict comes after them, so an answer cannot end the prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PROMPT_VERSION = "pairwise-v1"
# The verdict letters, in the order (first better, second better, tie).
LETTERS = ("A", "B", "C")

TEMPLATE = """\
You are judging two responses to the same instruction. Decide which response is better: more \
correct, more helpful and more to the point. Length alone is not quality. The order of the \
responses is random.

[Instruction]
{instruction}

[Response A]
{first}
[End of response A]

[Response B]
{second}
[End of response B]

Answer with one letter: A if response A is better, B if response B is better, C if they are \
equally good.
Verdict:"""


# MT-Bench's multi-turn pairwise format (Zheng et al. 2023): each assistant's whole conversation,
# fenced, then the verdict asked about the last user question. Each side's answers are its own.
CONVERSATION_TEMPLATE = """\
You are judging two AI assistants' conversations with the same user. Decide whose answer to the \
user's LAST question is better, in the light of the whole conversation: more correct, more helpful \
and more to the point. Length alone is not quality. The order of the assistants is random.

<|The Start of Assistant A's Conversation with User|>
{first}
<|The End of Assistant A's Conversation with User|>

<|The Start of Assistant B's Conversation with User|>
{second}
<|The End of Assistant B's Conversation with User|>

Answer with one letter: A if assistant A's last answer is better, B if assistant B's is better, C \
if they are equally good.
Verdict:"""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " [...]"


def judge_prompt(*, instruction: str, first: str, second: str, max_answer_chars: int = 3000) -> str:
    return TEMPLATE.format(
        instruction=_cut(instruction, 4 * max_answer_chars),
        first=_cut(first, max_answer_chars),
        second=_cut(second, max_answer_chars),
    )


def judge_conversation_prompt(
    *, user_turns: Sequence[str], first: Sequence[str], second: Sequence[str], max_answer_chars: int = 3000
) -> str:
    """The multi-turn prompt: `first` and `second` are each assistant's answers to `user_turns`, in order."""

    def conversation(answers: Sequence[str], letter: str) -> str:
        return "\n\n".join(
            f"### User:\n{_cut(user, 4 * max_answer_chars)}\n\n### Assistant {letter}:\n{_cut(answer, max_answer_chars)}"
            for user, answer in zip(user_turns, answers, strict=True)
        )

    return CONVERSATION_TEMPLATE.format(first=conversation(first, "A"), second=conversation(second, "B"))


@dataclass(frozen=True)
class CombinedVerdict:
    p_a: float
    p_tie: float
    p_b: float
    ab: tuple[float, float, float]  # (p_a, p_tie, p_b) with A's answer first
    ba: tuple[float, float, float]  # the same with B's answer first
    consistent: bool


def combine_orders(*, a_first: Sequence[float], b_first: Sequence[float]) -> CombinedVerdict:
    """Both orders' (first, second, tie) probabilities -> the mean in A/B terms, and whether they agree."""
    ab = (float(a_first[0]), float(a_first[2]), float(a_first[1]))
    ba = (float(b_first[1]), float(b_first[2]), float(b_first[0]))
    mean = tuple((x + y) / 2 for x, y in zip(ab, ba, strict=True))
    return CombinedVerdict(
        p_a=mean[0],
        p_tie=mean[1],
        p_b=mean[2],
        ab=ab,
        ba=ba,
        consistent=verdict_label(p_a=ab[0], p_tie=ab[1], p_b=ab[2])
        == verdict_label(p_a=ba[0], p_tie=ba[1], p_b=ba[2]),
    )


def verdict_label(*, p_a: float, p_tie: float, p_b: float) -> str:
    """The most probable verdict: "a", "b" or "tie" (ties between probabilities go to "tie")."""
    best = max(p_a, p_b, p_tie)
    if p_tie == best:
        return "tie"
    return "a" if p_a >= p_b else "b"
