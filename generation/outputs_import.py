"""Responses made elsewhere (an API model, another lab's run), recorded as an external system.

The file is read by the evaluation-set importers' reader, so both kinds of file get the same
checks (UTF-8, valid JSON, no NaN, no duplicate keys) and every fault is named with its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.models import JobStatus
from eval_sets.importers import EvalSetImportError, read_records
from eval_sets.models import EvalSet, Prompt
from generation.errors import GenerationError
from generation.models import (
    IMPORTED_ENGINE,
    GenerationJob,
    ModelSpec,
    Sample,
    SelectionPolicy,
    storable_text,
)
from generation.selectors import generation_eval_set_resolve


def _records_read(data: bytes, filename: str, max_bytes: int | None) -> list[tuple[str, dict[str, Any]]]:
    """(location, record) for each response of the file: "line 3" in JSONL, "record 3" in a JSON list."""
    try:
        items = read_records(data=data, filename=filename, max_bytes=max_bytes)
    except EvalSetImportError as exc:
        raise GenerationError(str(exc)) from None
    records: list[tuple[str, dict[str, Any]]] = []
    for location, value in items:
        if not isinstance(value, dict):
            raise GenerationError(f"{filename}, {location}: not a JSON object")
        records.append((location, value))
    return records


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_length(response: str, where: str) -> None:
    if len(response) > settings.MAX_RESPONSE_CHARS:
        raise GenerationError(
            f"{where}: the response is {len(response)} characters long; responses are "
            f"at most {settings.MAX_RESPONSE_CHARS} (MAX_RESPONSE_CHARS); nothing imported"
        )


def _fastchat_turns(record: dict[str, Any], prompt: Prompt, where: str) -> list[str]:
    """FastChat's model-answer line: `choices[0].turns` holds one answer per user turn, in order."""
    choices = record["choices"]
    turns = (
        choices[0].get("turns")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict)
        else None
    )
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
        raise GenerationError(f"{where}: choices[0].turns must be a list of strings (one answer per turn)")
    if len(turns) != prompt.turn_count:
        raise GenerationError(
            f"{where}: prompt {prompt.uid} has {prompt.turn_count} turn(s) but the answer has {len(turns)}; "
            "nothing imported"
        )
    for text in turns:
        _check_length(text, where)
    return turns


def outputs_import(
    *,
    model_name: str,
    eval_set: EvalSet | str,
    path: Path | str | None = None,
    data: bytes | None = None,
    filename: str = "upload",
) -> GenerationJob:
    """Record responses made elsewhere as an external system: one selected sample per prompt.

    Accepts JSONL of {"prompt_id", "response"}, an AlpacaEval outputs file (JSON list or
    JSONL of {"instruction", "output"}), matched to prompts by text, or FastChat's model-answer
    format ({"question_id", "choices": [{"turns": [...]}]}), one selected sample per turn. All or nothing. The file is
    a `path` (the command) or uploaded bytes, `data` named `filename` (the web page: at most
    MAX_UPLOAD_BYTES). A model name not yet registered becomes an outputs-only system.
    """
    model_name = model_name.strip()
    if not model_name:
        raise GenerationError("the model name is empty")
    target = generation_eval_set_resolve(eval_set=eval_set)
    if (path is None) == (data is None):
        raise GenerationError("give the outputs as a path or as uploaded data, not both")
    if path is not None:
        path = Path(path)
        filename = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise GenerationError(f"cannot read {path}: {exc.strerror}") from None
        limit = None
    else:
        limit = settings.MAX_UPLOAD_BYTES
    assert data is not None
    records = _records_read(data, filename, limit)
    prompts = list(target.prompts.all())
    by_uid = {p.uid: p for p in prompts}
    by_text: dict[str, Prompt] = {}
    for p in prompts:
        by_text.setdefault(p.text.strip(), p)

    pairs: list[tuple[Prompt, list[str]]] = []
    unknown: list[str] = []
    for location, record in records:
        if "question_id" in record and "choices" in record:
            key = str(record["question_id"])
            found = by_uid.get(key)
            if found is None:
                unknown.append(key)
            else:
                pairs.append((found, _fastchat_turns(record, found, f"{filename}, {location}")))
            continue
        if "prompt_id" in record:
            key = str(record["prompt_id"])
            response = record.get("response", record.get("output"))
            found = by_uid.get(key)
            label = key
        elif "instruction" in record:
            key = str(record["instruction"])
            response = record.get("output", record.get("response"))
            found = by_text.get(key.strip())
            label = repr(_short(key))
        else:
            raise GenerationError(
                f"{filename}, {location}: needs prompt_id and response, instruction and output, "
                "or FastChat's question_id and choices"
            )
        if not isinstance(response, str):
            raise GenerationError(f"{filename}, {location}: the response must be a string")
        _check_length(response, f"{filename}, {location}")
        if found is None:
            unknown.append(label)
        elif found.turns:
            raise GenerationError(
                f"{filename}, {location}: prompt {found.uid} is a conversation of {found.turn_count} turns; "
                "give one answer per turn (FastChat's choices[0].turns); nothing imported"
            )
        else:
            pairs.append((found, [response]))
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        raise GenerationError(f"{len(unknown)} prompt(s) not in {target}: {shown}; nothing imported")
    seen: set[int] = set()
    for prompt, _ in pairs:
        if prompt.pk in seen:
            raise GenerationError(f"prompt {prompt.uid} appears more than once; nothing imported")
        seen.add(prompt.pk)

    now = timezone.now()
    with transaction.atomic():
        spec = ModelSpec.objects.filter(name=model_name).first()
        if spec is None:
            spec = ModelSpec.objects.create(
                name=model_name,
                source=ModelSpec.Source.EXTERNAL,
                description=f"imported from {Path(filename).name}",
            )
        elif spec.source != ModelSpec.Source.EXTERNAL:
            raise GenerationError(
                f"model {model_name!r} is registered with weights ({spec.source}), not external"
            )
        job = GenerationJob.objects.create(
            model=spec,
            eval_set=target,
            samples_per_prompt=1,
            selection_policy=SelectionPolicy.NONE,
            status=JobStatus.DONE,
            prompts_total=len(pairs),
            prompts_done=len(pairs),
            started=now,
            finished=now,
            engine=IMPORTED_ENGINE,
            source_file=Path(filename).name[:255],
        )
        Sample.objects.bulk_create(
            Sample(
                job=job,
                prompt=prompt,
                turn=turn,
                index=0,
                text=storable_text(response),
                logprob_sum=None,
                num_tokens=0,
                finish_reason=Sample.FinishReason.EXTERNAL,
                kept=True,
                selected=True,
            )
            for prompt, responses in pairs
            for turn, response in enumerate(responses, start=1)
        )
    return job
