"""`report --ratings FILE` reads FastChat's battle format, keeping both answers for the report."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from reports.ratings_file import RatingsFileError, ratings_read

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
WINNERS = ["model_a", "model_b", "tie", "model_a", "tie (bothbad)", "model_a"]


def _conversation(question: list[str], answers: list[str], turn: int) -> list[dict[str, str]]:
    messages = []
    for user, answer in zip(question[:turn], answers[:turn], strict=True):
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return messages


def real_battles(limit: int = 30) -> list[dict]:
    """Battles in FastChat's format between GPT-4's and Claude v1's real MT-Bench answers."""
    folder = SHARED / "real-conversations"
    questions_file = SHARED / "evalsets-public" / "mt_bench_question.jsonl"
    if not (folder / "gpt-4.jsonl").is_file() or not questions_file.is_file():
        pytest.skip(f"real MT-Bench answers not found under {folder} (../shared/real-conversations)")

    def answers(name: str) -> dict[int, list[str]]:
        rows = [json.loads(line) for line in (folder / name).read_text().splitlines() if line.strip()]
        return {row["question_id"]: row["choices"][0]["turns"] for row in rows}

    gpt4, claude = answers("gpt-4.jsonl"), answers("claude-v1.jsonl")
    questions = [json.loads(line) for line in questions_file.read_text().splitlines() if line.strip()]
    battles = []
    for number, question in enumerate(questions[:limit]):
        turn = 1 + number % 2
        qid = question["question_id"]
        battles.append(
            {
                "question_id": qid, "model_a": "gpt-4", "model_b": "claude-v1",
                "winner": WINNERS[number % len(WINNERS)], "judge": f"expert_{number % 3}", "turn": turn,
                "category": question["category"],
                "conversation_a": _conversation(question["turns"], gpt4[qid], turn),
                "conversation_b": _conversation(question["turns"], claude[qid], turn),
                "tstamp": 1687000000.0 + number,
            }
        )  # fmt: skip
    return battles


def test_battles_read_as_records_with_the_rated_turns_answers() -> None:
    battles = real_battles()
    text = "".join(json.dumps(b) + "\n" for b in battles)
    records = ratings_read(stream=io.StringIO(text))
    assert len(records) == len(battles)
    second = records[1]
    assert second.prompt_id.endswith("#turn2") and second.choice == "b" and second.rater == "expert_1"
    assert second.text_a == battles[1]["conversation_a"][3]["content"]
    assert second.prompt_text == battles[1]["conversation_a"][2]["content"]
    assert [r.choice for r in records[:6]] == ["a", "b", "tie", "a", "both_bad", "a"]


def test_a_bad_battle_line_is_named_and_nothing_is_read() -> None:
    battles = real_battles(3)
    battles[2]["winner"] = "model_c"
    with pytest.raises(RatingsFileError, match="line 3: field 'winner'"):
        ratings_read(stream=io.StringIO("".join(json.dumps(b) + "\n" for b in battles)))


@pytest.mark.django_db
def test_a_report_from_battles_has_style_control_from_the_kept_answers(tmp_path) -> None:
    path = tmp_path / "battles.jsonl"
    path.write_text("".join(json.dumps(b) + "\n" for b in real_battles(80)))
    out = tmp_path / "report.json"
    call_command("report", ratings=str(path), format="json", out=str(out))
    report = json.loads(out.read_text())
    assert report["baseline"] == "gpt-4" and report["overall"]["n"] == 80
    assert report["style_control"] is not None, report.get("style_control_refused")
