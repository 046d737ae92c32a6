"""`judge --campaign NAME --model JUDGE [--wait]`: run a judge over every comparison of a campaign."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from core.job_commands import JobCommand, Progress
from judging.models import JudgeRun
from judging.services import judge_run_create


class Command(JobCommand):
    help = "Judge every comparison of a campaign in both orders with a registered model (prints the run id)."
    unit = "comparison"
    wait_help = "run here and now instead of queueing"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True)
        parser.add_argument("--model", required=True, help="a registered model to judge with")
        parser.add_argument("--chunk-size", type=int, default=16)
        parser.add_argument("--max-answer-chars", type=int, default=3000)
        super().add_arguments(parser)

    def create(self, options: dict[str, Any], *, enqueue: bool) -> JudgeRun:
        given = {name: options[name] for name in ("campaign", "model", "chunk_size", "max_answer_chars")}
        return judge_run_create(enqueue=enqueue, **given)

    def run_here(self, job: JudgeRun, progress: Progress) -> JudgeRun:
        from judging.runner import judge_run_execute

        return judge_run_execute(run_id=job.pk, progress=progress)

    def done_summary(self, job: JudgeRun) -> str:
        return f"{job.items_done} comparisons judged"
